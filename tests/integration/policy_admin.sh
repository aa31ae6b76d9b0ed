#!/usr/bin/env bash
# The administrator's controls on a real 3-node cluster with automatic
# migration (moscluster up --policy), home node1:
#   mosctl lstay   node1's programs stay home, however loaded it is;
#   mosctl block   node2 receives no guests (the policy and mosrun -r alike),
#                  while the others spread to node3; unblock: node2 takes one;
#   mosctl expel   node2's guests leave it and do not come back;
#   mosrun -b      starts a program on the best node (home under lstay);
#   a node that stops sends its guests home before it goes;
#   only root may do any of it.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 400
arm_cleanup
cpu=$(dirname "$MOS_BIN")/tests/bench/bench_cpu_loop
[[ -x $cpu ]] || fail "bench_cpu_loop is not built"
M=$MOS_BIN/mosrun

log "up --nodes 3 --policy"
"$MOSCLUSTER" up --nodes 3 --policy >/dev/null || fail "moscluster up failed"
on() { local n=$1; shift; "$MOSCLUSTER" exec "$n" -- "$@"; }
ctl() { local n=$1; shift; on "$n" "$MOSCTL" "$@"; }
# Node of each of node1's programs, and their moves: "node1 node1 node3 | 1".
places() {
  on node1 "$MOS_BIN/mosps" | awk 'NR > 1 { w = w " " $2; m += $7 } END { print w " | " m + 0 }'
}
count_on() { places | tr ' ' '\n' | grep -cx "$1" || true; }

log "only root administers"
rc=0
out=$(on node1 setpriv --reuid=65534 --regid=65534 --clear-groups "$MOSCTL" block 2>&1) || rc=$?
[[ $rc == 4 && $out == *"only root"* ]] || fail "mosctl block as nobody: rc $rc, '$out'"
rc=0
out=$(ctl node1 block now 2>&1) || rc=$?
[[ $rc == 2 ]] || fail "mosctl block with an argument: rc $rc"

log "lstay: node1's programs stay home"
[[ $(ctl node1 lstay) == *"lstay"* ]] || fail "mosctl lstay said nothing of it"
ctl node1 status | grep -q "lstay (our programs stay home)" || fail "status does not show lstay"
jobs=()
for flag in -h -h -b; do
  on node1 "$M" "$flag" -q "$cpu" 1000000 >/dev/null 2>&1 &
  jobs+=($!)
done
# Killing the programs: their deputies are node1's mosruns.
# (wait with no job named would wait for the watchdog too.)
stop_jobs() {
  ((${#jobs[@]})) || return 0
  on node1 pkill -KILL -x bench_cpu_loop 2>/dev/null || true
  on node1 pkill -KILL -x mosrun 2>/dev/null || true
  wait "${jobs[@]}" 2>/dev/null || true
  jobs=()
}
trap 'stop_jobs; cleanup' EXIT
wait_until 10 "three programs" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | wc -l) == 4 ]]"
sleep 12
p=$(places)
[[ $p == " node1 node1 node1 | 0" ]] || fail "under lstay the programs moved (or -b left home): $p"

log "block node2, nolstay node1: the programs spread, to node3 only"
[[ $(ctl node2 block) == blocked* ]] || fail "mosctl block did not say blocked"
wait_until 10 "node1's board to show node2 blocked" bash -c \
  "'$MOSCLUSTER' exec node1 -- '$MOS_BIN/mon' --once --json | grep -q '\"name\":\"node2\"[^}]*\"accepts_guests\":false'"
ctl node1 nolstay >/dev/null
wait_until 30 "a program to reach node3" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | awk '\$2 == \"node3\"' | wc -l) -ge 1 ]]"
for _ in $(seq 15); do
  [[ $(count_on node2) == 0 ]] || fail "a guest reached blocked node2: $(places)"
  sleep 1
done
err=$(on node1 "$M" -r node2 /bin/true 2>&1) && fail "mosrun -r of a blocked node succeeded"
[[ $err == *"blocked by its administrator"* ]] || fail "mosrun -r node2 (blocked): '$err'"
log "  $(places)"

log "unblock node2: it takes a guest"
[[ $(ctl node2 unblock) == "taking guests"* ]] || fail "mosctl unblock"
wait_until 40 "a program to reach node2" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | awk '\$2 == \"node2\"' | wc -l) -ge 1 ]]"
ctl node2 status | grep -q "guests here: [1-9]" || fail "node2's status shows no guests"
log "  $(places)"

log "expel on node2: its guests leave and do not come back"
out=$(ctl node2 expel)
[[ $out == "blocked; asked the homes of "[1-9]*" to take them away" ]] || fail "mosctl expel: '$out'"
wait_until 20 "node2 to have no guests" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | awk '\$2 == \"node2\"' | wc -l) == 0 ]]"
for _ in $(seq 10); do
  [[ $(count_on node2) == 0 ]] || fail "a guest came back to node2 after expel: $(places)"
  sleep 1
done
[[ $(wc -w <<<"$(places)") == 5 ]] || fail "a program was lost: $(places)"
grep -q "expel: pid .* leaves node2 for home" /run/moscluster/node1/mosixd.log || fail "node1 did not log the expel"
log "  $(places)"

log "mosrun -b: a new program starts where it costs least (not blocked node2)"
n1=$(count_on node1) n3=$(count_on node3)
on node1 "$M" -b -q "$cpu" 1000000 >/dev/null 2>&1 &
jobs+=($!)
wait_until 10 "the fourth program" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | wc -l) == 5 ]]"
p=$(places)
if ((n3 < n1)); then want=node3 had=$n3; else want=node1 had=$n1; fi
[[ $(count_on "$want") == $((had + 1)) ]] || fail "mosrun -b did not start on $want: $p"
[[ $p != *node2* ]] || fail "mosrun -b started on blocked node2: $p"

log "a node that stops sends its guests home first"
on node1 "$M" -r node3 -q "$cpu" 1000000 >/dev/null 2>&1 &
jobs+=($!)
wait_until 10 "the fifth program" bash -c "[[ \$('$MOSCLUSTER' exec node1 -- '$MOS_BIN/mosps' | wc -l) == 6 ]]"
(($(count_on node3) >= 1)) || fail "nothing on node3 to send away: $(places)"
"$MOSCLUSTER" stop node3 >/dev/null
p=$(places)
[[ $(count_on node3) == 0 && $(wc -w <<<"$p") == 7 ]] || fail "after node3 stopped: $p"
grep -q "every guest has left" /run/moscluster/node3/mosixd.log || fail "node3 did not see its guests leave"
log "  $p"
stop_jobs
assert_no_guests node2 node3
log "passed"
