import Foundation
import Postgres
import TestSupport
import Testing

typealias Fixture = LegacyTenantFixture

@Suite("backfill: copying a legacy tenant into the plugin", .serialized)
struct BackfillCommandTests {
    let total = Fixture.copyable + Fixture.skipped

    @Test func dryRunWritesNothingAndReportsWhatApplyWouldDo() async throws {
        try await withLegacyTenant { tenant in
            let dry = try tenant.backfill(["--dry-run"])
            #expect(dry.status == 0, "\(dry.report)")
            #expect(dry.summary == SummaryLine(scanned: total, copied: Fixture.copyable, unchanged: 0, skipped: Fixture.skipped, errors: 0), "\(dry.report)")
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records") == 0)
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_namespaces") == 0)
        }
    }

    @Test func applyCopiesEveryRowFaithfullyAndASecondApplyChangesNothing() async throws {
        try await withLegacyTenant { tenant in
            let first = try tenant.backfill(["--apply"])
            #expect(first.status == 0, "\(first.report)")
            #expect(first.summary == SummaryLine(scanned: total, copied: Fixture.copyable, unchanged: 0, skipped: Fixture.skipped, errors: 0), "\(first.report)")
            #expect(first.stdout.contains("skipped by reason: content_too_large=1 empty_content=1 expired=1 global_from_non_root=1 no_workspace=1"), "\(first.report)")

            // Namespaces follow the tree: LOCAL -> workspace:self, TEAM -> team:parent or self, GLOBAL -> org:root.
            let expected: [(String, String)] = [
                (Fixture.Memory.rootLocal, "workspace:\(Fixture.root)"), (Fixture.Memory.rootTeam, "team:\(Fixture.root)"),
                (Fixture.Memory.rootGlobal, "org:\(Fixture.root)"), (Fixture.Memory.childLocal, "workspace:\(Fixture.child)"),
                (Fixture.Memory.childTeam, "team:\(Fixture.root)"), (Fixture.Memory.grandchildTeam, "team:\(Fixture.child)"),
                (Fixture.Memory.secret, "workspace:\(Fixture.child)"), (Fixture.Memory.long, "workspace:\(Fixture.root)"),
                (Fixture.Memory.otherRootGlobal, "org:\(Fixture.otherRoot)"),
            ]
            for (id, namespace) in expected {
                let memories = try tenant.memories(in: namespace)
                let memory = try #require(memories.first { $0["id"] as? String == id }, "\(id) not in \(namespace)")
                // created_at to the microsecond, as PostgreSQL holds it in the legacy row.
                let legacy = try await tenant.pool.query(
                    "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), content, scope, namespace FROM agent_memories WHERE id = $1", [id])[0]
                let createdAt = try #require(memory["created_at"] as? String)
                #expect(Self.micros(createdAt) == (try legacy.decode(String.self, at: 0)), "\(id): \(createdAt)")
                let legacyProps = ((memory["propagation"] as? [String: Any])?["legacy"] as? [String: String]) ?? [:]
                #expect(legacyProps == ["table": "agent_memories", "scope": try legacy.decode(String.self, at: 2), "namespace": try legacy.decode(String.self, at: 3)])
                #expect(memory["kind"] as? String == "fact")
                if id == Fixture.Memory.secret {
                    #expect(memory["content"] as? String == "deploy with OPENAI_API_KEY=[REDACTED:API_KEY] and go")
                } else {
                    #expect(memory["content"] as? String == (try legacy.decode(String.self, at: 1)), "\(id)")
                }
            }
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records WHERE kind <> 'kv'") == 9)

            // K/V: key, value, version and expiry; the expired entry is not copied.
            let childKV = try tenant.memories(in: "workspace:\(Fixture.child)").filter { $0["kind"] as? String == "kv" }
            #expect(childKV.count == 1)
            let plan = try #require(childKV.first)
            #expect(plan["key"] as? String == "plan")
            #expect(plan["version"] as? Int == 3)
            #expect(plan["content"] as? String == #"{"step": 1, "owner": "Zoë"}"#)
            #expect(Self.micros(plan["created_at"] as? String ?? "") == "2024-01-01T10:00:00.654321")
            let rootKV = try tenant.memories(in: "workspace:\(Fixture.root)").filter { $0["kind"] as? String == "kv" }
            let lease = try #require(rootKV.first { $0["key"] as? String == "lease" })
            #expect(lease["version"] as? Int == 2 && lease["expires_at"] != nil)
            let creds = try #require(rootKV.first { $0["key"] as? String == "creds" })
            #expect(creds["content"] as? String == #"{"password": "[REDACTED:PASSWORD]"}"#)

            let second = try tenant.backfill(["--apply"])
            #expect(second.status == 0, "\(second.report)")
            #expect(second.summary == SummaryLine(scanned: total, copied: 0, unchanged: Fixture.copyable, skipped: Fixture.skipped, errors: 0), "\(second.report)")
            #expect(try await tenant.count("SELECT max(version) FROM memory_plugin.memory_records WHERE key = 'plan'") == 3)
        }
    }

    @Test func verifyPassesAfterApplyAndNamesTheRowsThatWentMissingOrChanged() async throws {
        try await withLegacyTenant { tenant in
            #expect(try tenant.backfill(["--apply"]).status == 0)
            let clean = try tenant.backfill(["--verify"])
            #expect(clean.status == 0, "\(clean.report)")
            #expect(clean.summary == SummaryLine(scanned: total, copied: 0, unchanged: Fixture.copyable, skipped: Fixture.skipped, errors: 0, mismatched: 0), "\(clean.report)")

            let gone = [Fixture.Memory.rootLocal, Fixture.Memory.childTeam, Fixture.Memory.long]
            for (id, namespace) in zip(gone, ["workspace:\(Fixture.root)", "team:\(Fixture.root)", "workspace:\(Fixture.root)"]) {
                let deleted = try tenant.plugin.send("DELETE", "/v1/memories/\(id)", #"{"requested_by_namespace": "\#(namespace)"}"#)
                #expect(deleted.status == 204, "\(deleted.text)")
            }
            _ = try await tenant.pool.query(
                "UPDATE memory_plugin.memory_records SET content = 'tampered' WHERE id = $1", [Fixture.Memory.grandchildTeam])
            let broken = try tenant.backfill(["--verify"])
            #expect(broken.status == 3, "\(broken.report)")
            #expect(broken.summary?.mismatched == 4, "\(broken.report)")
            for id in gone { #expect(broken.stdout.contains("id=\(id) namespace=") && broken.stderr.contains(id), "\(id): \(broken.report)") }
            #expect(broken.stdout.contains("id=\(Fixture.Memory.grandchildTeam) namespace=team:\(Fixture.child): differs: content"), "\(broken.report)")

            // A re-run of apply repairs it, and verify agrees.
            let repair = try tenant.backfill(["--apply"])
            #expect(repair.summary == SummaryLine(scanned: total, copied: 4, unchanged: Fixture.copyable - 4, skipped: Fixture.skipped, errors: 0), "\(repair.report)")
            #expect(try tenant.backfill(["--verify"]).status == 0)
        }
    }

    @Test func anApplyKilledMidwayConvergesWhenRunAgain() async throws {
        let bulk = 5000
        try await withLegacyTenant(bulk: bulk) { tenant in
            // Each insert into the plugin's table waits 50 ms, so the run lasts seconds and
            // is still going when a busy machine gets round to killing it (without this,
            // a full parallel run once saw it finish first).
            _ = try await tenant.pool.query("""
                CREATE FUNCTION public.slow_down_copy() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$
                """)
            _ = try await tenant.pool.query("""
                CREATE TRIGGER slow_down_copy AFTER INSERT ON memory_plugin.memory_records
                FOR EACH STATEMENT EXECUTE FUNCTION public.slow_down_copy()
                """)
            let child = try tenant.start(["--apply", "--batch-size", "20"])
            var copiedAtKill = 0
            for _ in 0..<6000 {
                copiedAtKill = try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records")
                if copiedAtKill > 0 || child.hasExited { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            child.signal(SIGKILL)
            let killed = child.wait()
            #expect(killed.status != 0, "the run ended before it could be killed: \(killed.report)")
            #expect(copiedAtKill > 0 && copiedAtKill < Fixture.copyable + bulk)
            _ = try await tenant.pool.query("DROP TRIGGER slow_down_copy ON memory_plugin.memory_records")

            let rerun = try tenant.backfill(["--apply"])
            #expect(rerun.status == 0, "\(rerun.report)")
            let summary = try #require(rerun.summary, "\(rerun.report)")
            #expect(summary.scanned == total + bulk && summary.errors == 0 && summary.skipped == Fixture.skipped)
            #expect(summary.copied + summary.unchanged == Fixture.copyable + bulk)
            #expect(summary.unchanged > 0, "rows the killed run wrote are unchanged: \(summary)")
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records") == Fixture.copyable + bulk)
            let verify = try tenant.backfill(["--verify"])
            #expect(verify.status == 0, "\(verify.report)")
        }
    }

    @Test func anUnreachablePluginStopsTheRunAtOnceWithOneLine() async throws {
        try await withLegacyTenant(bulk: 3000) { tenant in
            _ = tenant.plugin.stop()
            let outcome = try tenant.backfill(["--apply"])
            #expect(outcome.status == 1, "\(outcome.report)")
            #expect(outcome.stderrLines.count == 1, "\(outcome.report)")
            #expect(outcome.stderr.contains("memory plugin unavailable") && outcome.stderr.contains("127.0.0.1:\(tenant.plugin.port)"), "\(outcome.report)")
            #expect(outcome.summary?.copied == 0 && outcome.summary?.errors == 0, "no row was tried: \(outcome.report)")
        }
    }

    @Test func aMissingVariableIsOneLineNamingIt() async throws {
        for (missing, present) in [("DATABASE_URL", "MEMORY_PLUGIN_URL"), ("MEMORY_PLUGIN_URL", "DATABASE_URL")] {
            let outcome = try MoleculeTenantBinary.run(
                ["backfill", "--apply", "--config", "/dev/null"], environment: [present: present == "DATABASE_URL" ? "postgres:///x" : "http://127.0.0.1:1"],
                removing: [missing])
            #expect(outcome.status == 1, "\(outcome.report)")
            #expect(outcome.stderrLines.count == 1 && outcome.stderr.contains("\(missing) is not set"), "\(outcome.report)")
        }
    }

    @Test func theReferenceSingleDashSpellingsWork() async throws {
        try await withLegacyTenant { tenant in
            let dry = try tenant.backfill(["-dry-run"])
            #expect(dry.status == 0 && dry.summary?.copied == Fixture.copyable, "\(dry.report)")
            let apply = try tenant.backfill(["-apply"])
            #expect(apply.status == 0 && apply.summary?.copied == Fixture.copyable, "\(apply.report)")
            let limited = try tenant.backfill(["-apply", "-limit=5", "-batch-size=2"])
            #expect(limited.summary == SummaryLine(scanned: 5, copied: 0, unchanged: 5, skipped: 0, errors: 0), "\(limited.report)")
            let sample = try tenant.backfill(["-verify", "-verify-sample=1"])
            #expect(sample.status == 0 && sample.summary?.mismatched == 0, "\(sample.report)")
            let one = try tenant.backfill(["-verify", "-workspace=\(Fixture.otherRoot)"])
            #expect(one.status == 0 && one.summary?.scanned == 1, "\(one.report)")
            let usage = try tenant.backfill(["-apply", "-verify"])
            #expect(usage.status == 2 && usage.stderr.contains("exactly one of"), "\(usage.report)")
        }
    }

    @Test func jsonPrintsOneEventPerLineEndingWithTheSummary() async throws {
        try await withLegacyTenant { tenant in
            let outcome = try tenant.backfill(["--apply", "--json"])
            #expect(outcome.status == 0, "\(outcome.report)")
            let events = try outcome.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
            }
            #expect(events.first?["event"] as? String == "start")
            #expect(events.first?["total"] as? Int == total)
            let skips = events.filter { $0["event"] as? String == "skip" }
            #expect(skips.count == Fixture.skipped)
            #expect(skips.contains { $0["id"] as? String == Fixture.Memory.childGlobal && $0["reason"] as? String == "global_from_non_root" })
            let summary = try #require(events.last)
            #expect(summary["event"] as? String == "summary")
            #expect(summary["scanned"] as? Int == total && summary["copied"] as? Int == Fixture.copyable && summary["errors"] as? Int == 0)
            #expect((summary["skipped_by_reason"] as? [String: Int])?["expired"] == 1)
            #expect(summary["rows_per_second"] is Int)
        }
    }

    @Test func workspaceAndLimitNarrowTheRun() async throws {
        try await withLegacyTenant { tenant in
            // The child has 4 memories (LOCAL, TEAM, GLOBAL from a non-root, the secret) and 2 K/V rows.
            let child = try tenant.backfill(["--apply", "--workspace", Fixture.child])
            #expect(child.summary == SummaryLine(scanned: 6, copied: 4, unchanged: 0, skipped: 2, errors: 0), "\(child.report)")
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records") == 4)
            let limited = try tenant.backfill(["--apply", "--limit", "3", "--batch-size", "2"])
            #expect(limited.summary?.scanned == 3, "\(limited.report)")
            // The oldest three rows: root LOCAL, root TEAM, root GLOBAL.
            #expect(limited.summary?.copied == 3, "\(limited.report)")
        }
    }

    @Test func smallBatchesReadEveryRowOnceAcrossBothTables() async throws {
        try await withLegacyTenant { tenant in
            // Batches of 2 end inside each table and at its end; the cursor hands out each row once.
            let dry = try tenant.backfill(["--dry-run", "--batch-size", "1"])
            #expect(dry.summary == SummaryLine(scanned: total, copied: Fixture.copyable, unchanged: 0, skipped: Fixture.skipped, errors: 0), "\(dry.report)")
            let apply = try tenant.backfill(["--apply", "--batch-size", "2"])
            #expect(apply.status == 0, "\(apply.report)")
            #expect(apply.summary == SummaryLine(scanned: total, copied: Fixture.copyable, unchanged: 0, skipped: Fixture.skipped, errors: 0), "\(apply.report)")
            #expect(try await tenant.count("SELECT count(*) FROM memory_plugin.memory_records") == Fixture.copyable)
            let verify = try tenant.backfill(["--verify", "--batch-size", "3"])
            #expect(verify.status == 0, "\(verify.report)")
        }
    }

    /// `2021-03-04T05:06:07.123456Z` (any fraction length) as `2021-03-04T05:06:07.123456`.
    static func micros(_ text: String) -> String {
        var body = text.hasSuffix("Z") ? String(text.dropLast()) : text
        if let dot = body.firstIndex(of: ".") {
            let fraction = body[body.index(after: dot)...]
            body = String(body[..<dot]) + "." + fraction + String(repeating: "0", count: max(0, 6 - fraction.count))
        } else {
            body += ".000000"
        }
        return body
    }
}
