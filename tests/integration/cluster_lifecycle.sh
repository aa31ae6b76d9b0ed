#!/usr/bin/env bash
# moscluster's edges: bad arguments change nothing, `up` twice refuses the
# second time and leaves the first cluster working, `down` twice is fine, a
# failing or killed `up` leaves nothing that `down` cannot remove.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 300
arm_cleanup

# expect_exit CODE COMMAND...: runs COMMAND, checks its exit status.
expect_exit() {
  local want=$1 rc=0
  shift
  "$@" >/dev/null 2>&1 || rc=$?
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want"
}

log "bad arguments"
expect_exit 2 "$MOSCLUSTER"
expect_exit 2 "$MOSCLUSTER" frobnicate
expect_exit 2 "$MOSCLUSTER" up
expect_exit 2 "$MOSCLUSTER" up --nodes 0
expect_exit 2 "$MOSCLUSTER" up --nodes many
expect_exit 2 "$MOSCLUSTER" up --nodes 300
expect_exit 2 "$MOSCLUSTER" up --nodes 3 --speeds 1,0.5
expect_exit 2 "$MOSCLUSTER" up --nodes 2 --speeds 0
expect_exit 2 "$MOSCLUSTER" up --nodes 2 --mem 12Q
expect_exit 2 "$MOSCLUSTER" up --nodes 2 --bogus
expect_exit 2 "$MOSCLUSTER" exec
expect_exit 2 "$MOSCLUSTER" exec node1
expect_exit 2 "$MOSCLUSTER" stop
expect_exit 2 "$MOSCLUSTER" down now
assert_nothing_left

if command -v setpriv >/dev/null; then
  log "not root"
  expect_exit 2 setpriv --reuid=65534 --regid=65534 --clear-groups "$MOSCLUSTER" status
fi

log "down with nothing up, twice"
expect_exit 0 "$MOSCLUSTER" down
expect_exit 0 "$MOSCLUSTER" down
assert_nothing_left

log "a failing up rolls back"
expect_exit 1 "$MOSCLUSTER" up --nodes 2 --mosixd /nonexistent/mosixd
assert_nothing_left
# /bin/false starts, then exits: up has made everything by the time it notices.
expect_exit 1 "$MOSCLUSTER" up --nodes 2 --mosixd /bin/false --timeout 10
assert_nothing_left

log "up twice"
"$MOSCLUSTER" up --nodes 2 >/dev/null || fail "moscluster up failed"
out=$("$MOSCLUSTER" up --nodes 2 2>&1) && fail "a second up succeeded"
grep -q "cluster already up" <<<"$out" || fail "second up did not say 'cluster already up': $out"
node_reports node1 2 2 || fail "the second up disturbed the first cluster"
node_reports node2 2 2 || fail "the second up disturbed the first cluster"

log "down twice"
expect_exit 0 "$MOSCLUSTER" down
assert_nothing_left
expect_exit 0 "$MOSCLUSTER" down
assert_nothing_left

log "an up killed half way is cleaned up by down"
for delay in 0.05 0.2; do
  "$MOSCLUSTER" up --nodes 3 >/dev/null 2>&1 &
  up_pid=$!
  sleep "$delay"
  kill -KILL "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  expect_exit 0 "$MOSCLUSTER" down
  assert_nothing_left
done
echo PASS
