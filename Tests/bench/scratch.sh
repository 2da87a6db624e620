# Sourced by the plugin benchmarks: a scratch PostgreSQL cluster with the test servers'
# settings (Tests/services.sh) and a memory plugin on it. Expects STATE (a temporary
# directory), PG_PORT, PLUGIN_PORT and BIN; sets bindir, dsn and plugin_pid.
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
plugin_pid=

# Stops the plugin and the cluster and removes STATE; for the caller's EXIT trap.
scratch_stop() {
  [ -n "$plugin_pid" ] && kill "$plugin_pid" 2>/dev/null && wait "$plugin_pid" 2>/dev/null || true
  runuser -u postgres -- "$bindir/pg_ctl" -D "$STATE/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$STATE"
}

# scratch_start [EXTRA POSTGRES OPTIONS] [-- PLUGIN ENVIRONMENT ...]
scratch_start() {
  local options=() environment=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  environment=("$@")
  chown postgres: "$STATE"
  runuser -u postgres -- "$bindir/initdb" -D "$STATE/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$bindir/pg_ctl" -D "$STATE/pg" -l "$STATE/pg.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $STATE -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${options[*]}" start >/dev/null
  dsn=postgres://postgres@127.0.0.1:$PG_PORT/postgres
  env MEMORY_PLUGIN_DATABASE_URL=$dsn MEMORY_PLUGIN_LISTEN_ADDR=127.0.0.1:$PLUGIN_PORT LOG_LEVEL=warning "${environment[@]}" \
    "$BIN" memory-plugin --config /dev/null &
  plugin_pid=$!
  until curl -sf 127.0.0.1:$PLUGIN_PORT/v1/health >/dev/null; do sleep 0.05; done
}
