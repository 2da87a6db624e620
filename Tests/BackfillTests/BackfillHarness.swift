import Foundation
import Postgres
import TestSupport

/// A legacy tenant database, a running plugin on it, and the built binary's `backfill`.
struct BackfillHarness {
    let database: TestDatabaseHandle
    let pool: PostgresPool
    let plugin: RunningPlugin

    var pluginURL: String { "http://127.0.0.1:\(plugin.port)" }

    /// Runs `molecule-tenant backfill ARGS` against this tenant.
    func backfill(_ arguments: [String], pluginURL: String? = nil) throws -> ChildProcess.Outcome {
        try MoleculeTenantBinary.run(["backfill"] + arguments + ["--config", "/dev/null"], environment: environment(pluginURL))
    }

    func start(_ arguments: [String]) throws -> ChildProcess {
        try MoleculeTenantBinary.start(["backfill"] + arguments + ["--config", "/dev/null"], environment: environment(nil))
    }

    private func environment(_ pluginURL: String?) -> [String: String] {
        ["DATABASE_URL": database.url, "MEMORY_PLUGIN_URL": pluginURL ?? self.pluginURL, "LOG_FORMAT": "json"]
    }

    /// Every memory of a namespace through the plugin's cursor listing.
    func memories(in namespace: String) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: String?
        repeat {
            var path = "/v1/namespaces/\(namespace)/memories?limit=1000"
            if let cursor { path += "&after=\(cursor)" }
            let response = try plugin.send("GET", path)
            if response.status == 404 { return [] }
            let page = try JSONSerialization.jsonObject(with: response.body) as! [String: Any]
            all += page["memories"] as! [[String: Any]]
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return all
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.query(sql)[0].decode(Int.self, at: 0)
    }
}

/// Runs `body` with the legacy fixture installed and a plugin serving the same database.
func withLegacyTenant<T>(bulk: Int = 0, _ body: (BackfillHarness) async throws -> T) async throws -> T {
    try await withTestDatabase("backfill") { database, pool in
        try await LegacyTenantFixture.install(database, pool)
        if bulk > 0 { try LegacyTenantFixture.addBulk(database, count: bulk) }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        do {
            let value = try await body(BackfillHarness(database: database, pool: pool, plugin: plugin))
            _ = plugin.stop()
            return value
        } catch {
            _ = plugin.stop()
            throw error
        }
    }
}

/// The counts of the last line, `backfill: scanned=N copied=N unchanged=N skipped=N errors=N`.
struct SummaryLine: Equatable, CustomStringConvertible {
    var scanned = 0, copied = 0, unchanged = 0, skipped = 0, errors = 0
    var mismatched: Int?

    init(scanned: Int, copied: Int, unchanged: Int, skipped: Int, errors: Int, mismatched: Int? = nil) {
        (self.scanned, self.copied, self.unchanged, self.skipped, self.errors, self.mismatched) = (scanned, copied, unchanged, skipped, errors, mismatched)
    }

    init?(_ stdout: String) {
        guard let last = stdout.split(separator: "\n").last, last.hasPrefix("backfill: ") else { return nil }
        var values: [String: Int] = [:]
        for pair in last.dropFirst("backfill: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let value = Int(parts[1]) else { return nil }
            values[String(parts[0])] = value
        }
        guard let scanned = values["scanned"], let copied = values["copied"], let unchanged = values["unchanged"],
            let skipped = values["skipped"], let errors = values["errors"]
        else { return nil }
        self.init(scanned: scanned, copied: copied, unchanged: unchanged, skipped: skipped, errors: errors, mismatched: values["mismatched"])
    }

    var description: String { "scanned=\(scanned) copied=\(copied) unchanged=\(unchanged) skipped=\(skipped) errors=\(errors) mismatched=\(mismatched.map(String.init) ?? "-")" }
}

extension ChildProcess.Outcome {
    var summary: SummaryLine? { SummaryLine(stdout) }
    var stderrLines: [Substring] { stderr.split(separator: "\n") }
    var report: String { "exit \(status)\nstdout:\n\(stdout.suffix(3000))\nstderr:\n\(stderr.suffix(3000))" }
}
