#!/usr/bin/env bash
# The whole test suite, on a fresh Debian or Ubuntu machine:
#   1. installs the build and test packages with apt (installer/packages.sh test);
#   2. starts PostgreSQL and Redis as plain processes on loopback ports 55432/56379
#      (Tests/services.sh), leaving 5432/6379 free for the fresh-host lab;
#   3. builds (failing on any compiler warning in our code) and runs `swift test`;
#   4. builds the release binary and runs Tests/release/ (socket handover) unless RELEASE_TESTS=0;
#   5. runs the lab scripts (Tests/lab/) unless LAB=0.
# Needs root for apt; re-runs itself through sudo when started by another user.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo env "PATH=$PATH" "HOME=$HOME" LAB="${LAB:-}" bash "$0" "$@"
  fi
  echo "Tests/run.sh: installing packages needs root, and there is no sudo: run it as root" >&2
  exit 1
fi
command -v swift >/dev/null 2>&1 || {
  echo "Tests/run.sh: no Swift toolchain on PATH (Swift 6.1 or newer is needed; see CONTRIBUTING.md)" >&2
  exit 1
}

bash installer/packages.sh test
eval "$(bash Tests/services.sh start)"
trap 'bash Tests/services.sh stop' EXIT
echo "test services: $DATABASE_URL $REDIS_URL"

# Build first so the tests can run the binary as a child process, and so warnings in
# our own code fail the run (dependencies' warnings are theirs).
build_log=$(mktemp)
swift build 2>&1 | tee "$build_log" | grep -E "error:|Compiling|Build complete" | grep -v "^\[" || true
if [ "${PIPESTATUS[0]}" != 0 ] || grep -q "error:" "$build_log"; then
  cat "$build_log" >&2
  echo "Tests/run.sh: build failed" >&2
  exit 1
fi
if grep -E "^/[^ ]*/(Sources|Tests)/[^ ]*: warning:" "$build_log" | grep -v "/.build/" | sort -u | grep .; then
  echo "Tests/run.sh: the build has warnings (above); the project builds warning-free" >&2
  exit 1
fi
rm -f "$build_log"

# Many suites start child processes (plugin, server, PostgreSQL, Redis); on a 2-core
# machine running every test at once starves them past their timeouts. Eight at a time
# keeps both cores busy without that.
swift test --experimental-maximum-parallelization-width "${TEST_PARALLELISM:-8}"

# Socket handover and upgrade tests need the release build (NIO asserts in debug builds
# when two processes share a listening socket); CI builds it once, here.
if [ "${RELEASE_TESTS:-1}" != 0 ]; then
  release_log=$(mktemp)
  if ! swift build -c release --static-swift-stdlib --product molecule-tenant >"$release_log" 2>&1; then
    cat "$release_log" >&2
    echo "Tests/run.sh: release build failed" >&2
    exit 1
  fi
  rm -f "$release_log"
  for script in Tests/release/*.sh; do BINARY=.build/release/molecule-tenant bash "$script"; done
fi

if [ "${LAB:-1}" != 0 ] && [ -x Tests/lab/tests.sh ]; then
  bash Tests/lab/tests.sh
fi
