# Helpers for every integration test: logging, failing, skipping, a
# watchdog and polling. Sourced (by lib/moscluster.bash too), never run.
# Exit codes: 77 = skipped (not root, or a kernel feature is missing).

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# Fails the whole test after $1 seconds; the EXIT trap still runs `down`.
# The watchdog holds none of our stdio (CTest waits for every holder of the
# test's output before it calls the test done) and its sleep dies with it.
start_watchdog() {
  local seconds=$1 main=$$
  trap 'echo "FAIL: watchdog: test still running after '"$seconds"' s" >&2; exit 1' USR1
  (
    exec </dev/null >/dev/null 2>&1
    sleep "$seconds" &
    sleeper=$!
    trap 'kill $sleeper 2>/dev/null; exit 0' TERM
    wait $sleeper
    # The shell runs its trap once its foreground command is gone: signal
    # it first, then end that command (this subshell is a child too).
    kill -USR1 "$main"
    pkill -TERM -P "$main"
  ) &
  WATCHDOG_PID=$!
}

# Disarms the watchdog (tests with their own EXIT trap call this in it).
stop_watchdog() {
  if [[ -n ${WATCHDOG_PID:-} ]]; then
    kill "$WATCHDOG_PID" 2>/dev/null || true
    wait "$WATCHDOG_PID" 2>/dev/null || true
    WATCHDOG_PID=
  fi
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for: $what"
    sleep 0.25
  done
}


# scratch_and_watchdog PREFIX SECONDS: for tests that run daemons by hand.
# Makes the scratch directory $dir and the array pids (append the pid of
# every process you start); at exit both are cleaned up, watchdog included.
scratch_and_watchdog() {
  dir=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap _scratch_cleanup EXIT
  start_watchdog "$2"
}
_scratch_cleanup() {
  local rc=$?
  stop_watchdog
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
  exit "$rc"
}
