#!/usr/bin/env bash
# A2A round trips through the server to a push-mode agent vs. the same calls sent straight
# to the agent, at the same concurrency. The agent is nginx answering a fixed JSON-RPC
# result (so the agent costs nearly nothing); the load is wrk. Needs: a release binary,
# Tests/services.sh's PostgreSQL and Redis, and the Debian packages wrk and nginx-light.
#   Tests/bench/a2a-overhead.sh [BINARY] [CONCURRENCY] [SECONDS]
set -euo pipefail
binary=${1:-.build/release/molecule-tenant}
concurrency=${2:-8}
seconds=${3:-10}
eval "$(bash Tests/services.sh start)" >/dev/null
work=$(mktemp -d)
agent_port=18190
server_port=18191
admin="bench-admin-$RANDOM$RANDOM"
database="mt_bench_a2a_$RANDOM"

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work;
    server {
        listen 127.0.0.1:$agent_port;
        location / {
            default_type application/json;
            return 200 '{"jsonrpc":"2.0","id":"1","result":{"kind":"message","role":"agent","parts":[{"kind":"text","text":"ok"}]}}';
        }
    }
}
CONF
nginx -c "$work/nginx.conf"

psql "$DATABASE_URL" -qc "CREATE DATABASE $database"
base=${DATABASE_URL%/*}
DATABASE_URL="$base/$database" PORT=$server_port BIND_ADDR=127.0.0.1 ADMIN_TOKEN=$admin RATE_LIMIT=0 \
  MEMORY_PLUGIN_REQUIRED=0 MEMORY_PLUGIN_BOOT_WAIT=0s LOG_LEVEL=warn "$binary" server --config /dev/null 2>"$work/server.log" &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true
  kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$server_port/health" >/dev/null && break; sleep 0.1; done

api() { curl -sf -X "$1" "http://127.0.0.1:$server_port$2" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
lead=$(api POST /workspaces '{"name":"lead"}' | json id)
member=$(api POST /workspaces "{\"name\":\"member\",\"parent_id\":\"$lead\"}" | json id)
curl -sf -X POST "http://127.0.0.1:$server_port/registry/register" -H 'Content-Type: application/json' \
  -d "{\"id\":\"$lead\",\"url\":\"http://localhost:$agent_port/\"}" >/dev/null
token=$(curl -sf -X POST "http://127.0.0.1:$server_port/registry/register" -H 'Content-Type: application/json' \
  -d "{\"id\":\"$member\",\"url\":\"\",\"delivery_mode\":\"poll\"}" | json auth_token)
# Enough slots that the benchmark measures delivery, not the queue.
psql "$base/$database" -qc "UPDATE public.workspaces SET max_concurrent_tasks = 1000 WHERE id = '$lead'"

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"role":"user","messageId":"m","parts":[{"kind":"text","text":"ping"}]}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["X-Workspace-ID"] = "$member"
LUA
echo "== straight to the agent (c=$concurrency, ${seconds}s)"
wrk -t2 -c"$concurrency" -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$agent_port/"
echo "== through the server (c=$concurrency, ${seconds}s)"
wrk -t2 -c"$concurrency" -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$server_port/workspaces/$lead/a2a"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
