import Foundation
import TestSupport
import Testing

/// compose/docker-compose.yml parses, and what it runs is what the binary documents: each
/// tenant service's command is a subcommand, and each variable it sets appears in that
/// subcommand's `--help`.
@Suite("Compose file")
struct ComposeTests {
    static let composeDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("compose")

    struct Service {
        var keys: Set<String> = []
        var image: String?
        var command: [String] = []
        var environment: [String: String] = [:]
    }

    /// Enough of YAML for this file's layout: `services:` > name > key, block mappings for
    /// `environment`, flow sequences (JSON arrays) for `command`.
    static func parseServices(_ text: String) throws -> [String: Service] {
        var services: [String: Service] = [:]
        var inServices = false
        var current: String?
        var block: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let indent = line.prefix(while: { $0 == " " }).count
            let content = line.trimmingCharacters(in: .whitespaces)
            if indent == 0 { inServices = content == "services:"; current = nil; continue }
            guard inServices else { continue }
            if indent == 2 {
                guard content.hasSuffix(":") else { throw TestSupportError("unexpected line under services: \(line)") }
                current = String(content.dropLast())
                services[current!] = Service()
                continue
            }
            guard let name = current else { continue }
            if indent == 4 {
                let key = String(content.prefix(while: { $0 != ":" }))
                let value = content.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
                services[name]!.keys.insert(key)
                block = value.isEmpty ? key : nil
                if key == "image" { services[name]!.image = value }
                if key == "command" {
                    let array = try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String]
                    services[name]!.command = try #require(array, "command of \(name) is not a flow sequence of strings")
                }
            } else if indent == 6, block == "environment" {
                let key = String(content.prefix(while: { $0 != ":" }))
                services[name]!.environment[key] = content.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
            }
        }
        return services
    }

    @Test func tenantServicesRunDocumentedCommandsWithDocumentedVariables() throws {
        let text = try String(contentsOf: Self.composeDirectory.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        let services = try Self.parseServices(text)
        #expect(Set(services.keys) == ["postgres", "redis", "memory-plugin", "server"])
        let tenant = services.filter { $0.value.command.first.map { ["server", "memory-plugin"].contains($0) } ?? false }
        #expect(Set(tenant.keys) == ["server", "memory-plugin"])
        for (name, service) in tenant {
            // One tenant image, its tag from compose/.env (docs/upgrading.md).
            #expect(service.image == "${MOLECULE_TENANT_IMAGE:-molecule-tenant}:${MOLECULE_TENANT_VERSION:-local}", "\(name) should use the one tenant image")
            let help = try MoleculeTenantBinary.run(service.command + ["--help"])
            #expect(help.status == 0, "`molecule-tenant \(service.command.joined(separator: " ")) --help` failed: \(help.stderr)")
            #expect(!service.environment.isEmpty)
            for variable in service.environment.keys {
                #expect(help.stdout.contains(variable), "\(name) sets \(variable), which `\(service.command[0]) --help` does not mention")
            }
            #expect(service.keys.contains("healthcheck"), "\(name) has no healthcheck")
        }
        #expect(!services["memory-plugin"]!.keys.contains("ports"), "the plugin must not be published")
        #expect(services["server"]!.keys.contains("ports"))
        #expect(services["postgres"]!.image?.hasPrefix("pgvector/pgvector") == true)
        #expect(services["redis"]!.command.joined(separator: " ").contains("notify-keyspace-events KEA"))
        for (name, service) in services { #expect(service.keys.contains("healthcheck"), "\(name) has no healthcheck") }
    }

    @Test func everyRequiredVariableIsInTheEnvExample() throws {
        let text = try String(contentsOf: Self.composeDirectory.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        let example = try String(contentsOf: Self.composeDirectory.appendingPathComponent(".env.example"), encoding: .utf8)
        let required = Set(text.matches(of: /\$\{([A-Z_]+):\?/).map { String($0.output.1) })
        #expect(required == ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "ADMIN_TOKEN"])
        for name in required { #expect(example.contains("\n\(name)="), ".env.example lacks \(name)") }
        // No secret value is committed: every assignment in the example is empty.
        for line in example.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.hasSuffix("="), "\(line) should be empty in the example")
        }
    }
}
