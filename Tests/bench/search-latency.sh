#!/usr/bin/env bash
# Plugin search and listing latency at concurrency 8 as a namespace grows (issue 3's second
# target: full-text search and recent-first listing p99 under 10 ms with 20,000 and with
# 100,000 rows), and the plugin's RSS after the run (target: under 40 MB).
# Starts its own scratch PostgreSQL (test settings, port 25499) and plugin, fills one
# namespace through the plugin's commit route, and runs `bench plugin --phases
# search,listing` after each fill, once the table has been analyzed (as autovacuum does
# on a live tenant). Needs root (PostgreSQL runs as the `postgres` account).
#
#   bash Tests/bench/search-latency.sh       # BIN, SECONDS_PER_RUN, SIZES (default "20000 100000")
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=$(readlink -f "${BIN:-.build/release/molecule-tenant}")
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
SIZES=${SIZES:-20000 100000}
PG_PORT=${BENCH_PG_PORT:-25499}
PLUGIN_PORT=${BENCH_PLUGIN_PORT:-25199}
NAMESPACE=custom:bench-search
STATE=$(mktemp -d /tmp/molecule-bench.XXXXXX)

say() { echo "search-latency: $*" >&2; }
[ -x "$BIN" ] || { say "no binary at $BIN (swift build -c release --static-swift-stdlib)"; exit 1; }
[ "$(id -u)" = 0 ] || { say "needs root (PostgreSQL runs as the postgres account)"; exit 1; }

. Tests/bench/scratch.sh
trap scratch_stop EXIT

scratch_start

bench() {
  "$BIN" bench plugin --url http://127.0.0.1:$PLUGIN_PORT --concurrency 8 --config /dev/null --namespace $NAMESPACE "$@"
}
rows=0
for size in $SIZES; do
  # The prefill splits its rows across the 8 workers; the phase after it only reads.
  bench --seconds 1 --prefill $(( size - rows )) --phases listing >/dev/null
  rows=$(psql "$dsn" -Atc "SELECT count(*) FROM memory_plugin.memory_records WHERE namespace = '$NAMESPACE'")
  psql "$dsn" -qc "VACUUM ANALYZE memory_plugin.memory_records"
  result=$(bench --seconds "$SECONDS_PER_RUN" --prefill 0 --phases search,listing)
  python3 - "$rows" "$result" "$(cat /proc/loadavg)" <<'PY'
import json, sys
rows, result, load = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3].split()
print(json.dumps({
    "rows_in_namespace": int(rows),
    "search_ms_p50": result["search_ms"]["p50"], "search_ms_p99": result["search_ms"]["p99"], "searches": result["search_ms"]["count"],
    "listing_ms_p50": result["listing_ms"]["p50"], "listing_ms_p99": result["listing_ms"]["p99"], "listings": result["listing_ms"]["count"],
    "errors": result["errors"], "load_average": " ".join(load[:3]),
}))
PY
done
echo "{\"plugin_rss_mb_after\": $(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/$plugin_pid/status), \"plugin_peak_rss_mb\": $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$plugin_pid/status)}"
