import MemoryContract

/// One valid item of a batch: its position, namespace and write.
struct PlannedWrite {
    var index: Int
    var namespace: String
    var write: MemoryWrite
}

/// Sorts a batch's valid items by how the store can run them. Most items of a bulk load
/// (backfill, admin import) go into one set-based statement per kind; the rest keep the
/// per-item path, whose semantics the set statements reproduce:
/// - `facts`: non-kv items whose id appears once in the batch and which carry
///   `created_at` or no id (a set statement cannot tell "keep the stored created_at"
///   from "replace it" per row);
/// - `imports`: kv imports (a `version`) with `created_at`, whose (namespace, key)
///   appears once in the batch;
/// - `pipelined`: other non-kv items, one statement each, in item order, so a later
///   item with the same id sees what an earlier one wrote;
/// - `keyed`: other kv items, one by one after everything else (as before).
struct BatchPlan {
    var facts: [PlannedWrite] = []
    var imports: [PlannedWrite] = []
    var pipelined: [PlannedWrite] = []
    var keyed: [PlannedWrite] = []

    init(_ items: [PlannedWrite]) {
        var idCounts: [String: Int] = [:]
        var keyCounts: [KeyValueIdentity: Int] = [:]
        for item in items {
            if item.write.kind == .kv {
                keyCounts[KeyValueIdentity(item), default: 0] += 1
            } else if let id = item.write.id {
                idCounts[id.lowercased(), default: 0] += 1
            }
        }
        for item in items {
            let write = item.write
            if write.kind == .kv {
                let single = keyCounts[KeyValueIdentity(item)] == 1
                if write.version != nil, write.createdAt != nil, single { imports.append(item) } else { keyed.append(item) }
            } else {
                let single = write.id.map { idCounts[$0.lowercased()] == 1 } ?? true
                if single, write.createdAt != nil || write.id == nil { facts.append(item) } else { pipelined.append(item) }
            }
        }
    }

    private struct KeyValueIdentity: Hashable {
        var namespace: String
        var key: String?
        init(_ item: PlannedWrite) {
            namespace = item.namespace
            key = item.write.key
        }
    }
}
