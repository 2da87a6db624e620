import BuildInfo
import TestSupport
import Testing

@Suite("Command line")
struct CommandLineTests {
    static let commands = [
        "server", "memory-plugin", "run", "migrate", "backfill", "install", "status", "doctor", "uninstall",
        "upgrade", "release", "config", "secrets", "bench",
    ]

    @Test func helpListsEveryCommandOfTheDesign() throws {
        let outcome = try MoleculeTenantBinary.run(["--help"])
        #expect(outcome.status == 0)
        for command in Self.commands {
            #expect(outcome.stdout.contains("\n  \(command) "), "--help should list \(command)")
        }
    }

    @Test func versionPrintsVersionCommitAndDate() throws {
        let outcome = try MoleculeTenantBinary.run(["--version"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("molecule-tenant \(BuildInfo.version) (commit "))
        #expect(outcome.stdout.contains("built 20"))
    }

    @Test func usageErrorsExitTwo() throws {
        let outcome = try MoleculeTenantBinary.run(["migrate", "down", "--target", "server"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--to"))
    }

    @Test func aMissingRequiredSettingIsOneLineNamingItAndExitsOne() throws {
        let outcome = try MoleculeTenantBinary.run(["upgrade", "--check", "--config", "/dev/null"], removing: ["MOLECULE_RELEASE_URL"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.split(separator: "\n").count == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("molecule-tenant: MOLECULE_RELEASE_URL is not set"))
    }

    @Test func aBrokenConfigFileIsOneLineNamingFileAndLine() throws {
        let outcome = try MoleculeTenantBinary.run(["migrate", "status", "--config", "/etc/hostname"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("molecule-tenant: config file /etc/hostname line 1:"))
    }

    @Test func anOutOfRangePluginSettingIsOneLineNamingItAndExitsOne() throws {
        for (variable, value, message) in [
            ("MEMORY_PLUGIN_STATEMENT_TIMEOUT", "soon", "MEMORY_PLUGIN_STATEMENT_TIMEOUT"),
            ("MEMORY_PLUGIN_STATEMENT_TIMEOUT", "inf", "MEMORY_PLUGIN_STATEMENT_TIMEOUT"),
            ("MEMORY_PLUGIN_STATEMENT_TIMEOUT", "10ms", "MEMORY_PLUGIN_STATEMENT_TIMEOUT must be between 100ms and 1h"),
            ("MEMORY_PLUGIN_JANITOR_INTERVAL", "0", "MEMORY_PLUGIN_JANITOR_INTERVAL must be at least 100ms"),
            ("MEMORY_PLUGIN_JANITOR_INTERVAL", "99999999999d", "MEMORY_PLUGIN_JANITOR_INTERVAL"),
        ] {
            let outcome = try MoleculeTenantBinary.run(["memory-plugin", "--config", "/dev/null"], environment: [
                "DATABASE_URL": "postgres://127.0.0.1:1/none", variable: value,
            ])
            #expect(outcome.status == 1, "\(variable)=\(value)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        }
    }
}
