#!/usr/bin/env bash
# bench/replay_instructions.sh [N]: instructions per replayed event, per shape, counted by callgrind.
#
# replay_bench's ns/event moves with this VM's speed (15-20 % within an hour); the number of
# instructions one replay executes does not, so this is the figure to compare two commits by.
# callgrind runs replay_bench (~50x slower) counting only inside replay_once (one whole-history
# replay in a fresh WorkflowRun); the count per call over the calls made is the figure. The
# profile files stay in the work folder printed at the end, for callgrind_annotate --inclusive=yes.
#   REPRISE_BUILD=build bench/replay_instructions.sh 1000
set -euo pipefail
n=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${REPRISE_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
command -v valgrind > /dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cmake --build "$build" --target replay_bench -- -j2 > /dev/null
work=$(mktemp -d)

printf '%-11s %7s %9s %16s %14s\n' shape n events "instr/replay" "instr/event"
for shape in sequential timers fanout signals mixed; do
  out=$work/callgrind.$shape.$n
  valgrind --tool=callgrind --toggle-collect='*replay_once*' --callgrind-out-file="$out" \
    "$build/bench/replay_bench" --shapes "$shape" --n "$n" --no-cold --seconds 0.5 --reps 3 > /dev/null 2>&1
  events=$("$build/bench/replay_bench" --verify --shapes "$shape" --n "$n" | grep -o '[0-9]* events' | cut -d' ' -f1)
  total=$(awk '/^summary:/ {print $2}' "$out")
  # The calls into replay_once, from every place main calls it (warm-up, calibration, repetitions).
  id=$(grep -m1 'replay_once' "$out" | sed 's/^c\{0,1\}fn=(\([0-9]*\)).*/\1/')
  calls=$(grep -A1 "^cfn=($id)" "$out" | grep -o 'calls=[0-9]*' | cut -d= -f2 | awk '{ n += $1 } END { print n }')
  printf '%-11s %7s %9s %16s %14s\n' "$shape" "$n" "$events" $((total / calls)) $((total / calls / events))
done
echo "profiles: $work (callgrind_annotate --inclusive=yes $work/callgrind.sequential.$n)"
