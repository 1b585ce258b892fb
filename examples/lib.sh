# Shared by the labs' run.sh scripts: where things are, and starting/stopping the processes a lab
# needs. Source it; then use $reprise, $address, $dir, start_server, wait_for_server, history_has.
# Environment: REPRISE_BUILD (build folder, default ./build), REPRISE_PORT (default 7233),
# REPRISE_LAB_DIR (database, logs and history.json; default a fresh temporary folder).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${REPRISE_BUILD:-$root/build}
port=${REPRISE_PORT:-7233}
dir=${REPRISE_LAB_DIR:-$(mktemp -d)}
address=127.0.0.1:$port
reprise="$build/client/reprise"
server=""
worker=""
trap 'kill $worker $server 2>/dev/null; wait 2>/dev/null || true' EXIT

# start_server DB_NAME: a dev server on $dir/DB_NAME; returns once it answers.
start_server() {
  "$reprise" server start-dev --db-filename "$dir/$1" --port "$port" --log-level warn >>"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    "$reprise" workflow list --address "$address" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the dev server did not start; see $dir/server.log" >&2
  exit 1
}

# stop PID: ends a process this script started and waits for it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# history_has WORKFLOW_ID TEXT: waits (up to 60 s) until the workflow's JSON history contains TEXT.
history_has() {
  local history
  for _ in $(seq 600); do
    # Read the whole output first: `... | grep -q` would stop reading early and fail under pipefail.
    history=$("$reprise" workflow show --address "$address" --workflow-id "$1" --output json 2>/dev/null || true)
    [[ "$history" == *"$2"* ]] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $2 in the history of $1" >&2
  exit 1
}

# count_in_history WORKFLOW_ID TEXT: how many times TEXT occurs in the workflow's JSON history.
count_in_history() {
  local history
  history=$("$reprise" workflow show --address "$address" --workflow-id "$1" --output json 2>/dev/null || true)
  grep -c "$2" <<<"$history" || true
}
