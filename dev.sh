#!/usr/bin/env bash
# Reprise's one entry point for people and CI.
#
#   ./dev.sh run    install what is missing, build, run the hello lab (a dev server on a fresh SQLite
#                   file, a worker, the workflow, its history)
#   ./dev.sh server install what is missing, build, start a dev server on ./reprise-dev.db
#   ./dev.sh test   install what is missing, build, run the whole test suite under ctest
#   ./dev.sh build  install what is missing and build (into ./build)
#
# Everything comes from Debian's packages, plus two things from the npm registry: Temporal's package
# @temporalio/core-bridge, read for its .proto files only (proto conformance test), and Temporal's
# TypeScript SDK pinned by tests/interop/package-lock.json (the interop test). Re-running is cheap:
# installed packages are skipped, ccache and ninja rebuild only what changed.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake ninja-build ccache pkg-config libsqlite3-dev libboost-dev libprotobuf-dev
  protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libspdlog-dev catch2 nlohmann-json3-dev libcli11-dev
  libjemalloc-dev)
UPSTREAM_PROTOS_PACKAGE="@temporalio/core-bridge@1.24.0"
BUILD_DIR=${BUILD_DIR:-build}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js and npm run Temporal's TypeScript SDK (tests/interop). A machine may have them from
  # elsewhere than Debian's nodejs/npm packages; only a machine without npm gets Debian's.
  command -v npm >/dev/null || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Temporal's upstream .proto files, for tests/proto (our proto/ must match their names and numbers).
fetch_upstream_protos() {
  local dir="$BUILD_DIR/upstream"
  [ -d "$dir/package/sdk-core/crates/protos/protos/api_upstream" ] && return 0
  command -v npm >/dev/null || { say "npm not found: the proto conformance test will be skipped"; return 0; }
  say "fetching $UPSTREAM_PROTOS_PACKAGE for the proto conformance test"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$UPSTREAM_PROTOS_PACKAGE" >/dev/null && tar xzf temporalio-core-bridge-*.tgz \
    && rm -f temporalio-core-bridge-*.tgz) || say "could not fetch $UPSTREAM_PROTOS_PACKAGE: conformance test skipped"
}

# Temporal's TypeScript SDK for tests/interop, exactly as package-lock.json pins it. A stamp with the
# lockfile's hash marks a finished install, so a re-run with an unchanged lockfile does nothing.
install_interop_packages() {
  local dir=tests/interop
  local want
  want=$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$dir/node_modules/.reprise-lock-sha256" 2>/dev/null)" = "$want" ] && return 0
  command -v npm >/dev/null || { say "npm not found: the interop test (Temporal's TypeScript SDK) will fail"; return 0; }
  say "installing Temporal's TypeScript SDK for tests/interop (npm ci)"
  if (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "$want" >"$dir/node_modules/.reprise-lock-sha256"
  else
    say "npm ci failed in $dir: the interop test will fail"
  fi
}

build() {
  install_packages
  fetch_upstream_protos
  install_interop_packages
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
  export CCACHE_BASEDIR=$PWD  # lets clones and other build folders share cached objects
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    say "configuring $BUILD_DIR"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  say "building (log: $BUILD_DIR/build.log)"
  if ! cmake --build "$BUILD_DIR" -- -j"$(nproc)" >"$BUILD_DIR/build.log" 2>&1; then
    grep -E -A8 'error:|Error ' "$BUILD_DIR/build.log" | head -80 >&2
    say "build failed; see $BUILD_DIR/build.log"
    exit 1
  fi
}

case "${1:-}" in
  build)
    build
    ;;
  run)
    build
    say "running the hello lab (examples/hello/README.md says what to watch for)"
    REPRISE_BUILD="$PWD/$BUILD_DIR" exec examples/hello/run.sh
    ;;
  server)
    build
    say "starting the dev server on 127.0.0.1:7233 with history in ./reprise-dev.db (Ctrl-C stops it)"
    exec "$BUILD_DIR/client/reprise" server start-dev --db-filename reprise-dev.db
    ;;
  test)
    build
    say "running the tests"
    cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)" --timeout 600
    ;;
  *)
    echo "usage: ./dev.sh run | test | build | server" >&2
    exit 2
    ;;
esac
