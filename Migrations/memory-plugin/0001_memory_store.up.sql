-- The memory plugin's store. Table names and columns match the reference Go plugin's
-- (memory_namespaces, memory_records), so this converges on a schema it created; our
-- additions (K/V keys, versions, update times) are added with IF NOT EXISTS.
-- The embedding column is not created here: pgvector is optional, and the plugin adds
-- the column and its HNSW index at boot when the extension is present.

CREATE TABLE IF NOT EXISTS memory_plugin.memory_namespaces (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('workspace', 'team', 'org', 'custom')),
    expires_at TIMESTAMPTZ,
    metadata   JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE memory_plugin.memory_namespaces
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE TABLE IF NOT EXISTS memory_plugin.memory_records (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    namespace   TEXT NOT NULL REFERENCES memory_plugin.memory_namespaces(name) ON DELETE CASCADE,
    content     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('agent', 'runtime', 'user')),
    expires_at  TIMESTAMPTZ,
    propagation JSONB,
    pin         BOOLEAN NOT NULL DEFAULT false,
    content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE memory_plugin.memory_records
    ADD COLUMN IF NOT EXISTS key        TEXT,
    ADD COLUMN IF NOT EXISTS version    BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- The reference allows only fact|summary|checkpoint; we add kv, whose rows carry a key.
ALTER TABLE memory_plugin.memory_records DROP CONSTRAINT IF EXISTS memory_records_kind_check;
ALTER TABLE memory_plugin.memory_records
    ADD CONSTRAINT memory_records_kind_check CHECK (kind IN ('fact', 'summary', 'checkpoint', 'kv'));
ALTER TABLE memory_plugin.memory_records DROP CONSTRAINT IF EXISTS memory_records_key_check;
ALTER TABLE memory_plugin.memory_records
    ADD CONSTRAINT memory_records_key_check CHECK ((kind = 'kv') = (key IS NOT NULL));

-- One K/V entry per (namespace, key).
CREATE UNIQUE INDEX IF NOT EXISTS memory_records_kv_key
    ON memory_plugin.memory_records (namespace, key)
    WHERE key IS NOT NULL;
-- Listing and search order within a namespace: pinned first, newest first, then id.
CREATE INDEX IF NOT EXISTS memory_records_listing
    ON memory_plugin.memory_records (namespace, pin DESC, created_at DESC, id DESC);
-- Cursor listing for export and verify: oldest first.
CREATE INDEX IF NOT EXISTS memory_records_cursor
    ON memory_plugin.memory_records (namespace, created_at, id);
CREATE INDEX IF NOT EXISTS memory_records_fts
    ON memory_plugin.memory_records USING GIN (content_tsv);
-- The janitor's scans.
CREATE INDEX IF NOT EXISTS memory_records_expires
    ON memory_plugin.memory_records (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS memory_namespaces_expires
    ON memory_plugin.memory_namespaces (expires_at)
    WHERE expires_at IS NOT NULL;
