#!/usr/bin/env bash
# The lab part of the suite (Tests/run.sh calls it after `swift test`): boots the
# fresh-host lab with PostgreSQL 17 + pgvector and runs the tests that need it.
# Needs root (the lab is a debootstrap root under its own namespaces). The lab is
# stopped again afterwards unless LAB_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "lab tests: $*" >&2; }

url_line=$(bash Tests/lab/pgvector.sh up | tail -n 1)
case $url_line in
  LAB_PGVECTOR_URL=*) export "$url_line" ;;
  *) say "pgvector.sh up did not print LAB_PGVECTOR_URL"; exit 1 ;;
esac
[ "${LAB_KEEP:-0}" = 1 ] || trap 'bash Tests/lab/pgvector.sh down >/dev/null 2>&1 || true' EXIT

say "pgvector tests against the lab's PostgreSQL"
swift test --skip-build --filter "EmbeddingTests"

# The lab runs the static release build (one build shared by the lab scripts; given
# MOLECULE_TENANT_RELEASE_BINARY, that file is used as it is).
if [ -z "${MOLECULE_TENANT_RELEASE_BINARY:-}" ]; then
  say "release build for the lab (swift build -c release --static-swift-stdlib)"
  swift build -c release --static-swift-stdlib >/dev/null
fi

# The installer on a fresh host of its own (lab "install"; ports 8080/9100/5432/6379).
say "install lifecycle on a fresh Debian 13 host"
bash Tests/lab/install.sh

# Upgrades under systemd with client load (lab "upgrade", the same ports, after install.sh).
say "upgrade, rollback, auto-update and platform rollout on a fresh Debian 13 host"
bash Tests/lab/upgrade.sh
