import Foundation
import Postgres
import TestSupport

/// A database shaped like a tenant of the reference Go server (migrations 006, 008, 017,
/// 023: workspaces, agent_memories with scopes and namespace tags, workspace_memory with
/// versions and expiry) with a small workspace tree and one row for each case the
/// backfill must handle.
enum LegacyTenantFixture {
    static let root = "10000000-0000-4000-8000-000000000001"
    static let child = "10000000-0000-4000-8000-000000000002"
    static let grandchild = "10000000-0000-4000-8000-000000000003"
    static let otherRoot = "10000000-0000-4000-8000-000000000004"

    /// Legacy memory ids by what they exercise.
    enum Memory {
        static let rootLocal = "20000000-0000-4000-8000-000000000001"
        static let rootTeam = "20000000-0000-4000-8000-000000000002"
        static let rootGlobal = "20000000-0000-4000-8000-000000000003"
        static let childLocal = "20000000-0000-4000-8000-000000000004"
        static let childTeam = "20000000-0000-4000-8000-000000000005"
        static let childGlobal = "20000000-0000-4000-8000-000000000006"
        static let grandchildTeam = "20000000-0000-4000-8000-000000000007"
        static let noWorkspace = "20000000-0000-4000-8000-000000000008"
        static let secret = "20000000-0000-4000-8000-000000000009"
        static let long = "20000000-0000-4000-8000-00000000000a"
        static let tooLarge = "20000000-0000-4000-8000-00000000000b"
        static let blank = "20000000-0000-4000-8000-00000000000c"
        static let otherRootGlobal = "20000000-0000-4000-8000-00000000000d"
    }

    enum KeyValue {
        static let plan = "30000000-0000-4000-8000-000000000001"
        static let expired = "30000000-0000-4000-8000-000000000002"
        static let expiring = "30000000-0000-4000-8000-000000000003"
        static let secret = "30000000-0000-4000-8000-000000000004"
    }

    static let longContent = String(repeating: "Grüße aus 東京 🚀, line of a long memory.\n", count: 1200)

    /// Rows --apply copies, and rows it skips.
    static let copyable = 12
    static let skipped = 5

    static let schema = """
        CREATE TYPE workspace_status AS ENUM ('provisioning','online','offline','degraded','failed','removed','paused','hibernated');
        CREATE TABLE workspaces (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            name TEXT NOT NULL, role TEXT, tier INTEGER DEFAULT 1,
            status workspace_status DEFAULT 'provisioning', agent_card JSONB, url TEXT,
            parent_id UUID REFERENCES workspaces(id),
            last_heartbeat_at TIMESTAMPTZ, last_error_rate FLOAT DEFAULT 0, last_sample_error TEXT,
            active_tasks INTEGER DEFAULT 0, uptime_seconds INTEGER DEFAULT 0,
            created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()
        );
        CREATE TABLE workspace_memory (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            key TEXT NOT NULL, value JSONB NOT NULL, expires_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), UNIQUE(workspace_id, key)
        );
        ALTER TABLE workspace_memory ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 1;
        CREATE TABLE agent_memories (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID REFERENCES workspaces(id),
            content TEXT NOT NULL,
            scope VARCHAR(10) NOT NULL CHECK (scope IN ('LOCAL', 'TEAM', 'GLOBAL')),
            created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()
        );
        CREATE INDEX idx_memories_workspace ON agent_memories(workspace_id);
        ALTER TABLE agent_memories
            ADD COLUMN IF NOT EXISTS namespace VARCHAR(50) NOT NULL DEFAULT 'general',
            ADD COLUMN IF NOT EXISTS content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
        """

    static var rows: String {
        """
        INSERT INTO workspaces (id, name, parent_id, status) VALUES
            ('\(root)', 'root', NULL, 'online'),
            ('\(child)', 'child', '\(root)', 'online'),
            ('\(grandchild)', 'grandchild', '\(child)', 'offline'),
            ('\(otherRoot)', 'other root', NULL, 'removed');
        INSERT INTO agent_memories (id, workspace_id, content, scope, namespace, created_at) VALUES
            ('\(Memory.rootLocal)', '\(root)', 'root keeps its notes here', 'LOCAL', 'general', '2021-03-04 05:06:07.123456+00'),
            ('\(Memory.rootTeam)', '\(root)', 'the team deploys on Fridays', 'TEAM', 'procedures', '2021-03-04 05:06:07.123457+00'),
            ('\(Memory.rootGlobal)', '\(root)', 'the org is called Acme', 'GLOBAL', 'general', '2022-01-01 00:00:00.000001+00'),
            ('\(Memory.childLocal)', '\(child)', 'child private fact', 'LOCAL', 'general', '2022-06-30 23:59:59.999999+00'),
            ('\(Memory.childTeam)', '\(child)', 'child shares with its team', 'TEAM', 'general', '2022-07-01 00:00:00+00'),
            ('\(Memory.childGlobal)', '\(child)', 'a non-root tried to write org memory', 'GLOBAL', 'general', '2022-07-02 00:00:00+00'),
            ('\(Memory.grandchildTeam)', '\(grandchild)', 'grandchild talks to its parent team', 'TEAM', 'general', '2022-07-03 00:00:00+00'),
            ('\(Memory.noWorkspace)', NULL, 'an orphan memory', 'LOCAL', 'general', '2022-07-04 00:00:00+00'),
            ('\(Memory.secret)', '\(child)', 'deploy with OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz123456 and go', 'LOCAL', 'general', '2023-01-01 12:00:00.5+00'),
            ('\(Memory.long)', '\(root)', '\(longContent)', 'LOCAL', 'general', '2023-02-02 02:02:02.020202+00'),
            ('\(Memory.tooLarge)', '\(root)', repeat('x', 150000), 'LOCAL', 'general', '2023-03-03 00:00:00+00'),
            ('\(Memory.blank)', '\(root)', '   ', 'LOCAL', 'general', '2023-04-04 00:00:00+00'),
            ('\(Memory.otherRootGlobal)', '\(otherRoot)', 'another org', 'GLOBAL', 'general', '2023-05-05 00:00:00+00');
        INSERT INTO workspace_memory (id, workspace_id, key, value, version, expires_at, updated_at) VALUES
            ('\(KeyValue.plan)', '\(child)', 'plan', '{"step": 1, "owner": "Zoë"}', 3, NULL, '2024-01-01 10:00:00.654321+00'),
            ('\(KeyValue.expired)', '\(child)', 'stale', '"old"', 1, now() - interval '1 hour', '2024-01-02 00:00:00+00'),
            ('\(KeyValue.expiring)', '\(root)', 'lease', '{"holder": "root"}', 2, now() + interval '1 day', '2024-01-03 00:00:00+00'),
            ('\(KeyValue.secret)', '\(root)', 'creds', '{"password": "hunter2hunter2"}', 1, NULL, '2024-01-04 00:00:00+00');
        """
    }

    /// Creates the legacy tables and rows, then lets our own migrations converge on them.
    static func install(_ database: TestDatabaseHandle, _ pool: PostgresPool) async throws {
        let connection = try PostgresConnection.connect(database.url)
        defer { connection.close() }
        _ = try connection.simpleQuery(schema)
        _ = try connection.simpleQuery(rows)
        let migrate = try MoleculeTenantBinary.run(["migrate", "up", "--config", "/dev/null"], environment: ["DATABASE_URL": database.url])
        guard migrate.status == 0 else { throw TestSupportError("migrate up failed on the legacy database: \(migrate.stderr)") }
    }

    /// `count` more LOCAL memories spread over the tree, for runs long enough to interrupt.
    static func addBulk(_ database: TestDatabaseHandle, count: Int) throws {
        let connection = try PostgresConnection.connect(database.url)
        defer { connection.close() }
        _ = try connection.simpleQuery("""
            INSERT INTO agent_memories (workspace_id, content, scope, created_at)
            SELECT (ARRAY['\(root)', '\(child)', '\(grandchild)']::uuid[])[1 + i % 3], 'bulk memory number ' || i,
                   (ARRAY['LOCAL', 'TEAM'])[1 + i % 2], timestamptz '2020-01-01' + i * interval '1 millisecond'
            FROM generate_series(1, \(count)) AS i
            """)
    }
}
