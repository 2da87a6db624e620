#!/usr/bin/env bash
# Starts (or stops) the PostgreSQL and Redis servers the test suite talks to, as plain
# processes on non-default loopback ports, so the defaults (5432, 6379) stay free for
# the fresh-host lab. PostgreSQL refuses to run as root: as root, both run as the
# `postgres` account the Debian package creates.
#
#   Tests/services.sh start   # prints the export lines for DATABASE_URL and REDIS_URL
#   Tests/services.sh stop
set -euo pipefail

STATE_DIR="${TEST_STATE_DIR:-/tmp/molecule-tenant-test}"
PG_PORT="${TEST_PG_PORT:-55432}"
REDIS_PORT="${TEST_REDIS_PORT:-56379}"

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$dir" ] || { echo "services.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "$dir"
}

as_service_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bindir
  bindir=$(pg_bindir)
  mkdir -p "$STATE_DIR"
  chmod 755 "$STATE_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$STATE_DIR"
  if [ ! -s "$STATE_DIR/pg/PG_VERSION" ]; then
    as_service_user "$bindir/initdb" -D "$STATE_DIR/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1 \
      || { cat "$STATE_DIR/initdb.log" >&2; exit 1; }
  fi
  if ! as_service_user "$bindir/pg_ctl" -D "$STATE_DIR/pg" status >/dev/null 2>&1; then
    # fsync off: test data is disposable and the suite runs faster; max_connections
    # leaves room for the pool tests and concurrent test databases.
    as_service_user "$bindir/pg_ctl" -D "$STATE_DIR/pg" -l "$STATE_DIR/pg.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $STATE_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
      start >/dev/null
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    as_service_user redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
      --dir "$STATE_DIR" --logfile "$STATE_DIR/redis.log" --pidfile "$STATE_DIR/redis.pid" --notify-keyspace-events KEA
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export TEST_PG_BINDIR=$bindir"
}

stop() {
  local bindir
  bindir=$(pg_bindir)
  if [ -d "$STATE_DIR/pg" ]; then
    as_service_user "$bindir/pg_ctl" -D "$STATE_DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
