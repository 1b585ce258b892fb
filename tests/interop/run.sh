#!/usr/bin/env bash
# Runs the interop suite: compiles the TypeScript (tsc, from node_modules) and runs it with node's
# own test runner against the given reprise binary. ctest calls this (tests/interop/CMakeLists.txt).
#
#   tests/interop/run.sh build/client/reprise build/tests/interop/interop_cpp_worker
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REPRISE_BIN INTEROP_CPP_WORKER_BIN" >&2; exit 2; }
REPRISE_BIN=$(realpath "$1")
REPRISE_CPP_WORKER=$(realpath "$2")
export REPRISE_BIN REPRISE_CPP_WORKER
cd "$(dirname "$0")"

fail() { echo "interop: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed: the TypeScript SDK suite cannot run (install Node.js 20 and npm)"
command -v npm >/dev/null || fail "npm is not installed: the TypeScript SDK suite cannot run (install Node.js 20 and npm)"
# ./dev.sh writes this stamp after `npm ci`; without it node_modules may be missing or stale.
[ "$(cat node_modules/.reprise-lock-sha256 2>/dev/null)" = "$(sha256sum <package-lock.json | cut -d' ' -f1)" ] \
  || fail "node_modules is missing or older than package-lock.json: run ./dev.sh build (it runs npm ci here)"

node_modules/.bin/tsc -p .
exec node --test --test-concurrency=1 --test-reporter=spec lib/test/
