#!/usr/bin/env bash
# `upgrade` end to end on the release build, without systemd: a host laid out under a
# temporary MOLECULE_TENANT_ROOT (releases, the symlink, tenant.env, trusted keys, pid files),
# the memory plugin and the server started from /usr/local/bin/molecule-tenant at 1.0.0 (a
# plain binary, as `install` leaves it: the first upgrade keeps it as a release and makes the
# path a symlink), and steady load through
# real routes (memory commits and searches through the server with a workspace token, server
# /health, plugin /v1/health; new connections and keep-alive) while:
#   1. `upgrade --bundle` (at a terminal: steps and in-place progress) moves to 1.0.1: zero
#      failed requests, both report 1.0.1, upgrades.json
#      records the success, `upgrade --check` goes from "available" (2) to "current" (0);
#   2. `upgrade --rollback --json` returns to 1.0.0: zero failed requests, NDJSON events;
#   3. a release that cannot start (stamped with the test-only build tag `+refuse-start`) fails
#      its gate: rolled back by itself, exit 1 with the reason (the last --json event "failed",
#      the run's log under var/log/molecule-tenant/), the old processes serve on with zero
#      failed requests, the version is rejected, and `upgrade --auto` does not retry it;
#   4. a release whose server alone cannot start (`+refuse-server-start`): the plugin is handed
#      over to it, then back to 1.0.0 once the server's gate fails, with zero failed requests.
#   5. `upgrade --channel beta` and `upgrade --to 1.0.1` succeed; rejected releases are pruned.
#
# Needs DATABASE_URL and REDIS_URL (Tests/services.sh) and BINARY (default: the release build).
# Tests/run.sh runs it after `swift test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$(realpath "${BINARY:-.build/release/molecule-tenant}")

say() { echo "upgrade: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

name=upgrade
versions=(1.0.0 1.0.1 1.0.2+refuse-start 1.0.3+refuse-server-start)
. Tests/release/lib/upgrade-host.sh

# --- Load: runs until $work/stop exists; every request that is not 2xx is a failure. -------
commits() { # NAME: one memory commit per new connection
  local i=0 code
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d "{\"content\": \"$1 note $i\", \"scope\": \"LOCAL\"}" \
      "$server/workspaces/$workspace/memories" 2>>"$work/$1.err") || true
    echo "$code" >> "$work/$1.codes"
  done
}
searches() { # NAME: memory searches, ten per keep-alive connection
  local urls=() _
  for _ in $(seq 1 10); do urls+=(-o /dev/null "$server/workspaces/$workspace/memories?q=note&limit=5"); done
  while [ ! -e "$work/stop" ]; do
    # A transfer that fails prints 000; curl goes on with the next URL.
    curl -sS -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $token" "${urls[@]}" >> "$work/$1.codes" 2>>"$work/$1.err" || true
  done
}
bench() { # NAME URL [--keep-alive]: `bench http` in 3-second slices
  while [ ! -e "$work/stop" ]; do
    "$binary" bench http --url "$2" --concurrency 2 --seconds 3 ${3:-} >> "$work/$1.json" 2>>"$work/$1.err" || true
  done
}
start_load() { # PHASE
  rm -f "$work/stop"
  loads=()
  commits "$1-commits" & loads+=($!)
  searches "$1-searches" & loads+=($!)
  bench "$1-server-health" "$server/health" & loads+=($!)
  bench "$1-plugin-health" "$plugin/v1/health" --keep-alive & loads+=($!)
  sleep 2
}
stop_load() { # PHASE: stops the load and fails on any failed request
  sleep 2
  touch "$work/stop"
  wait "${loads[@]}"
  loads=()
  local name total failed
  for name in commits searches; do
    total=$(wc -l < "$work/$1-$name.codes")
    failed=$(grep -cv '^20[01]$' "$work/$1-$name.codes" || true)
    say "$1 memory $name: $total requests, $failed failed"
    [ "$total" -gt 0 ] || fail "$1: no memory $name were sent"
    [ "$failed" = 0 ] || fail "$1: $failed memory $name failed: $(sort "$work/$1-$name.codes" | uniq -c | tr '\n' ' ') $(tail -n 3 "$work/$1-$name.err")"
  done
  for name in server-health plugin-health; do
    say "$1 $name: $(tr '\n' ' ' < "$work/$1-$name.json")"
    grep -q '"requests":[1-9]' "$work/$1-$name.json" || fail "$1: $name sent no requests"
    if grep -v '"failures":0,' "$work/$1-$name.json" | grep -q .; then fail "$1: $name had failed requests $(cat "$work/$1-$name.err")"; fi
  done
}

# --- 1. Upgrade under load. -------------------------------------------------------------------
publish 1.0.1
set +e; upgrade --check; status=$?; set -e
[ "$status" = 2 ] || fail "upgrade --check exited $status with 1.0.1 published on 1.0.0: $(cat "$work/upgrade.out")"
say "1.0.0 -> 1.0.1 under load"
start_load up
upgrade_on_tty --bundle "$(bundle 1.0.1)" || { cat "$work/upgrade.out" "$work/memory-plugin.log" >&2; fail "upgrade to 1.0.1 failed"; }
stop_load up
# At a terminal: "==> " steps, and the gate's progress drawn in place, each one cleared
# (carriage return, erase line) before the next step.
python3 - "$work/upgrade.out" <<'PY' || fail "upgrade at a terminal: $(cat -v "$work/upgrade.out")"
import sys
text = open(sys.argv[1], encoding="utf-8", newline="").read()
assert "==> now serving 1.0.1" in text, text
progress = text.count("\r\x1b[K    waiting for the ")
for piece in text.split("\r\x1b[K    ")[1:]:
    assert piece.startswith("waiting for the ") or piece.startswith("fetched "), piece
    assert "\n" not in piece.split("\r\x1b[K")[0], "a progress line was not cleared before the next line: %r" % piece
assert progress >= 2, "no progress while the gate waited (one per service at least): %r" % text
print("upgrade: at a terminal: %d progress updates drawn in place" % progress, file=sys.stderr)
PY
both_at 1.0.1
[ "$(readlink "$root/usr/local/bin/molecule-tenant")" = "$root/opt/molecule-tenant/releases/1.0.1/molecule-tenant" ] \
  || fail "the binary's path is not a symlink to 1.0.1"
cmp -s "$work/1.0.0/molecule-tenant" "$root/opt/molecule-tenant/releases/1.0.0/molecule-tenant" || fail "the installed 1.0.0 was not kept as a release"
last_entry | grep -q '"outcome":"succeeded"' && last_entry | grep -q '"to":"1.0.1"' || fail "upgrades.json does not record 1.0.1: $(last_entry)"
ledger | grep -q '"current":"1.0.1"' || fail "upgrades.json's current is not 1.0.1"
upgrade --check || fail "upgrade --check on 1.0.1 with 1.0.1 published: $(cat "$work/upgrade.out")"
found=$(curl -fsS -H "Authorization: Bearer $token" "$server/workspaces/$workspace/memories?q=up-commits&limit=5" | grep -c 'up-commits note' || true)
[ "$found" -gt 0 ] || fail "memories committed during the upgrade are not found by search"
say "ok: 1.0.1 serves, zero failed requests, upgrades.json records it"

# --- 2. Rollback under load. ------------------------------------------------------------------
say "rollback 1.0.1 -> 1.0.0 under load"
start_load back
upgrade --rollback --json || { cat "$work/upgrade.out" >&2; fail "upgrade --rollback failed"; }
stop_load back
# --json: every line on stdout an event object, from "rollback" to "done" at 1.0.0.
python3 - "$work/upgrade.out" <<'PY' || fail "upgrade --rollback --json did not print NDJSON events: $(cat "$work/upgrade.out")"
import json, sys
events = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith('{"event"'):
        continue
    event = json.loads(line)
    assert isinstance(event["message"], str) and event["message"], line
    events.append(event)
names = [e["event"] for e in events]
assert names and names[0] == "rollback" and names[-1] == "done", names
assert events[-1].get("version") == "1.0.0", events[-1]
PY
both_at 1.0.0
last_entry | grep -q '"reason":"rollback"' || fail "upgrades.json does not record the rollback: $(last_entry)"
say "ok: back on 1.0.0, zero failed requests"

# Under load, `upgrade --bundle VERSION --json` expected to fail: sets status, and plugin_pid
# and server_pid to the processes serving before it.
upgrade_expecting_failure() { # PHASE VERSION
  plugin_pid=$(cat "$run/memory-plugin.pid")
  server_pid=$(cat "$run/server.pid")
  start_load "$1"
  set +e; upgrade --bundle "$(bundle "$2")" --json; status=$?; set -e
  stop_load "$1"
}

# --- 3. A release that never becomes healthy. -------------------------------------------------
say "1.0.0 -> 1.0.2+refuse-start under load: rolled back by itself"
upgrade_expecting_failure bad 1.0.2+refuse-start
say "upgrade said: $(tail -n 2 "$work/upgrade.out" | tr '\n' ' ')"
[ "$status" = 1 ] || fail "the failed upgrade exited $status, not 1: $(cat "$work/upgrade.out")"
grep -q "rolled back to 1.0.0" "$work/upgrade.out" || fail "the failed upgrade does not say it rolled back"
grep -q "exited with status 1" "$work/upgrade.out" || fail "the failed upgrade does not give the reason"
# --json: the last event says it failed, why, and that it rolled back.
grep '^{"event"' "$work/upgrade.out" | tail -n 1 | python3 -c '
import json, sys
event = json.loads(sys.stdin.read())
assert event["event"] == "failed" and event["rolled_back"] is True and "exited with status 1" in event["message"], event
' || fail "the failed upgrade's last NDJSON event is not a failed, rolled-back one: $(cat "$work/upgrade.out")"
# A run by hand leaves its log under /var/log/molecule-tenant/, named in the error line.
log=$(ls -t "$root"/var/log/molecule-tenant/upgrade-*.log 2>/dev/null | head -n 1)
[ -n "$log" ] && grep -q "failed (rolled back): .*exited with status 1" "$log" && grep -q "^.* handover: " "$log" \
  || fail "the failed upgrade's log is missing or incomplete: ${log:-none} $(cat "$log" 2>/dev/null)"
grep -q "(log: /var/log/molecule-tenant/upgrade-" "$work/upgrade.out" || fail "the error line does not name the log: $(tail -n 1 "$work/upgrade.out")"
both_at 1.0.0
[ "$(cat "$run/memory-plugin.pid")" = "$plugin_pid" ] && [ "$(cat "$run/server.pid")" = "$server_pid" ] \
  || fail "the old processes were replaced"
[ "$(basename "$(dirname "$(readlink "$root/usr/local/bin/molecule-tenant")")")" = 1.0.0 ] || fail "the symlink does not name 1.0.0"
ledger | grep -q '"rejected":\["1.0.2+refuse-start"\]' || fail "1.0.2+refuse-start is not rejected: $(ledger)"
last_entry | grep -q '"outcome":"rolled_back"' || fail "upgrades.json does not record the rollback: $(last_entry)"
say "ok: rolled back by itself, zero failed requests, version rejected"

publish 1.0.2+refuse-start
history() { ledger | sed 's/,"last_auto_update":{[^{}]*}//'; }
before=$(history)
upgrade --auto || fail "upgrade --auto with a rejected release published: $(cat "$work/upgrade.out")"
grep -q "not trying it again" "$work/upgrade.out" || fail "upgrade --auto did not say it skips the rejected release: $(cat "$work/upgrade.out")"
[ "$(history)" = "$before" ] || fail "upgrade --auto recorded an upgrade while skipping: $(ledger)"
ledger | grep -q '"last_auto_update":{[^{}]*"outcome":"skipped"' || fail "upgrades.json does not record the skipped auto run: $(ledger)"
[ "$(cat "$run/memory-plugin.pid")" = "$plugin_pid" ] || fail "upgrade --auto touched the plugin"
say "ok: upgrade --auto does not retry the rejected release"

# --- 4. A release whose plugin takes over before its server fails. ----------------------------
say "1.0.0 -> 1.0.3+refuse-server-start under load: the plugin moves, the server fails, the plugin moves back"
upgrade_expecting_failure half 1.0.3+refuse-server-start
[ "$status" = 1 ] || fail "the half-failed upgrade exited $status, not 1: $(cat "$work/upgrade.out")"
# The NDJSON tells the story: the plugin serves the new release, the server refuses it, the
# plugin is handed back and serves 1.0.0 again, and the run ends failed and rolled back.
python3 - "$work/upgrade.out" <<'PY' || fail "the half-failed upgrade's events: $(cat "$work/upgrade.out")"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{"event"')]
steps = [(e["event"], e.get("service"), e.get("version")) for e in events]
new = "1.0.3+refuse-server-start"
def at(step):
    assert step in steps, (step, steps)
    return steps.index(step)
took_over = at(("healthy", "memory-plugin", new))
refused = at(("rollback", None, "1.0.0"))
handed_back = at(("healthy", "memory-plugin", "1.0.0"))
assert took_over < refused < handed_back, steps
assert ("healthy", "server", new) not in steps, steps
assert events[-1]["event"] == "failed" and events[-1]["rolled_back"] is True, events[-1]
PY
both_at 1.0.0
[ "$(cat "$run/memory-plugin.pid")" != "$plugin_pid" ] || fail "the plugin was never handed over"
[ "$(cat "$run/server.pid")" = "$server_pid" ] || fail "the server that refused its successor was replaced"
[ "$(basename "$(dirname "$(readlink "$root/usr/local/bin/molecule-tenant")")")" = 1.0.0 ] || fail "the symlink does not name 1.0.0"
ledger | grep -q '"rejected":\[[^]]*"1.0.3+refuse-server-start"' || fail "1.0.3+refuse-server-start is not rejected: $(ledger)"
say "ok: the plugin went to the new release and back, zero failed requests, version rejected"

# --- 5. --channel and --to, by hand. ----------------------------------------------------------
printf '{"version": "1.0.1", "url": "%s"}\n' "$(basename "$(bundle 1.0.1)")" > "$work/dist/channels/beta.json"
upgrade --channel beta || fail "upgrade --channel beta: $(cat "$work/upgrade.out")"
both_at 1.0.1
upgrade --rollback || fail "upgrade --rollback to 1.0.0: $(cat "$work/upgrade.out")"
both_at 1.0.0
upgrade --to 1.0.1 || fail "upgrade --to 1.0.1: $(cat "$work/upgrade.out")"
both_at 1.0.1
# The rejected releases left unpacked by their preflight are gone; 1.0.0 stays to roll back to.
[ ! -e "$root/opt/molecule-tenant/releases/1.0.2+refuse-start" ] && [ ! -e "$root/opt/molecule-tenant/releases/1.0.3+refuse-server-start" ] \
  || fail "rejected releases are still kept: $(ls "$root/opt/molecule-tenant/releases")"
[ -x "$root/opt/molecule-tenant/releases/1.0.0/molecule-tenant" ] || fail "1.0.0 was not kept for rollback: $(ls "$root/opt/molecule-tenant/releases")"
say "ok: --channel beta and --to 1.0.1 upgrade, rejected releases pruned"
say "passed"
