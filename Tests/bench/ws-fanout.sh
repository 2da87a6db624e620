#!/usr/bin/env bash
# Events fan-out latency: one POST /workspaces/:id/notify to each of N operator
# WebSocket subscribers on GET /ws (p50/p99/max, see ws-fanout.py). Starts the given
# binary as a server against Tests/services.sh's PostgreSQL and Redis in a private database.
#   Tests/bench/ws-fanout.sh [BINARY] [SUBSCRIBERS] [ROUNDS]
set -euo pipefail
binary=${1:-.build/release/molecule-tenant}
subscribers=${2:-100}
rounds=${3:-50}
eval "$(bash Tests/services.sh start)" >/dev/null
work=$(mktemp -d)
server_port=18193
admin="bench-admin-$RANDOM$RANDOM"
database="mt_bench_ws_$RANDOM"

psql "$DATABASE_URL" -qc "CREATE DATABASE $database"
base=${DATABASE_URL%/*}
DATABASE_URL="$base/$database" PORT=$server_port BIND_ADDR=127.0.0.1 ADMIN_TOKEN=$admin RATE_LIMIT=0 \
  EVENTS_CHANNEL="events:bench-$RANDOM$RANDOM" MEMORY_PLUGIN_REQUIRED=0 MEMORY_PLUGIN_BOOT_WAIT=0s LOG_LEVEL=warn \
  "$binary" server --config /dev/null 2>"$work/server.log" &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$server_port/health" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
workspace=$(curl -sf -X POST "http://127.0.0.1:$server_port/workspaces" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -d '{"name":"talker"}' | json id)
token=$(curl -sf -X POST "http://127.0.0.1:$server_port/registry/register" -H 'Content-Type: application/json' \
  -d "{\"id\":\"$workspace\",\"url\":\"\",\"delivery_mode\":\"poll\"}" | json auth_token)
python3 Tests/bench/ws-fanout.py "$server_port" "$admin" "$workspace" "$token" "$subscribers" "$rounds"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
