#!/usr/bin/env bash
# `molecule-tenant install` on a fresh Debian 13 host with real systemd (the lab, lab.sh):
# plan, install to healthy, a second install that changes nothing, a scripted agent,
# status, doctor (healthy, then with PostgreSQL stopped), registration and config sync
# against a stub platform on loopback, uninstall (data kept), uninstall --purge (gone),
# and an install killed with SIGKILL midway that converges when run again. Secrets files
# must be 0600 and absent from every log.
#
# Needs root, the release binary (MOLECULE_TENANT_RELEASE_BINARY, default
# .build/release/molecule-tenant, built with --static-swift-stdlib), and ports 8080, 9100,
# 5432, 6379 free on the host (the lab shares its network). LAB_KEEP=1 keeps the lab.
set -euo pipefail
cd "$(dirname "$0")/../.."

BINARY=${MOLECULE_TENANT_RELEASE_BINARY:-.build/release/molecule-tenant}
NAME=${LAB_INSTALL_NAME:-install}
STUB_PORT=${LAB_STUB_PLATFORM_PORT:-18999}
LAB=Tests/lab/lab.sh
ORG=org-lab

say() { echo "install lab: $*" >&2; }
fail() { echo "install lab: FAIL: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
in_lab() { bash "$LAB" exec "$NAME" -- "$@"; }
# Exit status of a command in the lab, without stopping this script.
status_of() { local rc=0; in_lab "$@" >/tmp/install-lab-out.$$ 2>&1 || rc=$?; echo "$rc"; }
json_field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }
http() { curl -sS --max-time 20 -o /tmp/install-lab-body.$$ -w '%{http_code}' "$@"; }
body() { cat /tmp/install-lab-body.$$; }

[[ $(id -u) -eq 0 ]] || fail "needs root"
# The host side of the test: curl for the agent, python3 for JSON and the stub platform.
missing=()
for tool in curl python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || fail "cannot install ${missing[*]}"
fi
[[ -x $BINARY ]] || fail "$BINARY does not exist: swift build -c release --static-swift-stdlib"
for port in 8080 9100 5432 6379 "$STUB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port on 127.0.0.1 is in use; the lab shares the host network"; fi
done

started_ms=$(now_ms)
STUB_PID=""
cleanup() {
  [[ -n $STUB_PID ]] && kill "$STUB_PID" 2>/dev/null || true
  rm -f /tmp/install-lab-*.$$
  [[ ${LAB_KEEP:-0} == 1 ]] || bash "$LAB" down "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash "$LAB" down "$NAME" >/dev/null 2>&1 || true
bash "$LAB" up "$NAME" >/dev/null
bash "$LAB" cp "$NAME" "$BINARY" /root/molecule-tenant
bash "$LAB" cp "$NAME" installer/install.sh /root/install.sh

# ------------------------------------------------------------------ plan, install, again
# The bootstrap first: it installs the binary's runtime libraries, then runs the plan.
rc=$(status_of sh /root/install.sh --binary /root/molecule-tenant --plan)
[[ $rc == 2 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "install.sh --binary ... --plan on a fresh host exited $rc, not 2"; }
grep -q "postgresql-17-pgvector" /tmp/install-lab-out.$$ || fail "the plan does not name postgresql-17-pgvector"
say "plan: exit 2, $(grep -c '^[0-9]*\. ' /tmp/install-lab-out.$$) steps would change"

t0=$(now_ms)
in_lab sh /root/install.sh --binary /root/molecule-tenant --json >/tmp/install-lab-json.$$ || { cat /tmp/install-lab-json.$$ >&2; fail "install failed"; }
install_ms=$(( $(now_ms) - t0 ))
result=$(tail -n 1 /tmp/install-lab-json.$$)
[[ $(json_field "$result" 'd["healthy"]') == True ]] || fail "install did not end healthy: $result"
say "install: healthy after $((install_ms / 1000)).$(((install_ms % 1000) / 100)) s, $(json_field "$result" 'd["changes"]') changes"
# The first install's events (per-step seconds) for docs/benchmarks.md.
{ echo "INSTALL_TO_HEALTHY_MS=$install_ms"; cat /tmp/install-lab-json.$$; } >"${LAB_INSTALL_TIMING_FILE:-/dev/null}"

for f in secrets.env; do
  [[ $(in_lab stat -c '%a %U %G' /etc/molecule-tenant/$f) == "600 root molecule" ]] || fail "/etc/molecule-tenant/$f is not 0600 root:molecule"
done
[[ $(in_lab stat -c '%a' /etc/molecule-tenant/tenant.env) == 640 ]] || fail "tenant.env is not 0640"

rc=$(status_of /root/molecule-tenant install --plan)
[[ $rc == 0 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "install --plan after an install exited $rc, not 0"; }
result=$(in_lab /root/molecule-tenant install --json | tail -n 1)
[[ $(json_field "$result" 'd["changes"]') == 0 && $(json_field "$result" 'd["healthy"]') == True ]] || fail "second install changed something: $result"
say "second install: 0 changes, healthy"

# A change that cannot come up healthy (an address this host does not have): the gate
# fails, the previous files come back and the tenant runs as before.
rc=$(status_of /root/molecule-tenant install --bind-addr 203.0.113.7 --health-timeout 20)
[[ $rc == 1 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "install with an unusable bind address exited $rc, not 1"; }
grep -q "health gate failed" /tmp/install-lab-out.$$ || { cat /tmp/install-lab-out.$$ >&2; fail "the failed gate is not reported"; }
in_lab grep -q '^BIND_ADDR=0.0.0.0$' /etc/molecule-tenant/tenant.env || fail "tenant.env was not restored after the failed gate"
result=$(in_lab /root/molecule-tenant install --json | tail -n 1)
[[ $(json_field "$result" 'd["changes"]') == 0 && $(json_field "$result" 'd["healthy"]') == True ]] || fail "after the rollback the tenant is not as before: $result"
say "failed health gate: exit 1, files restored, tenant healthy as before"

# ------------------------------------------------------------------ a scripted agent
ADMIN=$(in_lab sh -c '. /etc/molecule-tenant/secrets.env; printf %s "$ADMIN_TOKEN"')
code=$(http -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name":"lab-agent","tier":1}' http://127.0.0.1:8080/workspaces)
[[ $code == 201 || $code == 200 ]] || fail "admin workspace create: HTTP $code $(body)"
WS=$(json_field "$(body)" 'd["id"]')
code=$(http -X POST -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' \
  -d "{\"id\":\"$WS\",\"url\":\"\",\"delivery_mode\":\"poll\",\"agent_card\":{\"name\":\"lab-agent\"}}" http://127.0.0.1:8080/registry/register)
[[ $code == 200 ]] || fail "agent register: HTTP $code $(body)"
TOKEN=$(json_field "$(body)" 'd["auth_token"]')
code=$(http -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"workspace_id\":\"$WS\",\"error_rate\":0,\"active_tasks\":0,\"uptime_seconds\":1}" http://127.0.0.1:8080/registry/heartbeat)
[[ $code == 200 ]] || fail "agent heartbeat: HTTP $code $(body)"
code=$(http -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"content":"the lab host was installed by molecule-tenant install","scope":"LOCAL"}' "http://127.0.0.1:8080/workspaces/$WS/memories")
if [[ $code == 404 ]]; then
  # This build's server has no memory routes yet: commit through the plugin it would use.
  code=$(http -X POST -H 'Content-Type: application/json' \
    -d '{"content":"the lab host was installed by molecule-tenant install","kind":"fact","source":"agent"}' \
    "http://127.0.0.1:9100/v1/namespaces/workspace:$WS/memories")
  via="the memory plugin (the server has no memory routes in this build)"
else
  via="the server"
fi
[[ $code == 201 ]] || fail "memory commit through $via: HTTP $code $(body)"
code=$(http -X POST -H 'Content-Type: application/json' -d "{\"namespaces\":[\"workspace:$WS\"],\"query\":\"installed\"}" http://127.0.0.1:9100/v1/search)
[[ $code == 200 ]] && body | grep -q "installed by molecule-tenant" || fail "the committed memory is not found: HTTP $code $(body)"
say "scripted agent: workspace created, registered, heartbeat, memory committed through $via and found"

# ------------------------------------------------------------------ status and doctor
status_json=$(in_lab /root/molecule-tenant status --json)
[[ $(json_field "$status_json" 'd["healthy"]') == True ]] || fail "status --json is not healthy: $status_json"
[[ $(json_field "$status_json" 'd["units"]["molecule-tenant.service"]["active"]') == active ]] || fail "status: server unit not active: $status_json"
[[ $(json_field "$status_json" 'd["migrations"]["pending"]') == 0 ]] || fail "status: migrations pending: $status_json"
rc=$(status_of /root/molecule-tenant doctor)
[[ $rc == 0 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "doctor on a healthy tenant exited $rc"; }
in_lab systemctl stop postgresql.service 'postgresql@*'
rc=$(status_of /root/molecule-tenant doctor)
[[ $rc == 3 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "doctor with PostgreSQL stopped exited $rc, not 3"; }
grep -qi "postgresql" /tmp/install-lab-out.$$ || fail "doctor does not name PostgreSQL"
grep -q "fix:" /tmp/install-lab-out.$$ || fail "doctor gives no fix"
say "doctor: exit 0 healthy; exit 3 with PostgreSQL stopped: $(grep -i -m1 postgresql /tmp/install-lab-out.$$)"
in_lab systemctl start postgresql.service
for _ in $(seq 120); do [[ $(status_of /root/molecule-tenant doctor) == 0 ]] && break; sleep 1; done
[[ $(status_of /root/molecule-tenant doctor) == 0 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "doctor still unhappy after PostgreSQL came back"; }

# ------------------------------------------------------------------ platform: register, config sync
REG_TOKEN=reg-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf '%s\n' "$REG_TOKEN" >/tmp/install-lab-token.$$
python3 Tests/lab/stub_platform.py "$STUB_PORT" /tmp/install-lab-token.$$ "$ORG" >/tmp/install-lab-stub.$$ 2>&1 &
STUB_PID=$!
for _ in $(seq 50); do grep -q ready /tmp/install-lab-stub.$$ && break; sleep 0.1; done
printf '%s\n' "$REG_TOKEN" | in_lab /root/molecule-tenant install --org-id "$ORG" --platform-url "http://127.0.0.1:$STUB_PORT" \
  --registration-token-file - --json >/tmp/install-lab-json.$$ || { cat /tmp/install-lab-json.$$ >&2; fail "install with registration failed"; }
state=$(curl -sS "http://127.0.0.1:$STUB_PORT/_stub/state")
[[ $(json_field "$state" 'len(d["registrations"])') == 1 ]] || fail "the stub platform saw no registration: $state"
[[ -n $(in_lab sh -c '. /etc/molecule-tenant/secrets.env; printf %s "$MOLECULE_CP_SHARED_SECRET"') ]] || fail "no shared secret in secrets.env"
result=$(in_lab /root/molecule-tenant install --json | tail -n 1)
[[ $(json_field "$result" 'd["changes"]') == 0 ]] || fail "install after registration changed something: $result"
[[ $(json_field "$(curl -sS "http://127.0.0.1:$STUB_PORT/_stub/state")" 'len(d["registrations"])') == 1 ]] || fail "registration is not idempotent"
say "registration: registered once, shared secret in secrets.env, re-run changes nothing"

NEW_ADMIN=adm-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
curl -sS -X POST -d "{\"config\":{\"RATE_LIMIT\":\"900\"},\"secrets\":{\"ADMIN_TOKEN\":\"$NEW_ADMIN\"}}" "http://127.0.0.1:$STUB_PORT/_stub/config" >/dev/null
# Requests on new connections all through the sync: the services take the new values by
# handing over to a fresh process (the units' reload command passes the env files on).
server_pid=$(in_lab systemctl show -p MainPID --value molecule-tenant.service)
rm -f /tmp/install-lab-stop.$$
( failed=0 sent=0
  while [[ ! -e /tmp/install-lab-stop.$$ ]]; do
    sent=$((sent + 1)); curl -fsS -o /dev/null --max-time 10 http://127.0.0.1:8080/health || failed=$((failed + 1))
  done
  echo "$sent $failed" >/tmp/install-lab-load.$$ ) &
loader=$!
in_lab /root/molecule-tenant config sync >/tmp/install-lab-out.$$ 2>&1 || { touch /tmp/install-lab-stop.$$; cat /tmp/install-lab-out.$$ >&2; fail "config sync failed"; }
touch /tmp/install-lab-stop.$$; wait "$loader"
read -r sent failed </tmp/install-lab-load.$$
rm -f /tmp/install-lab-stop.$$ /tmp/install-lab-load.$$
[[ $failed == 0 && $sent -gt 0 ]] || fail "config sync: $failed of $sent requests failed"
grep -q "handed over, no downtime" /tmp/install-lab-out.$$ || fail "config sync did not hand over: $(cat /tmp/install-lab-out.$$)"
[[ $(in_lab systemctl show -p MainPID --value molecule-tenant.service) != "$server_pid" ]] || fail "config sync left the old server process"
code=$(http -H "Authorization: Bearer $NEW_ADMIN" http://127.0.0.1:8080/workspaces)
[[ $code == 200 ]] || fail "the running tenant does not accept the synced ADMIN_TOKEN: HTTP $code"
code=$(http -H "Authorization: Bearer $ADMIN" http://127.0.0.1:8080/workspaces)
[[ $code == 401 ]] || fail "the old ADMIN_TOKEN still works after config sync: HTTP $code"
in_lab grep -q '^RATE_LIMIT=900$' /etc/molecule-tenant/tenant.env || fail "RATE_LIMIT did not reach tenant.env"
say "config sync: the new ADMIN_TOKEN reached the server by a handover ($sent requests during it, 0 failed), the old one is refused"

# ------------------------------------------------------------------ secrets never logged
SHARED=$(in_lab sh -c '. /etc/molecule-tenant/secrets.env; printf %s "$MOLECULE_CP_SHARED_SECRET"')
for s in $(in_lab sh -c '. /etc/molecule-tenant/secrets.env; printf "%s\n" "$SECRETS_ENCRYPTION_KEY" "$REDIS_PASSWORD"') "$ADMIN" "$NEW_ADMIN" "$SHARED" "$REG_TOKEN" "$TOKEN"; do
  if in_lab sh -c 'cat /var/log/molecule-tenant/*; journalctl --no-pager' | grep -qF -- "$s"; then
    fail "a secret (sha256 $(printf %s "$s" | sha256sum | cut -c1-8)) appears in a log"
  fi
done
say "secrets: 0600, absent from /var/log/molecule-tenant and the journal"

# ------------------------------------------------------------------ upgrade under systemd
in_lab systemctl is-enabled --quiet molecule-tenant-update.timer || fail "install did not enable molecule-tenant-update.timer"
release_dir=$(mktemp -d /tmp/install-lab-release.XXXXXX)
openssl genpkey -algorithm ed25519 -out "$release_dir/release.pem" 2>/dev/null
openssl pkey -in "$release_dir/release.pem" -pubout >"$release_dir/release.pub.pem"
"$BINARY" release bundle --binary "$BINARY" --key "$release_dir/release.pem" --out "$release_dir" --version 9.9.9-lab --quiet \
  || fail "release bundle failed"
bundle=$(ls "$release_dir"/molecule-tenant-9.9.9-lab-linux-*.tar.gz)
in_lab mkdir -p /etc/molecule-tenant/trusted-keys
bash "$LAB" cp "$NAME" "$release_dir/release.pub.pem" /etc/molecule-tenant/trusted-keys/lab-release.pem
bash "$LAB" cp "$NAME" "$bundle" "/root/$(basename "$bundle")"
bash "$LAB" cp "$NAME" "$bundle.sig" "/root/$(basename "$bundle").sig"
rm -rf "$release_dir"
rc=$(status_of /usr/local/bin/molecule-tenant upgrade --bundle "/root/$(basename "$bundle")")
[[ $rc == 0 ]] || { cat /tmp/install-lab-out.$$ >&2; fail "upgrade under systemd exited $rc"; }
http http://127.0.0.1:8080/buildinfo >/dev/null
[[ $(json_field "$(body)" 'd["version"]') == 9.9.9-lab ]] || fail "after the upgrade the server reports $(body)"
[[ $(status_of systemctl is-active molecule-tenant.service molecule-memory-plugin.service) == 0 ]] || fail "a unit is not active after the upgrade"
say "upgrade under systemd: 9.9.9-lab serves after systemctl reload handed over both sockets; update timer enabled"

# ------------------------------------------------------------------ uninstall, purge
in_lab /root/molecule-tenant uninstall >/tmp/install-lab-out.$$ 2>&1 || { cat /tmp/install-lab-out.$$ >&2; fail "uninstall failed"; }
[[ $(status_of test -e /etc/systemd/system/molecule-tenant.service) != 0 ]] || fail "uninstall left the server unit"
for unit in molecule-memory-plugin.service molecule-tenant-update.service molecule-tenant-update.timer; do
  [[ $(status_of test -e /etc/systemd/system/$unit) != 0 ]] || fail "uninstall left $unit"
done
[[ $(status_of test -e /usr/local/bin/molecule-tenant) != 0 ]] || fail "uninstall left the binary"
in_lab test -f /etc/molecule-tenant/secrets.env || fail "uninstall removed the secrets (it must keep them)"
[[ $(in_lab runuser -u postgres -- psql -X -tAc "SELECT count(*) FROM memory_plugin.memory_records" molecule) -ge 1 ]] || fail "uninstall lost the data"
rc=$(status_of /root/molecule-tenant uninstall --purge)
[[ $rc == 2 ]] || fail "uninstall --purge without --yes exited $rc, not 2"
in_lab /root/molecule-tenant uninstall --purge --yes >/tmp/install-lab-out.$$ 2>&1 || { cat /tmp/install-lab-out.$$ >&2; fail "uninstall --purge --yes failed"; }
for path in /etc/molecule-tenant /var/lib/molecule-tenant /etc/redis/molecule-tenant.conf; do
  [[ $(status_of test -e "$path") != 0 ]] || fail "purge left $path"
done
[[ $(status_of id molecule) != 0 ]] || fail "purge left the molecule user"
[[ $(status_of sh -c 'dpkg-query -W -f="\${Status}" postgresql-17 2>/dev/null | grep -q "ok installed"') != 0 ]] || fail "purge left postgresql-17"
say "uninstall kept data and config; uninstall --purge --yes removed database, config, user and packages"

# ------------------------------------------------------------------ killed midway, re-run
in_lab sh -c 'echo $$ >/run/installer.pid; exec /root/molecule-tenant install --json' >/tmp/install-lab-json.$$ 2>&1 &
runner=$!
for _ in $(seq 600); do grep -q '"step":"system-user"\|"step":"packages","status":"failed"' /tmp/install-lab-json.$$ && break
  grep -q '"step":"sandbox-compat"' /tmp/install-lab-json.$$ && sleep 4 && break; sleep 0.1; done
in_lab sh -c 'kill -9 "$(cat /run/installer.pid)"'
wait "$runner" 2>/dev/null || true
killed_at=$(grep -o '"step":"[a-z-]*"' /tmp/install-lab-json.$$ | tail -n 1)
say "killed the installer with SIGKILL after ${killed_at:-no step}"
result=$(in_lab /root/molecule-tenant install --json | tail -n 1)
[[ $(json_field "$result" 'd["healthy"]') == True ]] || fail "the re-run after SIGKILL did not converge: $result"
result=$(in_lab /root/molecule-tenant install --json | tail -n 1)
[[ $(json_field "$result" 'd["changes"]') == 0 ]] || fail "after converging, install still changes something: $result"
say "the re-run converged to a healthy tenant; one more run changes nothing"
say "all passed in $(( ($(now_ms) - started_ms) / 1000 )) s"
