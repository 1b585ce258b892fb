#!/usr/bin/env bash
# bench/server_instructions.sh [reprise-binary ...]: the dev server's instructions per workflow,
# counted by callgrind, for each server binary given (default: this build's).
#
# e2e_bench's wf/s and CPU per workflow move with this VM's phase (15-20 % within an hour), so a
# server change worth a few percent needs many alternating pairs to show. The instructions the
# server executes for a fixed run hardly move (two runs of one binary differ by < 0.3 %): this
# runs e2e_bench with the server under callgrind (~50x slower, so the run is bounded by count,
# not time) and divides the server's instructions, less those of a run with no workflows (start,
# idle polls, shutdown), by the workflows completed. What it cannot see: the kernel's share
# (system calls, switches; a quarter of the server's CPU) and waiting.
# One pitfall: now and then (1 run in 6 here) gRPC's executor threads, which gRPC hands work to
# by how long a thread has been busy, take over under callgrind's slow clock and the count
# triples; an idle run varies too (39 M or 55 M). So every binary runs REPEAT times (default 2),
# idle and loaded, and the smallest counts stand; each loaded run's figure is printed. Profiles
# stay in the work folder printed at the end (callgrind_annotate --inclusive=yes <file>).
#   ACTIVITIES=10 CONCURRENCY=64 COUNT=300 REPEAT=2 bench/server_instructions.sh build/client/reprise /tmp/reprise-old
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${REPRISE_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
activities=${ACTIVITIES:-10}
concurrency=${CONCURRENCY:-64}
count=${COUNT:-300}
repeat=${REPEAT:-2}
command -v valgrind > /dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cmake --build "$build" --target e2e_bench reprise -- -j2 > /dev/null
[ $# -gt 0 ] || set -- "$build/client/reprise"
work=$(mktemp -d)

# e2e_bench starts the server as `<binary> server start-dev ...`; this wrapper puts callgrind in
# front, its profile named after the binary's turn ($TURN) and the run ($RUN).
cat > "$work/callgrind-server" << 'EOF'
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$TURN.$RUN" "$BINARY" "$@"
EOF
chmod +x "$work/callgrind-server"

# Runs e2e_bench once; prints the server's instruction total. Fails (and so stops the script,
# whose callers assign its output) when the run leaves no profile: a server that did not start
# or stop in time under callgrind is killed before it writes one.
run() {  # run <turn> <name> <count> <warmup> <binary>
  local log=$work/e2e.$1.$2.log profile=$work/callgrind.$1.$2
  local status=0
  WORK=$work TURN=$1 RUN=$2 BINARY=$5 "$build/bench/e2e_bench" --reprise "$work/callgrind-server" \
    --activities "$activities" --concurrency "$concurrency" --count "$3" --warmup "$4" --seconds 600 > "$log" 2>&1 || status=$?
  if [ "$3" -eq 0 ]; then
    # A run with no workflows reports FAILED and keeps its work folder: nothing in it is needed.
    local kept
    kept=$(sed -n 's/^work folder kept: //p' "$log")
    if [ -n "$kept" ]; then rm -rf "$kept"; fi
  elif [ "$status" -ne 0 ]; then
    echo "e2e_bench failed (exit $status): see $log" >&2
    return 1
  fi
  local total
  total=$(awk '/^summary:/ {print $2}' "$profile" 2> /dev/null)
  if ! [[ $total =~ ^[0-9]+$ ]]; then
    echo "no callgrind profile $profile: see $log" >&2
    return 1
  fi
  echo "$total"
}

printf '%-36s %9s %14s %12s %10s  %s\n' server workflows instructions "idle run" instr/wf "(each run)"
turn=0
for binary in "$@"; do
  turn=$((turn + 1))
  warmup=$concurrency
  workflows=$((count + warmup))
  least='' runs='' idle=''
  for r in $(seq "$repeat"); do
    count_idle=$(run "$turn" "idle$r" 0 0 "$binary")
    if [ -z "$idle" ] || [ "$count_idle" -lt "$idle" ]; then idle=$count_idle; fi
  done
  for r in $(seq "$repeat"); do
    total=$(run "$turn" "load$r" "$count" "$warmup" "$binary")
    runs="$runs $(((total - idle) / workflows))"
    if [ -z "$least" ] || [ "$total" -lt "$least" ]; then least=$total; fi
  done
  printf '%-36s %9s %14s %12s %10s  %s\n' "$binary" "$workflows" "$least" "$idle" $(((least - idle) / workflows)) "($runs )"
done
echo "activities $activities, concurrency $concurrency; profiles: $work"
