#!/usr/bin/env bash
# Requests per second a tenant serves during `upgrade` against steady state, and the
# upgrade's wall time (docs/benchmarks.md). The host of Tests/release/upgrade.sh (no systemd,
# under a temporary MOLECULE_TENANT_ROOT): 1.0.0 serving, then `upgrade --bundle 1.0.1` and
# `upgrade --rollback` while `bench http` runs in one-second slices against the server's
# /health, keep-alive, CONCURRENCY workers. Prints one line per phase.
#
#   eval "$(bash Tests/services.sh start)"; bash Tests/bench/upgrade.sh   # BINARY, CONCURRENCY, STEADY_SECONDS
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$(realpath "${BINARY:-.build/release/molecule-tenant}")
concurrency=${CONCURRENCY:-4}
steady_seconds=${STEADY_SECONDS:-10}

say() { echo "upgrade-bench: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

name=upgrade_bench
versions=(1.0.0 1.0.1)
. Tests/release/lib/upgrade-host.sh

now() { date +%s.%N; }
slices() { # FILE: one-second `bench http` slices until $work/stop, each line "start end json"
  while [ ! -e "$work/stop" ]; do
    local began; began=$(now)
    local line; line=$("$binary" bench http --url "$server/health" --concurrency "$concurrency" --seconds 1 --keep-alive 2>/dev/null || true)
    echo "$began $(now) $line" >> "$1"
  done
}
# Slices that overlap [FROM, TO]: their mean and lowest requests/s and their failures.
summarise() { # FILE FROM TO
  awk -v from="$2" -v to="$3" '
    $2 >= from && $1 <= to {
      match($0, /"requests_per_second":[0-9.]+/); rps = substr($0, RSTART + 22, RLENGTH - 22) + 0
      match($0, /"failures":[0-9]+/); failures += substr($0, RSTART + 11, RLENGTH - 11)
      sum += rps; n++; if (n == 1 || rps < low) low = rps
    }
    END { if (n == 0) print "no slices"; else printf "%d slices, mean %.0f req/s, lowest %.0f req/s, %d failed\n", n, sum / n, low, failures }' "$1"
}

steady=$("$binary" bench http --url "$server/health" --concurrency "$concurrency" --seconds "$steady_seconds" --keep-alive)
say "steady state, $steady_seconds s: $steady"

phase() { # NAME ARGS...: slices around one `upgrade ARGS...`
  local label=$1; shift
  rm -f "$work/stop"
  slices "$work/$label.slices" & local loader=$!
  sleep 3
  local began ended; began=$(now)
  upgrade "$@" || { cat "$work/upgrade.out" >&2; fail "$label failed"; }
  ended=$(now)
  sleep 3
  touch "$work/stop"; wait "$loader"
  say "$label: $(awk -v a="$began" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s wall time; during it: $(summarise "$work/$label.slices" "$began" "$ended")"
}
phase "upgrade 1.0.0 -> 1.0.1" --bundle "$(bundle 1.0.1)"
phase "rollback 1.0.1 -> 1.0.0" --rollback
