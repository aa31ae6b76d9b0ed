#!/usr/bin/env bash
# Migration errors and failures: bad requests get clear errors and exit
# codes; a target supervisor killed while the pages arrive, a target node
# whose daemon is gone, a source supervisor or a deputy killed mid-move:
# the program either runs on where it was (and finishes correctly) or is
# killed cleanly, never hangs, and nothing is left on any node.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 900
arm_cleanup
mig_bin=${MOS_MIG_BIN:-$(dirname "$MOS_BIN")/tests/migration}
[[ -x $MOS_BIN/migrate && -x $mig_bin/mem_pattern_256m ]] || fail "migrate or the suite is not built"

log "up --nodes 3"
"$MOSCLUSTER" up --nodes 3 >/dev/null || fail "moscluster up failed"
work=$(mktemp -d /var/tmp/mos-faults.XXXXXX)
trap 'rm -rf -- "$work"; cleanup' EXIT

# The scenarios run inside node1 (the home), one bash script each.
in_home() { "$MOSCLUSTER" exec node1 -- env MOS_BIN="$MOS_BIN" W="$work" PROG="$mig_bin/mem_pattern_256m" bash -c "$1"; }
prelude='set -u
start() { mkfifo "$W/in.$1"; exec 9<>"$W/in.$1"; "$MOS_BIN/mosrun" -h "$PROG" <"$W/in.$1" >"$W/out.$1" 2>"$W/err.$1" & P=$!;
  trap "kill -9 $P 2>/dev/null" EXIT;
  for _ in $(seq 200); do grep -q READY "$W/out.$1" && return 0; sleep 0.05; done; echo "no READY"; exit 1; }
finish() { echo go >&9; wait $P; rc=$?; grep -q PASS "$W/out.$1" || { echo "program did not pass (exit $rc): $(cat "$W/out.$1" "$W/err.$1")"; exit 1; }; }
expect_rc() { local want=$1; shift; local rc=0; "$@" >"$W/mig.out" 2>&1 || rc=$?; [[ $rc == "$want" ]] || { echo "$* exited $rc, not $want: $(cat "$W/mig.out")"; exit 1; }; cat "$W/mig.out"; }
'

log "bad requests"
in_home "$prelude"'
start bad
expect_rc 4 "$MOS_BIN/migrate" $P nosuchnode
expect_rc 2 "$MOS_BIN/migrate" $P
expect_rc 2 "$MOS_BIN/migrate" notapid node2
expect_rc 3 "$MOS_BIN/migrate" 999999 node2
expect_rc 13 setpriv --reuid=65534 --regid=65534 --clear-groups "$MOS_BIN/migrate" $P node2
expect_rc 1 "$MOS_BIN/migrate" $P home
"$MOS_BIN/mosps" | grep -q "^ *$P .*home" || { echo "mosps does not show $P at home"; exit 1; }
finish bad' || fail "bad requests"

log "mosrun -M: started at home, moved to node2 as soon as it runs"
in_home "$prelude"'
mkfifo "$W/in.m"; exec 9<>"$W/in.m"
"$MOS_BIN/mosrun" -M node2 "$PROG" <"$W/in.m" >"$W/out.m" 2>"$W/err.m" & P=$!
for _ in $(seq 200); do grep -q READY "$W/out.m" && break; sleep 0.05; done
for _ in $(seq 100); do "$MOS_BIN/mosps" | grep -q "^ *$P node2 *remote" && break; sleep 0.1; done
"$MOS_BIN/mosps" | grep -q "^ *$P node2 *remote" || { echo "mosps does not show $P on node2: $("$MOS_BIN/mosps")"; exit 1; }
finish m' || fail "mosrun -M"

# Kills node2's guest supervisor 50 ms after it appears (while the pages
# of a move to node2 arrive).
kill_target_soon() {
  local g
  for _ in $(seq 2000); do
    if g=$("$MOSCLUSTER" exec node2 -- pgrep -x mos-guest 2>/dev/null); then
      sleep 0.05
      "$MOSCLUSTER" exec node2 -- kill -9 $g && return 0
      return 1
    fi
    sleep 0.005
  done
  return 1
}

for mode in stop precopy; do
  log "$mode: the target supervisor killed while the pages arrive: the program runs on at home"
  # (Exit 3: the kill came after the move; tried again.)
  for try in 1 2 3 4 5; do
    in_home "$prelude"'
start tk$$
if "$MOS_BIN/migrate" -m '$mode' $P node2 >"$W/mig.tk" 2>&1; then
  echo "too late, moved: $(cat "$W/mig.tk")"; exit 3
fi
echo "migrate: $(cat "$W/mig.tk")"
"$MOS_BIN/migrate" -m '$mode' $P node3 || { echo "a second move failed"; exit 1; }
finish tk$$' &
    scenario=$!
    kill_target_soon || fail "never saw the guest supervisor on node2"
    rc=0
    wait $scenario || rc=$?
    ((rc == 3)) && continue
    ((rc == 0)) || fail "$mode: target killed"
    break
  done
  ((rc == 0)) || fail "$mode: the kill never came in time"

  log "$mode: the source supervisor killed mid-move: the program is killed cleanly"
  in_home "$prelude"'
start sk$$
"$MOS_BIN/migrate" -m '$mode' $P node2 >"$W/mig.sk$$" 2>&1 & M=$!
for _ in $(seq 400); do s=$(pgrep -x mos-supervisor) && break; sleep 0.005; done
sleep 0.05; kill -9 $s
rc=0; wait $M || rc=$?
wait $P; prc=$?
[[ $prc == 137 ]] || { echo "program exit $prc, not killed by SIGKILL"; exit 1; }
echo "migrate exit $rc, program killed by SIGKILL"' || fail "$mode: source killed"
  assert_no_guests node1 node2 node3
done

log "postcopy: the source supervisor killed while the body runs at node2 and its pages follow: the program is killed cleanly"
in_home "$prelude"'
start pk
s=$(pgrep -x mos-supervisor)
"$MOS_BIN/migrate" -m postcopy $P node2 || { echo "the move failed"; exit 1; }
kill -9 $s
wait $P; prc=$?
[[ $prc == 137 ]] || { echo "program exit $prc, not killed by SIGKILL"; exit 1; }
echo "program killed by SIGKILL"' || fail "postcopy: source killed"
assert_no_guests node1 node2 node3

log "postcopy: the target supervisor killed while the pages arrive: moved and killed, or not moved and running"
in_home "$prelude"'
start pt
if "$MOS_BIN/migrate" -m postcopy $P node2 >"$W/mig.pt" 2>&1; then
  wait $P; prc=$?
  [[ $prc == 137 ]] || { echo "program exit $prc after its body was killed at node2"; exit 1; }
  echo "moved, then killed with its body: $(cat "$W/mig.pt")"
else
  echo "not moved: $(cat "$W/mig.pt")"
  finish pt
fi' &
scenario=$!
kill_target_soon || fail "never saw the guest supervisor on node2"
wait $scenario || fail "postcopy: target killed"
assert_no_guests node1 node2 node3

log "the deputy killed mid-move: nothing is left"
in_home "$prelude"'
start dk
"$MOS_BIN/migrate" $P node3 >"$W/mig.dk" 2>&1 & M=$!
sleep 0.1; kill -9 $P
wait $M; wait $P 2>/dev/null; true' || fail "deputy killed"

log "a target node without its daemon"
"$MOSCLUSTER" exec node3 -- pkill -x mosixd || fail "cannot stop node3's daemon"
in_home "$prelude"'
start down
for _ in $(seq 100); do rc=0; "$MOS_BIN/migrate" $P node3 >"$W/mig.down" 2>&1 || rc=$?; [[ $rc == 5 ]] && break; sleep 0.2; done
[[ $rc == 5 ]] || { echo "migrate to a node without its daemon exited $rc: $(cat "$W/mig.down")"; exit 1; }
echo "$(cat "$W/mig.down")"
finish down' || fail "target down"
assert_no_guests node1 node2 node3
log "all failure scenarios behaved"
