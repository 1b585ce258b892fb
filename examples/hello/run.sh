#!/usr/bin/env bash
# Lab 1: the hello workflow, end to end, with one command:
#   examples/hello/run.sh
# It starts a dev server on a fresh SQLite file, starts the hello worker, executes the workflow,
# prints its result and its history, and stops what it started. Build first with ./dev.sh build.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

start_server hello.db
"$build/examples/hello/hello_worker" --address "$address" >"$dir/worker.log" 2>&1 &
worker=$!

echo "== Executing workflow 'greet' (it sleeps 2 s and retries a flaky activity twice: ~5 s)"
"$reprise" workflow execute --address "$address" --type greet --task-queue hello \
  --workflow-id hello-workflow --input '"Reprise"'
echo
echo "== Its history (* = events written from the worker's commands)"
"$reprise" workflow show --address "$address" --workflow-id hello-workflow
"$reprise" workflow show --address "$address" --workflow-id hello-workflow --output json >"$dir/history.json"
echo
echo "History saved as Temporal JSON in $dir/history.json"
