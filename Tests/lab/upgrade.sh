#!/usr/bin/env bash
# Issue 9's fresh-host scenario: upgrades of an installed tenant on Debian 13 under real
# systemd (the lab, lab.sh), from a loopback release server, with client load running:
#   1. a release server (python3 http.server on loopback) holds bundles stamped 1.0.0, 1.0.1,
#      1.0.2+refuse-start and 1.0.3, signed by a test key the lab trusts
#      (/etc/molecule-tenant/trusted-keys/);
#   2. installer/install.sh --bundle refuses a tampered bundle, then install.sh --release-url
#      installs 1.0.0 from the release server's stable channel (download, sha256, signature),
#      registered with the stub platform, which hands it MOLECULE_RELEASE_URL;
#   3. under load (server /health, memory commits and searches through the server with a
#      workspace token, plugin /v1/health): `upgrade --check` exits 2, `upgrade` follows the
#      channel to 1.0.1 with zero failed requests; /buildinfo and `status --json` say 1.0.1;
#   4. 1.0.2+refuse-start (the test-only build tag that makes the services exit at start) is
#      rolled back by itself: exit 1, zero failed requests, still 1.0.1; the timer's service
#      does not retry it (upgrades.json, the journal);
#   5. `upgrade --rollback` returns to 1.0.0 with zero failed requests;
#   6. a tampered bundle and one signed by an unknown key are refused before anything
#      changes (symlink, version, processes);
#   7. the stub platform sets target_version 1.0.1: the timer's service upgrades, and the stub
#      receives the status report {version, health, last_upgrade};
#   8. 1.0.3 requires LAB_FEATURE_KEY: refused naming it; once the stub sends it with
#      target_version 1.0.3, the timer's run syncs it (no restart) and upgrades: the new
#      processes start with it, and nobody ran `config sync` on the host.
# Each upgrade's wall time and the requests per second served during it and before it
# (steady state) are printed, and written to LAB_UPGRADE_FIGURES when set.
#
# Needs root, the static release binary (MOLECULE_TENANT_RELEASE_BINARY, default
# .build/release/molecule-tenant), curl, python3 and openssl on the host, and ports 8080,
# 9100, 5432, 6379 (the lab's) and 18990, 18991 (release server, stub platform) free on
# loopback. Never while another lab uses those ports: `flock /tmp/lab.lock bash Tests/lab/upgrade.sh`.
# LAB_KEEP=1 keeps the lab.
set -euo pipefail
cd "$(dirname "$0")/../.."

BINARY=${MOLECULE_TENANT_RELEASE_BINARY:-.build/release/molecule-tenant}
NAME=${LAB_UPGRADE_NAME:-upgrade}
RELEASE_PORT=${LAB_RELEASE_PORT:-18990}
STUB_PORT=${LAB_UPGRADE_STUB_PORT:-18991}
LAB=Tests/lab/lab.sh
ORG=org-lab-upgrade
RELEASE_URL=http://127.0.0.1:$RELEASE_PORT
SERVER=http://127.0.0.1:8080
PLUGIN=http://127.0.0.1:9100
# The load client's threads per kind of request (four kinds).
CONCURRENCY=${LAB_UPGRADE_CONCURRENCY:-2}

say() { echo "upgrade lab: $*" >&2; }
fail() { echo "upgrade lab: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
in_lab() { bash "$LAB" exec "$NAME" -- "$@"; }
json_field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

[[ $(id -u) -eq 0 ]] || fail "needs root"
missing=()
for tool in curl python3 openssl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || fail "cannot install ${missing[*]}"
fi
[[ -x $BINARY ]] || fail "$BINARY does not exist: swift build -c release --static-swift-stdlib --product molecule-tenant"
for port in 8080 9100 5432 6379 "$RELEASE_PORT" "$STUB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port on 127.0.0.1 is in use; the lab shares the host network"; fi
done

started=$(now)
work=$(mktemp -d /tmp/upgrade-lab.XXXXXX)
SERVER_PID="" STUB_PID="" LOAD_PID=""
cleanup() {
  touch "$work/stop"
  for pid in $LOAD_PID $SERVER_PID $STUB_PID; do kill "$pid" 2>/dev/null || true; done
  [[ ${LAB_KEEP:-0} == 1 ]] || bash "$LAB" down "$NAME" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------ 1. releases
openssl genpkey -algorithm ed25519 -out "$work/release.pem" 2>/dev/null
openssl pkey -in "$work/release.pem" -pubout >"$work/release.pub.pem"
openssl genpkey -algorithm ed25519 -out "$work/unknown.pem" 2>/dev/null
mkdir -p "$work/dist/channels" "$work/other"
make_bundle() { # VERSION OUT KEY [release bundle options...]
  local version=$1 out=$2 key=$3
  shift 3
  "$BINARY" release bundle --binary "$BINARY" --key "$key" --out "$out" --version "$version" --quiet "$@" \
    || fail "release bundle --version $version failed"
}
for version in 1.0.0 1.0.1 1.0.2+refuse-start; do make_bundle "$version" "$work/dist" "$work/release.pem"; done
make_bundle 1.0.3 "$work/dist" "$work/release.pem" --require-config LAB_FEATURE_KEY
make_bundle 1.0.4 "$work/other" "$work/release.pem"
make_bundle 1.0.5 "$work/other" "$work/unknown.pem"
bundle() { echo "$1/molecule-tenant-$2-linux-"*.tar.gz; }
# The tampered bundle: one byte changed, the original signature kept beside it.
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//3] ^= 0x40; open(p,"wb").write(b)' "$(bundle "$work/other" 1.0.4)"
publish() { # VERSION: channels/stable.json names it
  local file
  file=$(bundle "$work/dist" "$1")
  printf '{"version": "%s", "url": "%s", "sha256": "%s"}\n' "$1" "$(basename "$file")" "$(sha256sum "$file" | cut -d' ' -f1)" \
    >"$work/dist/channels/stable.json"
}
publish 1.0.0
python3 -m http.server "$RELEASE_PORT" --bind 127.0.0.1 --directory "$work/dist" >"$work/release-server.log" 2>&1 &
SERVER_PID=$!

REG_TOKEN=reg-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf '%s\n' "$REG_TOKEN" >"$work/registration-token"
python3 Tests/lab/stub_platform.py "$STUB_PORT" "$work/registration-token" "$ORG" >"$work/stub.log" 2>&1 &
STUB_PID=$!
stub_config() { # JSON: what the stub's config replies carry from now on
  curl -fsS -X POST -d "$1" "http://127.0.0.1:$STUB_PORT/_stub/config" >/dev/null || fail "the stub platform refused $1"
}
stub_state() { curl -fsS "http://127.0.0.1:$STUB_PORT/_stub/state"; }
last_report() { stub_state | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["status_reports"][-1]))'; }
for _ in $(seq 100); do
  grep -q ready "$work/stub.log" && curl -fsS -o /dev/null "$RELEASE_URL/channels/stable.json" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$RELEASE_URL/channels/stable.json" || fail "the release server does not answer on $RELEASE_URL"
# The platform tells the tenant where releases are published; install syncs it once. The
# load below is far above the default RATE_LIMIT (600 requests a minute per client): off.
CONFIG="\"MOLECULE_RELEASE_URL\": \"$RELEASE_URL\", \"RATE_LIMIT\": \"0\""
stub_config "{\"config\": {$CONFIG}}"
say "release server on $RELEASE_URL (1.0.0, 1.0.1, 1.0.2+refuse-start, 1.0.3), stub platform on port $STUB_PORT"

# ------------------------------------------------------------------ 2. install 1.0.0
# installer/install.sh --bundle --trusted-key checks the signature with the given key,
# installs the bundle's binary and copies the key into trusted-keys/ (the keys upgrades
# trust, so every upgrade below depends on it). The tampered bundle is refused first.
bash "$LAB" down "$NAME" >/dev/null 2>&1 || true
bash "$LAB" up "$NAME" >/dev/null
in_lab mkdir -p /root/bundles
bash "$LAB" cp "$NAME" "$work/release.pub.pem" /root/lab-release.pem
file=$(bundle "$work/other" 1.0.4)
bash "$LAB" cp "$NAME" "$file" "/root/bundles/$(basename "$file")"
bash "$LAB" cp "$NAME" "$file.sig" "/root/bundles/$(basename "$file").sig"
bash "$LAB" cp "$NAME" installer/install.sh /root/install.sh
rc=0; in_lab sh /root/install.sh --bundle "/root/bundles/$(basename "$(bundle "$work/other" 1.0.4)")" --trusted-key /root/lab-release.pem --plan \
  >"$work/install.out" 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q "is not a valid signature by /root/lab-release.pem" "$work/install.out" \
  || fail "install.sh --bundle with the tampered bundle exited $rc: $(cat "$work/install.out")"
in_lab test ! -e /etc/molecule-tenant/trusted-keys/lab-release.pem || fail "install.sh trusted a key for a bundle it refused"
in_lab test ! -e /usr/local/bin/molecule-tenant || fail "install.sh installed the tampered bundle's binary"
say "install.sh --bundle refuses the tampered bundle: $(tail -n 1 "$work/install.out" | cut -c1-140)"
t0=$(now)
# 1.0.0 comes from the release server: install.sh reads channels/stable.json, downloads the
# bundle and its .sig (installing curl, which the minimal lab root lacks), checks the
# channel's sha256 and the signature.
printf '%s\n' "$REG_TOKEN" | in_lab sh /root/install.sh --release-url "$RELEASE_URL" \
  --trusted-key /root/lab-release.pem --org-id "$ORG" \
  --platform-url "http://127.0.0.1:$STUB_PORT" --registration-token-file - --json >"$work/install.json" 2>&1 \
  || { cat "$work/install.json" >&2; fail "install of 1.0.0 failed"; }
grep -q "verified the signature of .*1.0.0-linux.* with /root/lab-release.pem" "$work/install.json" \
  || fail "install.sh does not say it verified the bundle: $(head -n 5 "$work/install.json")"
grep -q "downloading $RELEASE_URL/molecule-tenant-1.0.0-linux-" "$work/install.json" \
  || fail "install.sh did not download 1.0.0 from the release server: $(head -n 5 "$work/install.json")"
grep -q "GET /molecule-tenant-1.0.0-linux-.*tar.gz.sig HTTP/1.1\" 200" "$work/release-server.log" \
  || fail "the release server did not serve 1.0.0's signature: $(tail -n 5 "$work/release-server.log")"
result=$(tail -n 1 "$work/install.json")
[[ $(json_field "$result" 'd["healthy"]') == True ]] || fail "install did not end healthy: $result"
[[ $(json_field "$(stub_state)" 'len(d["registrations"])') == 1 ]] || fail "install did not register with the stub platform"
in_lab grep -qx "MOLECULE_RELEASE_URL=$RELEASE_URL" /etc/molecule-tenant/tenant.env || fail "config sync did not bring MOLECULE_RELEASE_URL"
in_lab cmp -s /root/lab-release.pem /etc/molecule-tenant/trusted-keys/lab-release.pem || fail "install.sh did not copy --trusted-key into trusted-keys/"
in_lab systemctl is-enabled --quiet molecule-tenant-update.timer || fail "install did not enable molecule-tenant-update.timer"
# The timer stays enabled but is stopped for the test, so no unplanned run moves the host
# between the steps; each timer run below is started by hand.
in_lab systemctl stop molecule-tenant-update.timer
say "installed 1.0.0 from the release server in $(python3 -c "print(round($(now) - $t0, 1))") s, registered; update timer enabled (stopped for the test)"

version_of() { curl -fsS --max-time 10 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version"))'; }
both_at() { # VERSION
  local server plugin
  server=$(version_of "$SERVER/buildinfo") plugin=$(version_of "$PLUGIN/v1/health")
  [[ $server == "$1" ]] || fail "the server's /buildinfo says $server, not $1"
  [[ $plugin == "$1" ]] || fail "the plugin's /v1/health says $plugin, not $1"
}
link() { in_lab readlink /usr/local/bin/molecule-tenant; }
main_pids() { in_lab systemctl show --property=MainPID --value molecule-memory-plugin.service molecule-tenant.service | tr '\n' ' '; }
ledger() { in_lab cat /var/lib/molecule-tenant/upgrades.json; }
upgrade() { # ARGS...: `molecule-tenant upgrade` in the lab; output in $work/upgrade.out; sets rc
  rc=0
  in_lab /usr/local/bin/molecule-tenant upgrade "$@" >"$work/upgrade.out" 2>&1 || rc=$?
}
timer_run() { # one run of the timer's service; sets rc
  rc=0
  in_lab systemctl start molecule-tenant-update.service >"$work/timer.out" 2>&1 || rc=$?
}

ADMIN=$(in_lab sh -c '. /etc/molecule-tenant/secrets.env; printf %s "$ADMIN_TOKEN"')
WS=$(curl -fsS -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"name": "lab-upgrade"}' "$SERVER/workspaces" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "cannot create a workspace with ADMIN_TOKEN"
TOKEN=$(curl -fsS -X POST -H "Authorization: Bearer $ADMIN" "$SERVER/admin/workspaces/$WS/tokens" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])') || fail "cannot mint a workspace token"
both_at 1.0.0

# ------------------------------------------------------------------ load
# Runs Tests/lab/load_client.py from start_load to stop_load; any failed request fails the test.
STEADY_SECONDS=4
start_load() { # PHASE
  rm -f "$work/stop"
  python3 Tests/lab/load_client.py "$SERVER" "$PLUGIN" "$WS" "$TOKEN" "$work/stop" "$work/$1.load.json" "$CONCURRENCY" >"$work/$1.load.log" 2>&1 &
  LOAD_PID=$!
  for _ in $(seq 50); do grep -q running "$work/$1.load.log" && break; sleep 0.1; done
  sleep "$STEADY_SECONDS"
}
stop_load() { # PHASE FROM TO LABEL: stops the load, fails on any failed request, prints the rates
  sleep 2
  touch "$work/stop"
  wait "$LOAD_PID" || fail "the load client failed: $(cat "$work/$1.load.log")"
  LOAD_PID=""
  local line
  line=$(python3 - "$work/$1.load.json" "$2" "$3" "$4" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); start, end = float(sys.argv[2]), float(sys.argv[3]); phase = sys.argv[4]
done = d["completions"]
def rate(a, b): return sum(1 for t in done if a <= t < b) / (b - a) if b > a else 0
steady = rate(d["started"] + 1, start)   # after a second of warm-up, until the operation starts
during = rate(start, end)
kinds = ", ".join("%s %d" % (k, v["requests"]) for k, v in sorted(d["kinds"].items()))
reconnects = sum(v["reconnects"] for v in d["kinds"].values())
print("%s: %d requests (%s), %d failed, %d keep-alive reconnects; %.0f req/s steady, %.0f req/s during it; it took %.1f s"
      % (phase, d["requests"], kinds, d["failed"], reconnects, steady, during, end - start))
if d["failed"]:
    print("errors: " + json.dumps(d["errors"][:5]))
print("%d %d" % (d["failed"], min(v["requests"] for v in d["kinds"].values()) if len(d["kinds"]) == 4 else 0))
EOF
)
  say "$(sed '$d' <<<"$line")"
  head -n 1 <<<"$line" >>"$work/figures"
  read -r failed fewest <<<"$(tail -n 1 <<<"$line")"
  [[ $failed == 0 ]] || fail "$4: $failed requests failed"
  [[ $fewest -gt 0 ]] || fail "$4: a kind of request was never sent"
}

# ------------------------------------------------------------------ 3. 1.0.0 -> 1.0.1 under load
upgrade --check
[[ $rc == 0 ]] || fail "upgrade --check with 1.0.0 published exited $rc: $(cat "$work/upgrade.out")"
publish 1.0.1
upgrade --check
[[ $rc == 2 ]] || fail "upgrade --check with 1.0.1 published exited $rc, not 2: $(cat "$work/upgrade.out")"
say "upgrade --check: 0 on 1.0.0 with 1.0.0 published, 2 once 1.0.1 is"
start_load upgrade
t0=$(now); upgrade; t1=$(now)
[[ $rc == 0 ]] || { cat "$work/upgrade.out" >&2; fail "upgrade to the channel's 1.0.1 exited $rc"; }
stop_load upgrade "$t0" "$t1" "upgrade 1.0.0 -> 1.0.1"
both_at 1.0.1
[[ $(link) == /opt/molecule-tenant/releases/1.0.1/molecule-tenant ]] || fail "the symlink names $(link)"
status=$(in_lab /usr/local/bin/molecule-tenant status --json)
[[ $(json_field "$status" 'd["installed_version"].split()[1]') == 1.0.1 ]] || fail "status --json: installed_version is not 1.0.1: $status"
[[ $(json_field "$status" 'd["upgrades"]["current"]') == 1.0.1 ]] || fail "status --json does not record 1.0.1: $status"
[[ $(json_field "$status" '(d["upgrades"]["last_upgrade"]["to"], d["upgrades"]["last_upgrade"]["outcome"])') == "('1.0.1', 'succeeded')" ]] \
  || fail "status --json: the last upgrade is not 1.0.1 succeeded: $status"
upgrade --check
[[ $rc == 0 ]] || fail "upgrade --check on 1.0.1 with 1.0.1 published exited $rc"
curl -fsS -H "Authorization: Bearer $TOKEN" "$SERVER/workspaces/$WS/memories?q=lab+load+note&limit=5" | grep -q 'lab load note' \
  || fail "memories committed during the upgrade are not found"
say "ok: 1.0.1 serves, /buildinfo and status --json say so, zero failed requests"

# ------------------------------------------------------------------ 4. a release that cannot become healthy
publish 1.0.2+refuse-start
pids=$(main_pids)
start_load bad
t0=$(now); upgrade; t1=$(now)
stop_load bad "$t0" "$t1" "1.0.2+refuse-start, rolled back"
say "upgrade said: $(tail -n 1 "$work/upgrade.out")"
[[ $rc == 1 ]] || { cat "$work/upgrade.out" >&2; fail "the upgrade to 1.0.2+refuse-start exited $rc, not 1"; }
grep -q "failed its health gate and was rolled back to 1.0.1" "$work/upgrade.out" || fail "the failed upgrade does not say it rolled back"
both_at 1.0.1
[[ $(main_pids) == "$pids" ]] || fail "the serving processes changed ($pids -> $(main_pids))"
[[ $(link) == /opt/molecule-tenant/releases/1.0.1/molecule-tenant ]] || fail "the symlink names $(link) after the rollback"
[[ $(json_field "$(ledger)" 'd["rejected"]') == "['1.0.2+refuse-start']" ]] || fail "1.0.2+refuse-start is not rejected: $(ledger)"
say "ok: rolled back by itself, exit 1, still 1.0.1 on the same processes, 1.0.2+refuse-start rejected"

history_before=$(json_field "$(ledger)" 'd["history"]')
reports_before=$(json_field "$(stub_state)" 'len(d["status_reports"])')
timer_run
[[ $rc == 0 ]] || fail "the timer's service failed: $(cat "$work/timer.out"; in_lab journalctl -u molecule-tenant-update.service -n 20 --no-pager)"
[[ $(json_field "$(ledger)" 'd["last_auto_update"]["outcome"]') == skipped ]] || fail "the timer run did not skip: $(ledger)"
[[ $(json_field "$(ledger)" 'd["history"]') == "$history_before" ]] || fail "the timer run attempted an upgrade: $(ledger)"
in_lab journalctl -u molecule-tenant-update.service --no-pager | grep -q "not trying it again" || fail "the journal does not say the rejected release is skipped"
[[ $(main_pids) == "$pids" ]] || fail "the timer run touched the services"
[[ $(json_field "$(stub_state)" 'len(d["status_reports"])') -gt $reports_before ]] || fail "the timer run did not report to the platform"
say "ok: the timer's service skips the rejected release (upgrades.json: skipped; journal: not trying it again)"
publish 1.0.1

# ------------------------------------------------------------------ 5. rollback to 1.0.0
start_load rollback
t0=$(now); upgrade --rollback; t1=$(now)
[[ $rc == 0 ]] || { cat "$work/upgrade.out" >&2; fail "upgrade --rollback exited $rc"; }
stop_load rollback "$t0" "$t1" "rollback 1.0.1 -> 1.0.0"
both_at 1.0.0
[[ $(json_field "$(ledger)" 'd["history"][-1]["reason"]') == rollback ]] || fail "upgrades.json does not record the rollback: $(ledger)"
say "ok: upgrade --rollback: 1.0.0 serves again, zero failed requests"

# ------------------------------------------------------------------ 6. refused before anything changes
file=$(bundle "$work/other" 1.0.5)
bash "$LAB" cp "$NAME" "$file" "/root/bundles/$(basename "$file")"
bash "$LAB" cp "$NAME" "$file.sig" "/root/bundles/$(basename "$file").sig"
for case in "1.0.4 tampered" "1.0.5 signed-by-an-unknown-key"; do
  version=${case% *}
  pids=$(main_pids) target=$(link)
  upgrade --bundle "/root/bundles/$(basename "$(bundle "$work/other" "$version")")"
  [[ $rc == 1 ]] || fail "the ${case#* } bundle: upgrade exited $rc, not 1: $(cat "$work/upgrade.out")"
  grep -q "not a valid signature by any trusted key" "$work/upgrade.out" || fail "the ${case#* } bundle: $(cat "$work/upgrade.out")"
  [[ $(link) == "$target" && $(main_pids) == "$pids" ]] || fail "the ${case#* } bundle changed the symlink or the processes"
  in_lab test ! -e "/opt/molecule-tenant/releases/$version" || fail "the ${case#* } bundle was unpacked"
  both_at 1.0.0
  say "ok: the ${case#* } bundle is refused ($(tail -n 1 "$work/upgrade.out" | cut -c1-120)...); symlink, version, processes unchanged"
done

# ------------------------------------------------------------------ 7. the platform's target_version
stub_config "{\"config\": {$CONFIG}, \"target_version\": \"1.0.1\"}"
reports_before=$(json_field "$(stub_state)" 'len(d["status_reports"])')
start_load platform
t0=$(now); timer_run; t1=$(now)
[[ $rc == 0 ]] || fail "the timer's service failed: $(cat "$work/timer.out"; in_lab journalctl -u molecule-tenant-update.service -n 20 --no-pager)"
stop_load platform "$t0" "$t1" "timer run to the platform's target 1.0.1"
both_at 1.0.1
[[ $(json_field "$(ledger)" '(d["last_auto_update"]["outcome"], d["last_auto_update"]["target"])') == "('upgraded', '1.0.1')" ]] \
  || fail "upgrades.json: the timer run is not recorded as upgraded to 1.0.1: $(ledger)"
state=$(stub_state)
[[ $(json_field "$state" 'len(d["status_reports"])') == $((reports_before + 1)) ]] || fail "the stub did not receive one status report: $state"
report=$(last_report)
[[ $(json_field "$report" '(d["version"], d["health"], d["last_upgrade"]["from"], d["last_upgrade"]["to"], d["last_upgrade"]["outcome"], d["last_upgrade"]["reason"])') \
  == "('1.0.1', 'ok', '1.0.0', '1.0.1', 'succeeded', None)" ]] || fail "the status report is not {1.0.1, ok, 1.0.0 -> 1.0.1 succeeded, reason null}: $report"
say "ok: target_version 1.0.1 from the platform: the timer upgraded, the stub received $report"

# ------------------------------------------------------------------ 8. a release needing config the tenant lacks
pids=$(main_pids)
upgrade --to 1.0.3
[[ $rc != 0 ]] || fail "1.0.3 without LAB_FEATURE_KEY was installed"
grep -q "LAB_FEATURE_KEY" "$work/upgrade.out" && grep -q "molecule-tenant config sync" "$work/upgrade.out" \
  || fail "the refusal does not name LAB_FEATURE_KEY and config sync: $(cat "$work/upgrade.out")"
[[ $(link) == /opt/molecule-tenant/releases/1.0.1/molecule-tenant && $(main_pids) == "$pids" ]] || fail "the refused 1.0.3 changed something"
both_at 1.0.1
say "ok: 1.0.3 refused (exit $rc): $(tail -n 1 "$work/upgrade.out")"
FEATURE_KEY=feat-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
# The platform's order: the secret first, then the target.
stub_config "{\"config\": {$CONFIG}, \"secrets\": {\"LAB_FEATURE_KEY\": \"$FEATURE_KEY\"}, \"target_version\": \"1.0.3\"}"
# No one runs `config sync` on the host: the timer's run syncs before it upgrades (without
# restarting anything), and the handover starts the new processes with the files as they
# are then (the units' reload command reads them), so 1.0.3's processes have the secret.
both_at 1.0.1
start_load required
t0=$(now); timer_run; t1=$(now)
[[ $rc == 0 ]] || fail "the timer's service failed: $(cat "$work/timer.out"; in_lab journalctl -u molecule-tenant-update.service -n 20 --no-pager)"
stop_load required "$t0" "$t1" "timer run to 1.0.3 (its required secret synced by the run)"
both_at 1.0.3
# (Output captured first: with pipefail, grep -q closing the pipe early would fail the pipe.)
journal=$(in_lab journalctl -u molecule-tenant-update.service --no-pager)
grep -q "config sync: wrote .*LAB_FEATURE_KEY" <<<"$journal" || fail "the timer's run did not sync LAB_FEATURE_KEY: $(tail -n 20 <<<"$journal")"
in_lab grep -q "^LAB_FEATURE_KEY=" /etc/molecule-tenant/secrets.env || fail "LAB_FEATURE_KEY is not in secrets.env"
for unit in molecule-tenant.service molecule-memory-plugin.service; do
  pid=$(in_lab systemctl show -p MainPID --value "$unit")
  environment=$(in_lab sh -c "tr '\\0' '\\n' < /proc/$pid/environ") || fail "cannot read the environment of $unit (pid $pid)"
  grep -qxF -- "LAB_FEATURE_KEY=$FEATURE_KEY" <<<"$environment" || fail "$unit (pid $pid, on 1.0.3) did not start with the synced LAB_FEATURE_KEY"
done
left=$(in_lab sh -c 'ls -A /run/molecule-tenant-server/ /run/molecule-memory-plugin/' 2>&1 || true)
grep -q "handover.env" <<<"$left" && fail "a handover left its environment file behind: $left"
report=$(last_report)
[[ $(json_field "$report" 'd["version"]') == 1.0.3 ]] || fail "the last status report is not 1.0.3: $report"
if in_lab sh -c 'cat /var/log/molecule-tenant/*; journalctl --no-pager' | grep -qF -- "$FEATURE_KEY"; then fail "the synced secret appears in a log"; fi
say "ok: the timer synced LAB_FEATURE_KEY itself and target_version 1.0.3 went through; the new processes have it, no log does"

# ------------------------------------------------------------------ figures
[[ -z ${LAB_UPGRADE_FIGURES:-} ]] || cp "$work/figures" "$LAB_UPGRADE_FIGURES"
say "all passed in $(python3 -c "print(round($(now) - $started))") s"
