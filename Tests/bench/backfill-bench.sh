#!/usr/bin/env bash
# Backfill throughput: a legacy tenant of ROWS memories and KV_ROWS K/V entries in a fresh
# database on the test PostgreSQL, a plugin on loopback, then `backfill --apply` at
# --batch-size BATCH, timed end to end. Prints one line per run. Before each run it takes
# the single-row INSERT ceiling (`bench pg-limit` at concurrency 8, 10 s) on the same
# server, so the two figures come from the same minutes of a shared machine.
#   usage: Tests/bench/backfill-bench.sh BINARY [ROWS] [KV_ROWS] [BATCH...]
#   e.g.   Tests/bench/backfill-bench.sh .build/release/molecule-tenant 100000 5000 1000 1
# Needs DATABASE_URL of a server where it may create databases (Tests/services.sh prints one).
# BENCH_PORT: the plugin's port (default: a free one). PG_LIMIT=0 skips the ceiling.
set -euo pipefail
binary=$(realpath -s "$1"); rows=${2:-100000}; kv_rows=${3:-5000}; shift $(( $# >= 3 ? 3 : $# ))
batches=("${@:-1000}")
admin=${DATABASE_URL:?export DATABASE_URL (Tests/services.sh start prints it)}
base=${admin%/*}

port=${BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
for batch in "${batches[@]}"; do
    db="mt_backfill_bench_$$_${batch}"
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    url="$base/$db"
    psql -q "$url" <<SQL
CREATE TABLE workspaces (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), name TEXT NOT NULL, parent_id UUID REFERENCES workspaces(id),
    status TEXT DEFAULT 'online', created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE agent_memories (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), workspace_id UUID REFERENCES workspaces(id),
    content TEXT NOT NULL, scope VARCHAR(10) NOT NULL CHECK (scope IN ('LOCAL', 'TEAM', 'GLOBAL')),
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now(), namespace VARCHAR(50) NOT NULL DEFAULT 'general');
CREATE TABLE workspace_memory (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), workspace_id UUID NOT NULL REFERENCES workspaces(id),
    key TEXT NOT NULL, value JSONB NOT NULL, expires_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version BIGINT NOT NULL DEFAULT 1, UNIQUE (workspace_id, key));
-- 10 roots with 9 children each: 100 workspaces.
INSERT INTO workspaces (id, name) SELECT md5('root' || r)::uuid, 'root ' || r FROM generate_series(1, 10) r;
INSERT INTO workspaces (id, name, parent_id) SELECT md5('child' || r || '/' || c)::uuid, 'child', md5('root' || r)::uuid
    FROM generate_series(1, 10) r, generate_series(1, 9) c;
INSERT INTO agent_memories (workspace_id, content, scope, created_at)
SELECT w.id, 'memory ' || i || ': the deploy of service ' || (i % 97) || ' goes through the release branch after review',
       CASE WHEN w.parent_id IS NULL THEN (ARRAY['LOCAL','TEAM','GLOBAL'])[1 + i % 3] ELSE (ARRAY['LOCAL','TEAM'])[1 + i % 2] END,
       timestamptz '2023-01-01' + i * interval '1 second'
FROM generate_series(1, $rows) i JOIN (SELECT id, parent_id, row_number() OVER (ORDER BY id) - 1 AS n FROM workspaces) w ON w.n = i % 100;
INSERT INTO workspace_memory (workspace_id, key, value, version, updated_at)
SELECT w.id, 'key-' || i, jsonb_build_object('step', i, 'owner', 'agent'), 1 + i % 5, timestamptz '2024-01-01' + i * interval '1 second'
FROM generate_series(1, $kv_rows) i JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM workspaces) w ON w.n = i % 100;
ANALYZE;
SQL
    ceiling=""
    if [ "${PG_LIMIT:-1}" != 0 ]; then
        # In a database of its own: its rows must not enlarge the plugin's table.
        psql -q "$admin" -c "DROP DATABASE IF EXISTS ${db}_ceiling" -c "CREATE DATABASE ${db}_ceiling"
        ceiling=$("$binary" bench pg-limit --dsn "$base/${db}_ceiling" --concurrency 8 --seconds 10 | python3 -c 'import json, sys; print(json.load(sys.stdin)["rows_per_sec"])')
        psql -q "$admin" -c "DROP DATABASE IF EXISTS ${db}_ceiling WITH (FORCE)"
    fi
    MEMORY_PLUGIN_DATABASE_URL="$url" MEMORY_PLUGIN_LISTEN_ADDR="127.0.0.1:$port" LOG_LEVEL=warn \
        "$binary" memory-plugin --config /dev/null & plugin=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
    start=$(date +%s.%N)
    DATABASE_URL="$url" MEMORY_PLUGIN_URL="http://127.0.0.1:$port" "$binary" backfill --apply --batch-size "$batch" --config /dev/null --quiet \
        | tail -1 > /tmp/backfill-bench.$$
    end=$(date +%s.%N)
    rss=$(awk '/VmHWM/ {print $2}' /proc/$plugin/status)
    again_start=$(date +%s.%N)
    DATABASE_URL="$url" MEMORY_PLUGIN_URL="http://127.0.0.1:$port" "$binary" backfill --apply --batch-size "$batch" --config /dev/null --quiet \
        | tail -1 > /tmp/backfill-bench-again.$$
    again_end=$(date +%s.%N)
    kill -TERM $plugin; wait $plugin || true
    total=$((rows + kv_rows))
    python3 - "$batch" "$total" "$start" "$end" "$again_start" "$again_end" "$rss" "$(cat /tmp/backfill-bench.$$)" "$(cat /tmp/backfill-bench-again.$$)" "$ceiling" <<'PY'
import sys
batch, total, start, end, again_start, again_end, rss, line, again, ceiling = sys.argv[1:]
seconds = float(end) - float(start); again_seconds = float(again_end) - float(again_start)
rate = int(total) / seconds
print(f"batch-size {batch}: {total} rows in {seconds:.2f} s = {rate:.0f} rows/s; re-run {again_seconds:.2f} s = {int(total) / again_seconds:.0f} rows/s; plugin peak RSS {int(rss) / 1024:.1f} MB")
if ceiling:
    print(f"  pg-limit (concurrency 8) just before: {ceiling} rows/s; first apply = {rate / int(ceiling):.2f}x pg-limit")
print(f"  first:  {line}\n  re-run: {again}")
PY
    rm -f /tmp/backfill-bench.$$ /tmp/backfill-bench-again.$$
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
done
