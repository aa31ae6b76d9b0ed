# Shared helpers for the integration tests (sourced, not run).
#
# mos_watchdog SECONDS: the test fails (exit 1, EXIT trap runs) if it is still
# running after SECONDS; its children are terminated first so a stuck command
# cannot keep the test alive. mos_watchdog_stop disarms it. The watchdog
# holds no stdout/stderr, so CTest never waits on it.

mos_watchdog() {
  local secs=$1 me=$$
  trap 'echo "FAIL: watchdog: test still running after '"$secs"' s"; exit 1' TERM
  (
    exec </dev/null >/dev/null 2>&1
    sleep "$secs" &
    s=$!
    trap 'kill $s 2>/dev/null; exit 0' TERM
    wait $s
    # The shell first (its trap runs once the foreground child is gone),
    # then its children, so that the child it waits on ends now.
    kill -TERM "$me"
    pkill -TERM -P "$me"
  ) &
  MOS_WATCHDOG_PID=$!
}

mos_watchdog_stop() {
  if [ -n "${MOS_WATCHDOG_PID:-}" ]; then
    kill -TERM "$MOS_WATCHDOG_PID" 2>/dev/null || true
    wait "$MOS_WATCHDOG_PID" 2>/dev/null || true
    MOS_WATCHDOG_PID=
  fi
}

# mos_require_root: skip (exit 77) unless running as root.
mos_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (network namespaces, cgroups)"
    exit 77
  fi
}

# mos_wait_for SECONDS CMD...: polls CMD every 0.1 s; false on timeout.
mos_wait_for() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  while [ "$SECONDS" -le "$end" ]; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}
