#!/usr/bin/env bash
# A complete tenant on this machine in one command: installs the build and runtime
# packages with apt, builds the release binary, and runs
# `molecule-tenant run --embedded ./.tenant` (its own PostgreSQL and Redis under
# ./.tenant, the memory plugin and the server), printing the URL and admin token.
# Needs root for apt; re-runs itself through sudo when started by another user.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo env "PATH=$PATH" "HOME=$HOME" bash "$0" "$@"
  fi
  echo "quickstart.sh: installing packages needs root, and there is no sudo: run it as root" >&2
  exit 1
fi
command -v swift >/dev/null 2>&1 || {
  echo "quickstart.sh: no Swift toolchain on PATH (Swift 6.1 or newer is needed; see CONTRIBUTING.md)" >&2
  exit 1
}

bash installer/packages.sh build
bash installer/packages.sh runtime
echo "building the release binary (a few minutes the first time)..."
swift build -c release --static-swift-stdlib --product molecule-tenant
binary=.build/release/molecule-tenant
"$binary" --version

echo "starting the tenant under ./.tenant (stop with Ctrl-C; data and secrets stay there for the next run)"
exec "$binary" run --embedded ./.tenant "$@"
