/// The legacy shape of a database created by the reference Go server and its memory
/// plugin (tables, the status enum conversion, and a few rows), written for this test.
enum ReferenceSchemaFixture {
    static let sql = """
        CREATE TABLE workspaces (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            name TEXT NOT NULL, role TEXT, tier INTEGER DEFAULT 1,
            status TEXT DEFAULT 'provisioning', source_bundle_id TEXT, agent_card JSONB, url TEXT,
            parent_id UUID REFERENCES workspaces(id), forwarded_to UUID REFERENCES workspaces(id),
            last_heartbeat_at TIMESTAMPTZ, last_error_rate FLOAT DEFAULT 0, last_sample_error TEXT,
            active_tasks INTEGER DEFAULT 0, uptime_seconds INTEGER DEFAULT 0,
            created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()
        );
        ALTER TABLE workspaces ADD COLUMN current_task TEXT;
        ALTER TABLE workspaces ADD COLUMN runtime TEXT DEFAULT 'hermes';
        CREATE TYPE workspace_status AS ENUM ('provisioning','online','offline','degraded','failed','removed','paused','hibernated');
        ALTER TABLE workspaces ALTER COLUMN status DROP DEFAULT;
        ALTER TABLE workspaces ALTER COLUMN status TYPE workspace_status USING status::workspace_status;
        ALTER TABLE workspaces ALTER COLUMN status SET DEFAULT 'provisioning'::workspace_status;
        ALTER TABLE workspaces ADD COLUMN platform_inbound_secret TEXT NULL;

        CREATE TABLE workspace_memory (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            key TEXT NOT NULL, value JSONB NOT NULL, expires_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), UNIQUE(workspace_id, key)
        );
        ALTER TABLE workspace_memory ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
        CREATE TABLE agent_memories (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID REFERENCES workspaces(id),
            content TEXT NOT NULL,
            scope VARCHAR(10) NOT NULL CHECK (scope IN ('LOCAL', 'TEAM', 'GLOBAL')),
            created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()
        );
        ALTER TABLE agent_memories ADD COLUMN namespace VARCHAR(50) NOT NULL DEFAULT 'general';
        CREATE TABLE activity_logs (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            activity_type TEXT NOT NULL, source_id UUID, target_id UUID, method TEXT, summary TEXT,
            request_body JSONB, response_body JSONB, duration_ms INTEGER, status TEXT DEFAULT 'ok',
            error_detail TEXT, created_at TIMESTAMPTZ DEFAULT now()
        );
        CREATE TABLE workspace_auth_tokens (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            token_hash BYTEA NOT NULL, prefix TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ,
            UNIQUE (token_hash)
        );
        CREATE TABLE org_api_tokens (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            token_hash BYTEA NOT NULL, prefix TEXT NOT NULL, name TEXT, created_by TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ,
            UNIQUE (token_hash)
        );
        ALTER TABLE org_api_tokens ADD COLUMN org_id UUID REFERENCES workspaces(id) ON DELETE SET NULL;

        CREATE SCHEMA memory_plugin;
        CREATE TABLE memory_plugin.memory_namespaces (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('workspace','team','org','custom')),
            expires_at TIMESTAMPTZ, metadata JSONB, created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE memory_plugin.memory_records (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            namespace TEXT NOT NULL REFERENCES memory_plugin.memory_namespaces(name) ON DELETE CASCADE,
            content TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('fact','summary','checkpoint')),
            source TEXT NOT NULL CHECK (source IN ('agent','runtime','user')),
            expires_at TIMESTAMPTZ, propagation JSONB, pin BOOLEAN NOT NULL DEFAULT false,
            content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );

        INSERT INTO workspaces (id, name, status) VALUES ('11111111-1111-1111-1111-111111111111', 'legacy root', 'online');
        INSERT INTO agent_memories (workspace_id, content, scope) VALUES
            ('11111111-1111-1111-1111-111111111111', 'a local memory', 'LOCAL'),
            ('11111111-1111-1111-1111-111111111111', 'an org memory', 'GLOBAL');
        INSERT INTO workspace_memory (workspace_id, key, value) VALUES ('11111111-1111-1111-1111-111111111111', 'plan', '{"step": 1}');
        INSERT INTO memory_plugin.memory_namespaces (name, kind) VALUES ('workspace:11111111-1111-1111-1111-111111111111', 'workspace');
        INSERT INTO memory_plugin.memory_records (namespace, content, kind, source)
            VALUES ('workspace:11111111-1111-1111-1111-111111111111', 'reference plugin row', 'fact', 'agent');
        """
}
