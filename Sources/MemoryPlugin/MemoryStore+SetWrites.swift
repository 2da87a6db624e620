import MemoryContract
import Postgres

/// Set-based statements for the batch route: a whole batch's facts (or kv imports) in one
/// `INSERT ... SELECT FROM unnest($arrays) ON CONFLICT`, with one outcome row per item.
/// They do what the per-item statements do (namespaces created as on commit, expired
/// namespaces refused, an id in another namespace a conflict, an item equal to what is
/// stored `unchanged`) at a fraction of the cost: one plan, one executor start and one
/// round trip instead of a thousand.
///
/// Every sub-statement of a WITH sees the same snapshot, so the final SELECT reads each
/// item's stored row as it was before the statement: that is what tells an item left
/// alone because it is equal (unchanged) from one refused because its id lives elsewhere.
extension MemoryStore {
    /// What a set statement reported for one item.
    struct SetOutcome {
        var position: Int
        var id: String
        var status: String
        var version: Int64?
    }

    /// Creates the batch's namespaces (sorted, so concurrent batches take their locks in
    /// the same order) and lists the expired ones; $NAMES and $KINDS are the sorted names
    /// and their kinds.
    private static func namespacesCTE(names: Int, kinds: Int) -> String {
        """
        ensured AS (
            INSERT INTO memory_plugin.memory_namespaces (name, kind)
            SELECT * FROM unnest($\(names)::text[], $\(kinds)::text[])
            ON CONFLICT (name) DO NOTHING
        ), expired AS (
            SELECT name FROM memory_plugin.memory_namespaces WHERE name = ANY($\(names)::text[]) AND expires_at <= now()
        )
        """
    }

    /// Facts, summaries and checkpoints. Items without `created_at` carry no id (the
    /// plan sends the others one by one), so `created_at = EXCLUDED.created_at` only
    /// ever replaces a stored time with a given one. `stored` reads each id's row first
    /// (one index probe each: LIMIT 1 keeps the planner from a hash join over the whole
    /// table), so rows that are equal or live elsewhere never reach the INSERT, which
    /// would compute their full-text vector before finding the conflict; ON CONFLICT
    /// still covers rows another writer adds meanwhile.
    static func factSetSQL(embedding: Bool) -> String {
        let vector = embedding ? ", embedding" : ""
        return """
        WITH input AS MATERIALIZED (
            SELECT i.position, i.namespace, coalesce(i.id, gen_random_uuid()) AS id, i.content, i.kind, i.source,
                   i.expires_at, i.propagation::jsonb AS propagation, i.pin, coalesce(i.created_at, now()) AS created_at\(embedding ? ", i.embedding::vector AS embedding" : "")
            FROM unnest($1::int4[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                        $9::bool[], $10::timestamptz[]\(embedding ? ", $13::text[]" : ""))
                AS i(position, namespace, id, content, kind, source, expires_at, propagation, pin, created_at\(vector))
        ), stored AS MATERIALIZED (
            SELECT i.position, s.namespace, s.kind,
                   (s.namespace, s.content, s.kind, s.source, s.expires_at, s.propagation, s.pin, s.created_at\(embedding ? ", s.embedding" : ""))
                     IS NOT DISTINCT FROM (i.namespace, i.content, i.kind, i.source, i.expires_at, i.propagation, i.pin, i.created_at\(embedding ? ", i.embedding" : "")) AS same
            FROM input i
            CROSS JOIN LATERAL (SELECT * FROM memory_plugin.memory_records s WHERE s.id = i.id LIMIT 1) s
        ), \(namespacesCTE(names: 11, kinds: 12)), written AS (
            INSERT INTO memory_plugin.memory_records AS r
                (id, namespace, content, kind, source, expires_at, propagation, pin, created_at\(vector))
            SELECT id, namespace, content, kind, source, expires_at, propagation, pin, created_at\(vector)
            FROM input i
            WHERE namespace NOT IN (SELECT name FROM expired)
              AND NOT EXISTS (SELECT 1 FROM stored s WHERE s.position = i.position AND (s.same OR s.namespace <> i.namespace OR s.kind = 'kv'))
            ON CONFLICT (id) DO UPDATE
            SET content = EXCLUDED.content, kind = EXCLUDED.kind, source = EXCLUDED.source,
                expires_at = EXCLUDED.expires_at, propagation = EXCLUDED.propagation, pin = EXCLUDED.pin,\(embedding ? " embedding = EXCLUDED.embedding," : "")
                created_at = EXCLUDED.created_at, updated_at = now()
            WHERE r.namespace = EXCLUDED.namespace AND r.kind <> 'kv'
              AND ((r.content, r.kind, r.source, r.expires_at, r.propagation, r.pin, r.created_at\(embedding ? ", r.embedding" : ""))
                    IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.kind, EXCLUDED.source, EXCLUDED.expires_at, EXCLUDED.propagation,
                                      EXCLUDED.pin, EXCLUDED.created_at\(embedding ? ", EXCLUDED.embedding" : "")))
            RETURNING id, (xmax = 0) AS inserted
        )
        SELECT i.position, i.id::text,
               CASE WHEN w.id IS NOT NULL THEN CASE WHEN w.inserted THEN 'created' ELSE 'updated' END
                    WHEN e.name IS NOT NULL THEN 'expired'
                    WHEN s.namespace = i.namespace AND s.kind <> 'kv' THEN 'unchanged'
                    ELSE 'conflict' END
        FROM input i
        LEFT JOIN written w ON w.id = i.id
        LEFT JOIN expired e ON e.name = i.namespace
        LEFT JOIN stored s ON s.position = i.position
        """
    }

    /// Imports of kv entries at a given version, as `importKeyValue` does one by one;
    /// `stored` as for facts: an entry equal to the import, or a live one with a higher
    /// version, is left out of the INSERT.
    static let keyValueImportSetSQL = """
        WITH input AS MATERIALIZED (
            SELECT i.position, i.namespace, i.id, i.key, i.content, i.source, i.expires_at, i.propagation::jsonb AS propagation,
                   i.pin, i.created_at, i.version
            FROM unnest($1::int4[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                        $8::text[], $9::bool[], $10::timestamptz[], $11::int8[])
                AS i(position, namespace, id, key, content, source, expires_at, propagation, pin, created_at, version)
        ), stored AS MATERIALIZED (
            SELECT i.position, s.id, s.version,
                   s.expires_at IS NOT NULL AND s.expires_at <= now() AS expired,
                   (s.content, s.source, s.expires_at, s.propagation, s.pin, s.version, s.created_at)
                     IS NOT DISTINCT FROM (i.content, i.source, i.expires_at, i.propagation, i.pin, i.version, i.created_at) AS same
            FROM input i
            CROSS JOIN LATERAL (
                SELECT * FROM memory_plugin.memory_records s WHERE s.namespace = i.namespace AND s.key = i.key LIMIT 1
            ) s
        ), \(namespacesCTE(names: 12, kinds: 13)), written AS (
            INSERT INTO memory_plugin.memory_records AS r
                (id, namespace, content, kind, source, expires_at, propagation, pin, created_at, key, version)
            SELECT coalesce(id, gen_random_uuid()), namespace, content, 'kv', source, expires_at, propagation, pin,
                   created_at, key, version
            FROM input i
            WHERE namespace NOT IN (SELECT name FROM expired)
              AND NOT EXISTS (SELECT 1 FROM stored s WHERE s.position = i.position AND (s.same OR (s.version > i.version AND NOT s.expired)))
            ON CONFLICT (namespace, key) WHERE key IS NOT NULL DO UPDATE
            SET content = EXCLUDED.content, source = EXCLUDED.source, expires_at = EXCLUDED.expires_at,
                propagation = EXCLUDED.propagation, pin = EXCLUDED.pin, version = EXCLUDED.version, updated_at = now(),
                created_at = EXCLUDED.created_at
            WHERE (r.version <= EXCLUDED.version OR (r.expires_at IS NOT NULL AND r.expires_at <= now()))
              AND (r.content, r.source, r.expires_at, r.propagation, r.pin, r.version, r.created_at)
                    IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.source, EXCLUDED.expires_at, EXCLUDED.propagation, EXCLUDED.pin,
                                      EXCLUDED.version, EXCLUDED.created_at)
            RETURNING namespace, key, id, version, (xmax = 0) AS inserted
        )
        SELECT i.position, coalesce(w.id, s.id)::text,
               CASE WHEN w.id IS NOT NULL THEN CASE WHEN w.inserted THEN 'created' ELSE 'updated' END
                    WHEN e.name IS NOT NULL THEN 'expired'
                    WHEN s.id IS NULL THEN 'conflict'
                    WHEN s.version > i.version THEN 'newer'
                    ELSE 'unchanged' END,
               coalesce(w.version, s.version)
        FROM input i
        LEFT JOIN written w ON w.namespace = i.namespace AND w.key = i.key
        LEFT JOIN expired e ON e.name = i.namespace
        LEFT JOIN stored s ON s.position = i.position
        """

    /// The fact statement for `items`, with its parameters.
    func factSetStatement(_ items: ArraySlice<PlannedWrite>) -> PostgresConnection.Statement {
        var positions: [Int] = [], namespaces: [String] = [], ids: [String?] = [], contents: [String] = []
        var kinds: [String] = [], sources: [String] = [], expiries: [Timestamp?] = [], propagations: [String?] = []
        var pins: [Bool] = [], createdAts: [Timestamp?] = [], embeddings: [String?] = []
        var texts = PropagationTexts()
        for (position, item) in items.enumerated() {
            let write = item.write
            positions.append(position)
            namespaces.append(item.namespace)
            ids.append(write.id.map(Self.lowercased))
            contents.append(write.content)
            kinds.append(write.kind.rawValue)
            sources.append(write.source.rawValue)
            expiries.append(write.expiresAt)
            propagations.append(texts.text(write.propagation))
            pins.append(write.pin ?? false)
            createdAts.append(write.createdAt)
            if embeddingDimensions != nil { embeddings.append(write.embedding.map { PostgresVector($0).postgresText! }) }
        }
        let (names, namespaceKinds) = Self.namespaceArrays(items)
        var parameters: [any PostgresEncodable] = [
            positions, namespaces, ids, contents, kinds, sources, expiries, propagations, pins, createdAts, names, namespaceKinds,
        ]
        if embeddingDimensions != nil { parameters.append(embeddings) }
        return PostgresConnection.Statement(factSetSQL, parameters, prepared: true)
    }

    /// The kv import statement for `items`, with its parameters.
    func keyValueImportSetStatement(_ items: ArraySlice<PlannedWrite>) -> PostgresConnection.Statement {
        var positions: [Int] = [], namespaces: [String] = [], ids: [String?] = [], keys: [String?] = [], contents: [String] = []
        var sources: [String] = [], expiries: [Timestamp?] = [], propagations: [String?] = [], pins: [Bool] = []
        var createdAts: [Timestamp?] = [], versions: [Int64?] = []
        var texts = PropagationTexts()
        for (position, item) in items.enumerated() {
            let write = item.write
            positions.append(position)
            namespaces.append(item.namespace)
            ids.append(write.id.map(Self.lowercased))
            keys.append(write.key)
            contents.append(write.content)
            sources.append(write.source.rawValue)
            expiries.append(write.expiresAt)
            propagations.append(texts.text(write.propagation))
            pins.append(write.pin ?? false)
            createdAts.append(write.createdAt)
            versions.append(write.version)
        }
        let (names, namespaceKinds) = Self.namespaceArrays(items)
        return PostgresConnection.Statement(Self.keyValueImportSetSQL, [
            positions, namespaces, ids, keys, contents, sources, expiries, propagations, pins, createdAts, versions, names, namespaceKinds,
        ], prepared: true)
    }

    /// `propagation` as JSON text. A bulk load's items share a few distinct objects (the
    /// batch route decodes each distinct one once), so the text of recent ones is reused
    /// instead of being written again for every item.
    struct PropagationTexts {
        private var recent: [(object: [String: JSONValue], text: String)] = []

        mutating func text(_ object: [String: JSONValue]?) -> String? {
            guard let object else { return nil }
            if let known = recent.first(where: { $0.object == object }) { return known.text }
            guard let text = JSONWriter.text(object) else { return nil }
            if recent.count == 4 { recent.removeFirst() }
            recent.append((object, text))
            return text
        }
    }

    /// A UUID in lower case, without a new string when it already is (the usual case).
    static func lowercased(_ id: String) -> String {
        id.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? id.lowercased() : id
    }

    /// Each distinct namespace once, sorted, with the kind a commit would give it.
    private static func namespaceArrays(_ items: ArraySlice<PlannedWrite>) -> ([String], [String]) {
        let names = Set(items.map(\.namespace)).sorted()
        return (names, names.map { NamespaceKind.inferred(from: $0).rawValue })
    }

    /// The outcome rows of a set statement, by position in its items.
    static func setOutcomes(_ result: PostgresResult, count: Int, versions: Bool) throws -> [SetOutcome] {
        guard result.count == count else {
            throw PostgresError(kind: .decoding, message: "a set write answered \(result.count) rows for \(count) items")
        }
        var outcomes: [SetOutcome] = []
        outcomes.reserveCapacity(count)
        for row in result.rows {
            outcomes.append(SetOutcome(
                position: try row.decode(Int.self, at: 0),
                id: try row.decode(String?.self, at: 1) ?? "",
                status: try row.decode(String.self, at: 2),
                version: versions ? try row.decode(Int64?.self, at: 3) : nil))
        }
        return outcomes
    }

    /// The batch result a set statement's outcome stands for; the errors are those the
    /// per-item path gives for the same case.
    static func result(_ outcome: SetOutcome, for item: PlannedWrite) -> BatchItemResult {
        let id = outcome.id.isEmpty ? item.write.id : outcome.id
        switch outcome.status {
        case "created": return BatchItemResult(index: item.index, id: id, status: .created, version: outcome.version)
        case "updated": return BatchItemResult(index: item.index, id: id, status: .updated, version: outcome.version)
        case "unchanged": return BatchItemResult(index: item.index, id: id, status: .unchanged, version: outcome.version)
        case "expired":
            return BatchItemResult(index: item.index, id: item.write.id, status: .error, error: .notFound("namespace \(item.namespace) has expired"))
        case "newer":
            let stored = outcome.version ?? 0
            return BatchItemResult(index: item.index, id: item.write.id, status: .error, error: .conflict(
                "key \(item.write.key ?? "") holds version \(stored), newer than the imported version \(item.write.version ?? 0)",
                details: ["current_version": .number(Double(stored))]))
        default:
            let error: ContractError = item.write.kind == .kv
                ? .conflict("key \(item.write.key ?? "") could not be imported")
                : .conflict("memory id \(item.write.id ?? "") already exists in another namespace or as a kv entry")
            return BatchItemResult(index: item.index, id: item.write.id, status: .error, error: error)
        }
    }
}
