#!/usr/bin/env bash
# Installs, with apt, what building and testing molecule-tenant needs on Debian or Ubuntu.
# Usage: installer/packages.sh build|test|runtime   (test includes build)
# Only installs what is missing, so re-runs take a second.
set -euo pipefail

set_kind="${1:-build}"
build=(pkg-config libpq-dev libssl-dev libarchive-dev git ca-certificates)
runtime=(postgresql redis-server)
test_extra=(postgresql redis-server postgresql-contrib procps iproute2 util-linux)

case "$set_kind" in
  build) wanted=("${build[@]}") ;;
  runtime) wanted=("${runtime[@]}") ;;
  test) wanted=("${build[@]}" "${test_extra[@]}") ;;
  *) echo "usage: $0 build|test|runtime" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "packages.sh: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql package creates and starts a default cluster on 5432; we only
# want the binaries, so keep its post-install from starting anything.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
