#!/usr/bin/env bash
# Zero-downtime socket handover, on the release build (NIO asserts in debug builds when two
# processes share a listening socket). Starts the memory plugin and the server from a
# symlinked binary stamped 1.0.0, keeps both under load (a new connection per request, and
# keep-alive), points the symlink at a copy stamped 1.0.1, sends SIGUSR2, and requires zero
# failed requests, the new version in /buildinfo and the old processes gone. Then a successor
# that cannot start is refused: the old process keeps serving, again with zero failures.
#
# Needs DATABASE_URL and REDIS_URL (Tests/services.sh) and BINARY (default: the release build).
# Tests/run.sh runs it after `swift test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${BINARY:-.build/release/molecule-tenant}
: "${DATABASE_URL:?start Tests/services.sh and export what it prints}"
: "${REDIS_URL:?start Tests/services.sh and export what it prints}"

say() { echo "handover: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

work=$(mktemp -d)
database="mt_handover_$$"
pids=()
cleanup() {
  for pid in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }
wait_for() { # URL: until it answers 200, up to 60 s
  for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
version_at() { curl -fsS "$1" | grep -o '"version":"[^"]*"' | head -n1 | cut -d'"' -f4; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]; }
wait_gone() { for _ in $(seq 1 600); do gone "$1" && return 0; sleep 0.1; done; return 1; }
wait_new_pid() { # FILE OLD: until the pid file names another process, up to 120 s
  for _ in $(seq 1 1200); do
    local now; now=$(cat "$1" 2>/dev/null || true)
    [ -n "$now" ] && [ "$now" != "$2" ] && { echo "$now"; return 0; }
    sleep 0.1
  done
  return 1
}

# Two stamped copies of one build, as releases 1.0.0 and 1.0.1 would be.
openssl genpkey -algorithm ed25519 -out "$work/key.pem" 2>/dev/null
mkdir -p "$work/dist" "$work/bin" "$work/1.0.0" "$work/1.0.1"
for version in 1.0.0 1.0.1; do
  "$binary" release bundle --binary "$binary" --key "$work/key.pem" --out "$work/dist" --version "$version" --quiet
  tar -xzf "$work/dist/molecule-tenant-$version-linux-"*.tar.gz -C "$work/$version"
done
ln -sfn "$work/1.0.0/molecule-tenant" "$work/bin/molecule-tenant"

psql -q "$DATABASE_URL" -c "CREATE DATABASE $database" >/dev/null
db_url="${DATABASE_URL%/*}/$database"
plugin_port=$(free_port)
server_port=$(free_port)
common=(env LOG_FORMAT=json DATABASE_URL="$db_url" REDIS_URL="$REDIS_URL" MOLECULE_HANDOVER_TIMEOUT_SECONDS=20)

"${common[@]}" MEMORY_PLUGIN_LISTEN_ADDR="127.0.0.1:$plugin_port" MOLECULE_PID_FILE="$work/plugin.pid" \
  "$work/bin/molecule-tenant" memory-plugin --config /dev/null >>"$work/plugin.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$plugin_port/v1/health" || { cat "$work/plugin.log"; fail "the plugin did not start"; }
"${common[@]}" PORT="$server_port" BIND_ADDR=127.0.0.1 MEMORY_PLUGIN_URL="http://127.0.0.1:$plugin_port" RATE_LIMIT=0 \
  MOLECULE_PID_FILE="$work/server.pid" "$work/bin/molecule-tenant" server --config /dev/null >>"$work/server.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$server_port/health" || { cat "$work/server.log"; fail "the server did not start"; }
[ "$(version_at "http://127.0.0.1:$server_port/buildinfo")" = 1.0.0 ] || fail "the server does not report 1.0.0"

load() { # NAME URL [--keep-alive]
  "$binary" bench http --url "$2" --concurrency 4 --seconds "$seconds" ${3:-} >"$work/$1.json" 2>"$work/$1.err" || true
}
check_load() {
  local name=$1 line; line=$(cat "$work/$name.json")
  say "$name: $line"
  echo "$line" | grep -q '"failures":0,' || fail "$name had failed requests: $line $(cat "$work/$name.err")"
  echo "$line" | grep -q '"requests":0,' && fail "$name sent no requests"
  return 0
}
hand_over() { # NAME: SIGUSR2 to its process; prints the successor's pid
  local old; old=$(cat "$work/$1.pid")
  kill -USR2 "$old"
  local new; new=$(wait_new_pid "$work/$1.pid" "$old") || { cat "$work/$1.log" >&2; fail "$1 did not hand over"; }
  wait_gone "$old" || fail "the old $1 ($old) did not exit after handing over"
  echo "$new"
}

say "upgrade under load: 1.0.0 -> 1.0.1"
seconds=14
load server-new-connections "http://127.0.0.1:$server_port/health" & loads=($!)
load server-keep-alive "http://127.0.0.1:$server_port/health" --keep-alive & loads+=($!)
load plugin-new-connections "http://127.0.0.1:$plugin_port/v1/health" & loads+=($!)
load plugin-keep-alive "http://127.0.0.1:$plugin_port/v1/health" --keep-alive & loads+=($!)
sleep 3
ln -sfn "$work/1.0.1/molecule-tenant" "$work/bin/molecule-tenant"
plugin_pid=$(hand_over plugin)
server_pid=$(hand_over server)
wait "${loads[@]}"
for name in server-new-connections server-keep-alive plugin-new-connections plugin-keep-alive; do check_load "$name"; done
[ "$(version_at "http://127.0.0.1:$server_port/buildinfo")" = 1.0.1 ] || fail "the server does not report 1.0.1"
[ "$(version_at "http://127.0.0.1:$plugin_port/v1/health")" = 1.0.1 ] || fail "the plugin does not report 1.0.1"
say "ok: both serve 1.0.1 (plugin pid $plugin_pid, server pid $server_pid), zero failed requests"

say "a successor that cannot start is refused and the old process serves on"
seconds=6
printf '#!/bin/sh\necho "refusing to start" >&2\nexit 1\n' > "$work/broken"
chmod +x "$work/broken"
ln -sfn "$work/broken" "$work/bin/molecule-tenant"
load server-refused "http://127.0.0.1:$server_port/health" & loads=($!)
sleep 1
kill -USR2 "$server_pid"
wait "${loads[@]}"
check_load server-refused
[ "$(cat "$work/server.pid")" = "$server_pid" ] || fail "the server's pid changed after a failed handover"
kill -0 "$server_pid" || fail "the server exited after a failed handover"
grep -q "did not become ready" "$work/server.log" || fail "the server did not log the refused successor"
[ "$(version_at "http://127.0.0.1:$server_port/buildinfo")" = 1.0.1 ] || fail "the server does not report 1.0.1 any more"
say "ok: refused successor, 1.0.1 still serving, zero failed requests"

kill -TERM "$server_pid" "$plugin_pid"
wait_gone "$server_pid" && wait_gone "$plugin_pid" || fail "SIGTERM did not stop the processes"
say "passed"
