#!/usr/bin/env bash
# A real 4-node cluster: every node sees all 4 up; a mosixd killed with
# SIGKILL is seen as down by the others and comes back with `moscluster
# restart`; `moscluster down` leaves nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 300
arm_cleanup

log "up --nodes 4"
"$MOSCLUSTER" up --nodes 4 --speeds 1,1,0.5,0.25 || fail "moscluster up failed"

for k in 1 2 3 4; do
  node_reports "node$k" 4 4 || fail "node$k does not report '4 nodes configured, 4 up'"
done
log "every node sees 4 nodes up"

# The node is what it claims to be: its address, its cgroup with its quota,
# its own PID namespace and its own /tmp.
addr=$("$MOSCLUSTER" exec node3 -- ip -4 -o addr show dev eth0)
[[ $addr == *"inet 10.77.0.3/24 "* ]] || fail "node3 has no 10.77.0.3/24 on eth0: $addr"
cgroups=$("$MOSCLUSTER" exec node3 -- cat /proc/self/cgroup)
grep -Eq ':cpu(,[a-z]+)*:.*/mosix/node3$|^0::/mosix/node3$' <<<"$cgroups" ||
  fail "a command run on node3 is not in cgroup mosix/node3: $cgroups"
quota=$(cat "$(find /sys/fs/cgroup -path '*/mosix/node4/cpu.cfs_quota_us' | head -1)" 2>/dev/null ||
  awk '{print $1}' /sys/fs/cgroup/mosix/node4/cpu.max)
[[ $quota == 25000 ]] || fail "node4 (speed 0.25) has CPU quota $quota, not 25000"
[[ $("$MOSCLUSTER" exec node1 -- cat /proc/1/cmdline | tr '\0' ' ') == *__node-init* ]] ||
  fail "PID 1 of node1 is not its node init"
"$MOSCLUSTER" exec node1 -- sh -c 'echo only-on-node1 > /tmp/mos-cluster-basic'
if "$MOSCLUSTER" exec node2 -- test -e /tmp/mos-cluster-basic || [[ -e /tmp/mos-cluster-basic ]]; then
  fail "a file in node1's /tmp is visible elsewhere"
fi

log "SIGKILL mosixd on node2"
"$MOSCLUSTER" exec node2 -- pkill -KILL -x mosixd || fail "no mosixd to kill on node2"
wait_until 30 "node1 to see node2 down" node_reports node1 4 3
"$MOSCLUSTER" exec node2 -- true || fail "node2 died with its daemon"
status=$("$MOSCLUSTER" status)
grep -Eq '^node2 .* stopped ' <<<"$status" ||
  fail "moscluster status does not show node2's mosixd as stopped: $status"

log "restart node2"
"$MOSCLUSTER" restart node2 || fail "moscluster restart node2 failed"
for k in 1 2 3 4; do
  wait_until 30 "node$k to see 4 nodes up again" node_reports "node$k" 4 4
done

log "down"
"$MOSCLUSTER" down || fail "moscluster down failed"
assert_nothing_left
echo PASS
