import Foundation
import Hummingbird
import MemoryContract
import MemoryPlugin
import Postgres
import Testing

@Suite("OpenAPI document")
struct OpenAPICoverageTests {
    /// Every route the plugin registers is documented in docs/memory-plugin-api.yaml,
    /// and the document describes no route the plugin does not serve.
    @Test func everyRegisteredRouteIsInTheOpenAPIDocument() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: root.appendingPathComponent("docs/memory-plugin-api.yaml"), encoding: .utf8)
        var documented = Set<String>()
        var currentPath: String?
        for line in yaml.components(separatedBy: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("  "), !line.hasPrefix("   ") {
                currentPath = nil
            } else if let path = currentPath, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "PUT", "POST", "PATCH", "DELETE"].contains(method) { documented.insert("\(method) \(path)") }
            } else if !line.hasPrefix(" "), !line.isEmpty {
                currentPath = nil
            }
        }
        // Building the router opens no connection.
        let pool = PostgresPool(.init(conninfo: "postgres://127.0.0.1:1/unused", maxConnections: 1))
        let routes = PluginRoutes(store: MemoryStore(pool: pool), limits: ContractLimits(embeddingDimensions: nil), metrics: PluginMetrics())
        let served = Set(routes.router().routes.map { route in
            "\(route.method.rawValue) " + "\(route.path)".replacingOccurrences(of: ":name", with: "{name}").replacingOccurrences(of: ":id", with: "{id}")
        })
        #expect(!served.isEmpty)
        #expect(served.subtracting(documented).isEmpty, "undocumented: \(served.subtracting(documented).sorted())")
        let documentedButUnserved = documented.subtracting(served)
        #expect(documentedButUnserved.isEmpty, "documented but not served: \(documentedButUnserved.sorted())")
    }
}
