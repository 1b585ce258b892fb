#!/usr/bin/env bash
# Lab 3: break determinism on purpose and watch the engine catch it.
#   examples/break_determinism/run.sh [v2-rand|v2-reorder]     (default v2-rand)
# Build first with ./dev.sh build.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
variant=${1:-v2-rand}
workflow_id=order-$variant

start_worker() {  # start_worker VERSION
  "$build/examples/break_determinism/orders_worker" --address "$address" --version "$1" \
    >>"$dir/worker-$1.log" 2>&1 &
  worker=$!
}

start_server orders.db
start_worker v1
"$reprise" workflow start --address "$address" --type order --task-queue orders --workflow-id "$workflow_id" \
  --input '"order-42"' --task-timeout 2 >/dev/null
history_has "$workflow_id" EVENT_TYPE_TIMER_STARTED
stop "$worker"
echo "== v1 reserved stock and is sleeping 5 s. Deploying $variant instead of v1."

start_worker "$variant"
history_has "$workflow_id" WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
echo "== The $variant worker replayed the history and its code disagreed with it:"
"$reprise" workflow show --address "$address" --workflow-id "$workflow_id" | grep WorkflowTaskFailed | sed 's/^/   /'
echo "== The workflow has not failed, it is stuck: its workflow task is retried until fixed code runs it."
"$reprise" workflow describe --address "$address" --workflow-id "$workflow_id" | grep -E "Status|Pending" |
  sed 's/^/   /'
stop "$worker"

echo "== Rolling back to v1"
start_worker v1
"$reprise" workflow result --address "$address" --workflow-id "$workflow_id"
stop "$worker"
worker=""
"$reprise" workflow show --address "$address" --workflow-id "$workflow_id" --output json >"$dir/history.json"
echo "== Completed after the rollback; history saved in $dir/history.json"
