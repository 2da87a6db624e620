# Sourced by Tests/release/upgrade.sh and Tests/bench/upgrade.sh: a tenant host under a
# temporary MOLECULE_TENANT_ROOT, without systemd. Before sourcing, set `binary` (the release
# build), `name` (for the database), `versions` (the bundles to make; the first is installed
# as a plain binary at /usr/local/bin/molecule-tenant, as `install` leaves it), and define
# `say` and `fail`. Afterwards the plugin and the server serve that first version, and
# `$workspace`/`$token` are a workspace and its bearer token; `upgrade ARGS...` runs the
# command as an operator would (output in $work/upgrade.out). Removes everything on exit.
: "${DATABASE_URL:?start Tests/services.sh and export what it prints}"
: "${REDIS_URL:?start Tests/services.sh and export what it prints}"

work=$(mktemp -d)
root="$work/host"
run="$root/run/molecule-tenant"
database="mt_${name}_$$"
loads=()
cleanup() {
  touch "$work/stop"
  for pid in "${loads[@]}"; do kill "$pid" 2>/dev/null || true; done
  for file in "$run"/*.pid; do [ -f "$file" ] && kill -9 "$(cat "$file")" 2>/dev/null || true; done
  # Successors a failed step may have left (children of the processes above).
  for pid in $(pgrep -f "^$root/usr/local/bin/molecule-tenant " 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }
wait_for() { # URL: until it answers 200, up to 120 s
  for _ in $(seq 1 1200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
version_at() { curl -fsS "$1" | grep -o '"version":"[^"]*"' | head -n1 | cut -d'"' -f4; }
both_at() { # VERSION
  [ "$(version_at "$server/buildinfo")" = "$1" ] || fail "the server does not report $1 ($(curl -sS "$server/buildinfo"))"
  [ "$(version_at "$plugin/v1/health")" = "$1" ] || fail "the plugin does not report $1 ($(curl -sS "$plugin/v1/health"))"
}
ledger() { tr -d ' \n' < "$root/var/lib/molecule-tenant/upgrades.json"; }
last_entry() { ledger | grep -o '{[^{}]*}' | tail -n1; }
upgrade() { # ARGS...: runs `upgrade` as the host's operator would; output in $work/upgrade.out
  env MOLECULE_TENANT_ROOT="$root" "$root/usr/local/bin/molecule-tenant" upgrade --gate-timeout 120 "$@" >"$work/upgrade.out" 2>&1
}
upgrade_on_tty() { # ARGS...: the same at a terminal (script(1) gives it a pty); output in $work/upgrade.out
  local command
  printf -v command '%q ' env MOLECULE_TENANT_ROOT="$root" "$root/usr/local/bin/molecule-tenant" upgrade --gate-timeout 120 "$@"
  script -qec "$command" /dev/null >"$work/upgrade.out" 2>&1 </dev/null
}

# --- The host: the first version installed and serving, every version bundled. ------------
openssl genpkey -algorithm ed25519 -out "$work/release.pem" 2>/dev/null
first=${versions[0]}
mkdir -p "$root/etc/molecule-tenant/trusted-keys" "$root/usr/local/bin" "$root/var/log" "$run" "$work/dist/channels" "$work/$first"
openssl pkey -in "$work/release.pem" -pubout > "$root/etc/molecule-tenant/trusted-keys/test-release.pem"
for version in "${versions[@]}"; do
  "$binary" release bundle --binary "$binary" --key "$work/release.pem" --out "$work/dist" --version "$version" --quiet
done
bundle() { echo "$work/dist/molecule-tenant-$1-linux-"*.tar.gz; }
publish() { # VERSION: the stable channel now names it
  printf '{"version": "%s", "url": "%s"}\n' "$1" "$(basename "$(bundle "$1")")" > "$work/dist/channels/stable.json"
}
tar -xzf "$(bundle "$first")" -C "$work/$first"
install -m 0755 "$work/$first/molecule-tenant" "$root/usr/local/bin/molecule-tenant"

psql -q "$DATABASE_URL" -c "CREATE DATABASE $database" >/dev/null
plugin_port=$(free_port)
server_port=$(free_port)
plugin="http://127.0.0.1:$plugin_port"
server="http://127.0.0.1:$server_port"
admin_token="upgrade-test-admin-$$"
cat > "$root/etc/molecule-tenant/tenant.env" <<EOF
DATABASE_URL=${DATABASE_URL%/*}/$database
REDIS_URL=$REDIS_URL
MEMORY_PLUGIN_LISTEN_ADDR=127.0.0.1:$plugin_port
MEMORY_PLUGIN_URL=$plugin
PORT=$server_port
BIND_ADDR=127.0.0.1
RATE_LIMIT=0
LOG_FORMAT=json
MOLECULE_RELEASE_URL=file://$work/dist
EOF
printf 'ADMIN_TOKEN=%s\n' "$admin_token" > "$root/etc/molecule-tenant/secrets.env"

# What the units do: the config files as environment, the symlink as the command.
start() { # SERVICE COMMAND
  (set -a; . "$root/etc/molecule-tenant/tenant.env"; . "$root/etc/molecule-tenant/secrets.env"; set +a
   export MOLECULE_PID_FILE="$run/$1.pid" MOLECULE_HANDOVER_TIMEOUT_SECONDS=60
   exec "$root/usr/local/bin/molecule-tenant" "$2" --config /dev/null) >>"$work/$1.log" 2>&1 &
}
start memory-plugin memory-plugin
wait_for "$plugin/v1/health" || { cat "$work/memory-plugin.log"; fail "the plugin did not start"; }
start server server
wait_for "$server/health" || { cat "$work/server.log"; fail "the server did not start"; }
both_at "$first"

workspace=$(curl -fsS -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"name": "upgrade-test"}' "$server/workspaces" | grep -o '"id":"[^"]*"' | head -n1 | cut -d'"' -f4)
[ -n "$workspace" ] || fail "could not create a workspace"
token=$(curl -fsS -X POST -H "Authorization: Bearer $admin_token" "$server/admin/workspaces/$workspace/tokens" \
  | grep -o '"auth_token":"[^"]*"' | cut -d'"' -f4)
[ -n "$token" ] || fail "could not mint a workspace token"

