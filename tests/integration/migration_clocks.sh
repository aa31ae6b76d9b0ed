#!/usr/bin/env bash
# Clocks across moves between nodes whose clocks differ (as other machines'
# do): node2's CLOCK_MONOTONIC and CLOCK_BOOTTIME run 1000 s ahead of
# node1's, node3's 2000 s (moscluster --clock-offsets: time namespaces).
# A program reading both clocks in a loop is moved home -> node2 -> node3 ->
# home -> node3 -> node2 -> home in each mode: neither clock may go back or
# jump by more than the freeze.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
[[ -e /proc/self/timens_offsets ]] || skip "no time namespaces in this kernel"
start_watchdog 600
arm_cleanup
mig_bin=${MOS_MIG_BIN:-$(dirname "$MOS_BIN")/tests/migration}
log "up --nodes 3 --clock-offsets 0,1000,2000"
"$MOSCLUSTER" up --nodes 3 --clock-offsets 0,1000,2000 >/dev/null || fail "moscluster up failed"
offsets=$(for p in $(pgrep -x mosixd || true); do awk '/^monotonic/ {print $2}' /proc/$p/timens_offsets; done | sort -n | tr '\n' ' ')
[[ $offsets == "0 1000 2000 " ]] || fail "the daemons' clock offsets are '$offsets', not 0 1000 2000"
for mode in stop precopy postcopy; do
  out=$("$MOSCLUSTER" exec node1 -- env MOS_BIN="$MOS_BIN" MIG_MODE=$mode \
    bash "$MOS_SRC/tests/migration/run_one.sh" "$MOS_SRC/tests/migration/clock_monotonic_steady.c" \
    "$mig_bin/clock_monotonic_steady" node2 node3 home node3 node2 home 2>&1) ||
    fail "$mode: $(echo "$out" | tail -5)"
  log "$mode: $(echo "$out" | grep -m1 'largest step'), 6 moves"
done
assert_no_guests node1 node2 node3
log "the clocks continued across every move"
