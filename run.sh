#!/usr/bin/env bash
# Runs cesync on a demo table: installs what is missing, builds cesync, starts Cassandra and
# OpenSearch on 127.0.0.1, creates the table demo.product when missing (demo/schema.cql) and
# its index anew (`cesync setup`), then runs `cesync run` (demo/cesync.yaml) with a generated
# write workload (demo/writer.py, about 20 writes a second) beside it. Rows of earlier runs stay:
# the daemon copies them first (its snapshot), then streams the changes.
#
#   ./run.sh            until Ctrl-C, which stops the writer and the daemon (the servers keep
#                       running; stop them with scripts/cluster down)
#   ./run.sh --for N    (or CESYNC_DEMO_SECONDS=N) write for N seconds, stop the writer, wait until
#                       the index has caught up (at most CESYNC_DEMO_CATCHUP_SECONDS, default 60),
#                       print a summary (rows in the table vs documents in the index), stop the
#                       daemon; exit 0 only when every row has its equal document
#
#   CESYNC_DEMO_FRESH=1 drop demo.product first, to start from an empty table
# The state file and the logs (cesync.log, writer.log) go to .demo/ (git-ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
seconds=${CESYNC_DEMO_SECONDS:-}
while (($#)); do
  case $1 in
    --for) seconds=${2:-none}; shift $(($# > 1 ? 2 : 1)) ;;
    --for=*) seconds=${1#--for=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$seconds" ] && ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: --for (CESYNC_DEMO_SECONDS) takes a whole number of seconds, got '$seconds'" >&2
  exit 2
fi
catchup=${CESYNC_DEMO_CATCHUP_SECONDS:-60}

CESYNC=build/src/cli/cesync
CONFIG=demo/cesync.yaml
DEMO=.demo
step() { printf '\n== %s\n' "$*"; }

step "dependencies"
./scripts/install-deps
step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target cesync
step "servers"
./scripts/cluster up cassandra opensearch

step "demo table"
mkdir -p "$DEMO"
# One demo at a time: the lock is held as long as this script or its daemon and writer run.
exec 9>"$DEMO/run.lock"
flock -n 9 || { echo "run.sh: another demo is running (it holds $DEMO/run.lock)" >&2; exit 1; }
rm -f "$DEMO"/cesync-state.db*
python3 demo/demo_db.py reset ${CESYNC_DEMO_FRESH:+--fresh}
"$CESYNC" setup --config "$CONFIG"

# The daemon and the writer run in sessions of their own, so a Ctrl-C reaches only this script,
# which then stops each of them exactly once. Their output goes to the terminal and to .demo/;
# the tee processes ignore SIGINT so that they print the shutdown lines too.
daemon="" writer="" timer="" finished="" daemon_status=0
stop() { # PID NAME: SIGTERM, SIGKILL after 30 s; sets $status to its exit status
  local pid=$1 name=$2 i
  status=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: $name did not stop within 30 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
}
cleanup() {
  [ -z "$finished" ] || return 0
  finished=1
  [ -z "$timer" ] || kill "$timer" 2>/dev/null || true
  stop "$writer" writer
  if [ -n "$daemon" ]; then
    stop "$daemon" "cesync run"
    daemon_status=$status
  fi
  echo
  echo "Stopped the writer and the daemon (exit status $daemon_status); the servers keep running:"
  echo "  scripts/cluster status    scripts/cluster down    (logs: $DEMO/cesync.log, $DEMO/writer.log)"
}
interrupted() {
  echo
  echo "run.sh: interrupted; stopping"
  cleanup
  exit "$daemon_status"
}
trap interrupted INT TERM HUP
trap cleanup EXIT

step "cesync run (Ctrl-C stops the writer and the daemon)"
setsid "$CESYNC" run --config "$CONFIG" > >(trap '' INT; exec tee "$DEMO/cesync.log") 2>&1 &
daemon=$!
setsid python3 -u demo/writer.py > >(trap '' INT; exec tee "$DEMO/writer.log") 2>&1 &
writer=$!

cat <<EOF

While it runs, in another terminal:
  curl 'http://127.0.0.1:9200/demo_product/_search?pretty&size=3'   # some documents
  curl 'http://127.0.0.1:9200/demo_product/_count?pretty'           # how many
  $CESYNC status --config $CONFIG             # what the daemon reports

EOF

# Waits for the first of the given (non-empty) pids to end: sets $ended to it and $ended_status.
wait_first() {
  local pids=() p
  for p in "$@"; do [ -z "$p" ] || pids+=("$p"); done
  ended="" ended_status=0
  wait -n -p ended "${pids[@]}" || ended_status=$?
}
daemon_ended() {
  daemon_status=$ended_status
  daemon=""
  echo "run.sh: cesync run exited $1 (status $daemon_status); see $DEMO/cesync.log" >&2
  cleanup
  exit 1
}

if [ -z "$seconds" ]; then
  # Until Ctrl-C (the trap), or until the daemon exits by itself.
  while true; do
    wait_first "$daemon" "$writer"
    if [ "$ended" = "$daemon" ]; then
      daemon_ended "by itself"
    elif [ -n "$ended" ] && [ "$ended" = "$writer" ]; then
      echo "run.sh: the writer exited (see $DEMO/writer.log); the daemon keeps running" >&2
      writer=""
    fi
  done
fi

sleep "$seconds" &
timer=$!
wait_first "$daemon" "$timer"
[ "$ended" != "$daemon" ] || daemon_ended "before the $seconds s were over"
timer=""

step "$seconds s are over: stopping the writer, waiting for the index to catch up (at most $catchup s)"
stop "$writer" writer
writer=""
compare_status=0
python3 demo/demo_db.py compare --wait "$catchup" >"$DEMO/summary.txt" || compare_status=$?
"$CESYNC" status --config "$CONFIG" || true
cleanup
echo
cat "$DEMO/summary.txt"
if [ "$compare_status" != 0 ] || [ "$daemon_status" != 0 ]; then
  [ "$daemon_status" = 0 ] || echo "run.sh: cesync run exited with status $daemon_status" >&2
  exit 1
fi
