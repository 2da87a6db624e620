#!/usr/bin/env bash
# PostgreSQL 17 with pgvector for the tests that need it. Debian 12 has no pgvector
# package, Debian 13 has one, so this boots a fresh-host lab (lab.sh) named "pgvector",
# installs postgresql-17 and postgresql-17-pgvector in it, and serves one database on the
# host's loopback (the lab shares the host network).
#
#   pgvector.sh up      boot (or reuse) the lab and set it up; idempotent. The last line on
#                       stdout is LAB_PGVECTOR_URL=postgres://molecule:PASS@127.0.0.1:PORT/molecule_test
#                       so:  export "$(bash Tests/lab/pgvector.sh up | tail -n 1)"
#   pgvector.sh down    stop the lab and delete it
#
# Environment: LAB_PG_PORT (default 55433; the host's own test servers use 5432 and
# 55432), LAB_PG_PASSWORD (password of role molecule; generated when unset), and those
# of lab.sh (LAB_DIR, LAB_CACHE, LAB_MIRROR).
set -euo pipefail

LAB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh
NAME=pgvector
PORT=${LAB_PG_PORT:-55433}

die() { echo "pgvector: error: $*" >&2; exit 1; }
say() { echo "pgvector: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d s' $((ms / 1000)) $(((ms % 1000) / 100)); }

# Percent-encode for the userinfo part of the URL (a generated password needs none).
urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  echo "$out"
}

# Runs inside the lab as root; gets PORT and PASS from the environment. Every step is
# idempotent so `up` on a running lab just checks and prints the URL again.
INSIDE=$(cat <<'SCRIPT'
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! dpkg-query -W -f='${Status}' postgresql-17-pgvector 2>/dev/null | grep -q 'ok installed'; then
  # No default cluster on 5432: the lab shares the host's network, where 5432 may be
  # taken. The package's createcluster.conf reads this directory; its own file stays as
  # shipped (it adds the conf.d include used below).
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = off' >/etc/postgresql-common/createcluster.d/lab.conf
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-17 postgresql-17-pgvector >/dev/null
fi
if [ ! -d /etc/postgresql/17/main ]; then
  # pg_createcluster's pg_hba.conf asks for scram-sha-256 over TCP.
  pg_createcluster 17 main --port "$PORT" >/dev/null
fi
# Loopback only, on PORT; restart only if that changes anything (a reused lab may get a
# new LAB_PG_PORT). listen_addresses goes in conf.d (read after postgresql.conf) because
# pg_createcluster -o and pg_conftool write 127.0.0.1 unquoted, a syntax error.
conf=/etc/postgresql/17/main
confsum() { { cat "$conf/postgresql.conf"; cat "$conf/conf.d/lab.conf" 2>/dev/null || true; } | md5sum; }
before=$(confsum)
echo "listen_addresses = '127.0.0.1'" >"$conf/conf.d/lab.conf"
pg_conftool 17 main set port "$PORT"
if [ "$(confsum)" != "$before" ]; then
  systemctl restart postgresql@17-main
else
  systemctl start postgresql@17-main
fi
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.2; done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { journalctl -u postgresql@17-main --no-pager | tail -n 20 >&2; exit 1; }
# As the superuser over the socket (peer auth). :'pass' makes psql quote the password.
PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- psql -X -q -p "$PORT" -v ON_ERROR_STOP=1 -v pass="$PASS" <<'SQL'
SELECT 'CREATE ROLE molecule' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'molecule') \gexec
ALTER ROLE molecule WITH LOGIN CREATEDB PASSWORD :'pass';
SELECT 'CREATE DATABASE molecule_test OWNER molecule'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'molecule_test') \gexec
-- Databases the tests create (as molecule, CREATEDB) inherit the extension from template1.
\c template1
CREATE EXTENSION IF NOT EXISTS vector;
\c molecule_test
CREATE EXTENSION IF NOT EXISTS vector;
SQL
# Check what the tests will do: TCP, password, role molecule.
PGPASSWORD=$PASS psql -X -tA -h 127.0.0.1 -p "$PORT" -U molecule -d molecule_test \
  -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'"
SCRIPT
)

cmd_up() {
  local t0; t0=$(now_ms)
  local pass=${LAB_PG_PASSWORD:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
  if ! bash "$LAB" status "$NAME" >/dev/null 2>&1; then
    # Fail early and clearly if something on the host already has the port.
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      die "port $PORT on 127.0.0.1 is already in use; set LAB_PG_PORT"
    fi
  fi
  bash "$LAB" up --reuse "$NAME" >/dev/null
  local t1; t1=$(now_ms)
  say "installing and configuring PostgreSQL 17 with pgvector"
  local version
  version=$(bash "$LAB" exec "$NAME" -- env PORT="$PORT" PASS="$pass" bash -c "$INSIDE") ||
    die "setting up PostgreSQL in lab '$NAME' failed (see above)"
  say "$version on 127.0.0.1:$PORT (setup $(elapsed "$t1"), total $(elapsed "$t0"))"
  echo "LAB_PGVECTOR_URL=postgres://molecule:$(urlencode "$pass")@127.0.0.1:$PORT/molecule_test"
}

case ${1:-} in
  up) cmd_up ;;
  down) bash "$LAB" down "$NAME" ;;
  *) sed -n '7,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
