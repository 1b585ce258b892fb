#!/usr/bin/env bash
# bench/run.sh quick|full: builds the bench targets, runs them, prints tables, and appends JSON lines
# to bench/results/. quick takes about five minutes on 2 cores; full takes much longer (N up to
# 100,000, end-to-end runs of 30 s each).
#   REPRISE_BUILD=build-bench bench/run.sh quick
set -euo pipefail
profile=${1:-quick}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${REPRISE_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
results=$root/bench/results
mkdir -p "$results"
cmake --build "$build" --target replay_bench sticky_curve e2e_bench reprise -- -j2
cd "$root"  # the commit stamped on each result is this repository's

case $profile in
  quick)
    replay=(--n 10,100,1000 --reps 5 --seconds 1)
    sticky=(--n 10,100,1000 --budget 60)
    e2e=(--activities 1,10 --concurrency 16,64 --count 20000 --seconds 15)
    ;;
  full)
    "$build/bench/replay_bench" --verify --n 10,1000,10000,100000
    replay=(--n 10,100,1000,10000,100000 --reps 7 --seconds 3)
    sticky=(--n 10,100,1000,10000 --budget 600)
    e2e=(--activities 1,10 --concurrency 1,16,64,128 --count 100000 --seconds 30)
    ;;
  *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac

echo "== replay: whole histories, fresh WorkflowRun each (results/replay.jsonl)"
"$build/bench/replay_bench" "${replay[@]}" --out "$results/replay.jsonl"
echo
echo "== sticky cache on vs off: worker CPU for one workflow of N steps (results/sticky.jsonl)"
"$build/bench/sticky_curve" "${sticky[@]}" --out "$results/sticky.jsonl"
echo
echo "== the cheapest RPC, for scale: GetSystemInfo from 16 threads, then 16 callback chains (results/rpc_floor.jsonl)"
"$build/bench/e2e_bench" --rpc-floor 16 --seconds 3 --out "$results/rpc_floor.jsonl"
"$build/bench/e2e_bench" --rpc-floor 16 --rpc-callback --seconds 3 --out "$results/rpc_floor.jsonl"
echo
echo "== end to end: server (SQLite, synchronous=FULL) + 2 worker processes + load generator (results/e2e.jsonl)"
echo "   load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/e2e_bench" "${e2e[@]}" --out "$results/e2e.jsonl" ${REPRISE_E2E_ARGS:-}
