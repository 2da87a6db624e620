import MemoryContract
import MemoryPluginClient

/// A copied row as the plugin should hold it.
struct Expectation: Sendable {
    var record: LegacyRecord
    var namespace: String
    /// The id, or for `kv` the key, the plugin's listing is matched on.
    var matchKey: String
    var fingerprint: MemoryFingerprint

    init(_ row: MappedRow) {
        record = row.record
        namespace = row.namespace
        matchKey = row.write.key.map { "kv:" + $0 } ?? "id:" + (row.write.id ?? "").lowercased()
        fingerprint = MemoryFingerprint(row.write)
    }
}

/// How one copied row compares with the plugin.
public enum Comparison: Sendable, Equatable {
    case matches
    case missing
    case differs([String])
}

/// Checks expected rows against the plugin by paging each namespace's cursor listing to
/// its end (no cap), matching memories by id and K/V entries by key. Memories the plugin
/// holds beyond the legacy rows (written since) are not a mismatch.
struct PluginComparator: Sendable {
    let client: MemoryPluginClient
    let pageSize = 1000

    /// Calls `report` with every expectation and its comparison, namespace by namespace.
    func compare(
        _ expected: [String: [String: Expectation]],
        report: (Expectation, Comparison) -> Void
    ) async throws(BackfillError) {
        for namespace in expected.keys.sorted() {
            var pending = expected[namespace]!
            var cursor: String?
            paging: repeat {
                let page: MemoryPage
                do {
                    page = try await client.page(namespace: namespace, after: cursor, limit: pageSize)
                } catch .rejected(let error) where error.status == 404 {
                    break paging  // never written: everything in it is missing
                } catch {
                    throw .plugin(error)
                }
                for memory in page.memories {
                    let key = memory.key.map { "kv:" + $0 } ?? "id:" + memory.id.lowercased()
                    guard let expectation = pending.removeValue(forKey: key) else { continue }
                    let differences = expectation.fingerprint.differences(from: MemoryFingerprint(memory))
                    report(expectation, differences.isEmpty ? .matches : .differs(differences))
                }
                cursor = page.nextCursor
            } while cursor != nil && !pending.isEmpty
            for expectation in pending.values.sorted(by: { $0.record.id < $1.record.id }) {
                report(expectation, .missing)
            }
        }
    }
}
