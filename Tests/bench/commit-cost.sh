#!/usr/bin/env bash
# Plugin commits against `bench pg-limit`, measured two ways in one run:
#   - throughput (rows/s) at each concurrency, as DESIGN section 9 states the target;
#   - CPU time per committed row of everything involved (load client, plugin, PostgreSQL
#     backends), read from a cpuacct cgroup of their own. CPU per row hardly depends on
#     what else the machine is doing, so the cpu ratio stays meaningful on a busy host,
#     where the throughput ratio does not. The cgroup also gets a high cpu.shares, so
#     other load on the machine takes less from the measured processes.
# Starts its own PostgreSQL (a scratch cluster on port 25498, below the ephemeral range) and plugin; needs root
# (cgroups; PostgreSQL runs as the `postgres` account) and cgroup v1 cpu/cpuacct.
#
#   bash Tests/bench/commit-cost.sh            # BIN, SECONDS_PER_RUN, CONCURRENCY, PLUGIN_POOL
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=$(readlink -f "${BIN:-.build/release/molecule-tenant}")
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONCURRENCY=${CONCURRENCY:-8 32}
PG_PORT=${BENCH_PG_PORT:-25498}
PLUGIN_PORT=${BENCH_PLUGIN_PORT:-25198}
CG=/sys/fs/cgroup
NAME=molecule-bench-$$
STATE=$(mktemp -d /tmp/molecule-bench.XXXXXX)

say() { echo "commit-cost: $*" >&2; }
[ -x "$BIN" ] || { say "no binary at $BIN (swift build -c release --static-swift-stdlib)"; exit 1; }
[ "$(id -u)" = 0 ] || { say "needs root (cgroups, and PostgreSQL as the postgres account)"; exit 1; }
[ -d $CG/cpuacct ] || { say "needs cgroup v1 cpuacct at $CG/cpuacct"; exit 1; }

. Tests/bench/scratch.sh
cleanup() {
  scratch_stop
  for c in cpu cpuacct; do
    echo $$ > $CG/$c/cgroup.procs 2>/dev/null || true
    rmdir $CG/$c/$NAME 2>/dev/null || true
  done
}
trap cleanup EXIT

for c in cpu cpuacct; do mkdir -p $CG/$c/$NAME; echo $$ > $CG/$c/$NAME/cgroup.procs; done
echo 16384 > $CG/cpu/$NAME/cpu.shares
usage() { cat $CG/cpuacct/$NAME/cpuacct.usage; }

# The settings of the test servers (Tests/services.sh), and autovacuum off: vacuuming the
# rows one run wrote would land in the next run's CPU figures.
scratch_start -c max_connections=200 -c autovacuum=off -- ${PLUGIN_POOL:+MEMORY_PLUGIN_DB_POOL=$PLUGIN_POOL}

# utime + stime of one process, in nanoseconds.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1000000000 / hz }' "/proc/$1/stat"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }

for c in $CONCURRENCY; do
  before=$(usage)
  limit=$("$BIN" bench pg-limit --dsn "$dsn" --concurrency "$c" --seconds "$SECONDS_PER_RUN" --keep --config /dev/null)
  limit_cpu=$(( $(usage) - before ))
  before=$(usage)
  plugin_before=$(proc_cpu "$plugin_pid")
  # The plugin's pooled connections stay open, so their backends can be measured too.
  "$BIN" bench plugin --url http://127.0.0.1:$PLUGIN_PORT --concurrency "$c" --seconds 1 --prefill 0 --phases commit --config /dev/null >/dev/null
  backends=$(psql "$dsn" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'molecule-tenant%' AND pid <> pg_backend_pid()")
  backends_before=0; for pid in $backends; do backends_before=$(( backends_before + $(proc_cpu "$pid") )); done
  before=$(usage)
  plugin_before=$(proc_cpu "$plugin_pid")
  plugin=$("$BIN" bench plugin --url http://127.0.0.1:$PLUGIN_PORT --concurrency "$c" --seconds "$SECONDS_PER_RUN" \
    --prefill 0 --phases commit --config /dev/null)
  plugin_cpu=$(( $(usage) - before ))
  plugin_own=$(( $(proc_cpu "$plugin_pid") - plugin_before ))
  backends_after=0; for pid in $backends; do backends_after=$(( backends_after + $(proc_cpu "$pid") )); done
  limit_rows=$(field "$limit" rows)
  limit_rate=$(field "$limit" rows_per_sec)
  plugin_rows=$(field "$plugin" "commit_ms['count']")
  plugin_rate=$(field "$plugin" commits_per_sec)
  python3 - "$c" "$limit_rate" "$plugin_rate" "$limit_cpu" "$limit_rows" "$plugin_cpu" "$plugin_rows" "$(field "$plugin" "commit_ms['p50']")" "$(field "$plugin" "commit_ms['p99']")" "$plugin_own" "$(( backends_after - backends_before ))" <<'PY'
import json, sys
c, limit_rate, plugin_rate, limit_cpu, limit_rows, plugin_cpu, plugin_rows, p50, p99, plugin_own, backends = sys.argv[1:]
limit_us = int(limit_cpu) / 1000 / max(1, int(limit_rows))
plugin_us = int(plugin_cpu) / 1000 / max(1, int(plugin_rows))
print(json.dumps({
    "concurrency": int(c),
    "pg_limit_rows_per_sec": float(limit_rate), "plugin_commits_per_sec": float(plugin_rate),
    "throughput_ratio": round(float(plugin_rate) / max(1.0, float(limit_rate)), 2),
    "pg_limit_cpu_us_per_row": round(limit_us, 1), "plugin_cpu_us_per_commit": round(plugin_us, 1),
    "cpu_ratio": round(limit_us / plugin_us, 2) if plugin_us else None,
    "plugin_process_cpu_us_per_commit": round(int(plugin_own) / 1000 / max(1, int(plugin_rows)), 1),
    "plugin_backends_cpu_us_per_commit": round(int(backends) / 1000 / max(1, int(plugin_rows)), 1),
    "plugin_commit_ms_p50": float(p50), "plugin_commit_ms_p99": float(p99),
}))
PY
done
