#!/usr/bin/env bash
# Lab 2: kill the worker (and then the server), and watch the workflow finish anyway.
#   examples/kill_worker/run.sh
# Build first with ./dev.sh build.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
effects="$dir/side-effects.txt"
: >"$effects"

start_worker() {  # start_worker N: worker number N, logging to worker-N.log
  "$build/examples/kill_worker/pipeline_worker" --address "$address" --side-effects "$effects" \
    >>"$dir/worker-$1.log" 2>&1 &
  worker=$!
}
wait_for_completed_activities() {
  for _ in $(seq 600); do
    [ "$(count_in_history pipeline-workflow EVENT_TYPE_ACTIVITY_TASK_COMPLETED)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1 completed activities" >&2
  exit 1
}

start_server pipeline.db
start_worker 1
"$reprise" workflow start --address "$address" --type pipeline --task-queue pipeline \
  --workflow-id pipeline-workflow --input 4 >/dev/null
echo "== Started workflow pipeline-workflow (4 steps, a 2 s durable sleep after each)"

wait_for_completed_activities 2
kill -9 "$worker"; stop "$worker"
echo "== Killed worker 1 with SIGKILL after step 2. Side effects so far:"
sed 's/^/   /' "$effects"

start_worker 2
echo "== Started worker 2: it fetches the workflow's history and replays it up to where worker 1 stopped"
wait_for_completed_activities 3
kill -9 "$server"; stop "$server"
echo "== Killed the server with SIGKILL after step 3; restarting it on the same SQLite file"
start_server pipeline.db

echo "== Waiting for the result"
"$reprise" workflow result --address "$address" --workflow-id pipeline-workflow
stop "$worker"
worker=""
echo
echo "== What worker 2 did:"
grep -E "pipeline worker|replaying" "$dir/worker-2.log" | sed -E 's/^\[[^]]*\] \[[a-z]*\] //; s/^/   /'
echo "== Side effects (each step appears exactly once: completed activities never ran again):"
sed 's/^/   /' "$effects"
"$reprise" workflow show --address "$address" --workflow-id pipeline-workflow --output json >"$dir/history.json"
echo "== History saved in $dir/history.json"
