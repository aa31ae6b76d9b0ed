#!/usr/bin/env bash
# Memory pressure (MOSIX MPI paper, Sec. 4.5), in CI: tests/bench/memory_pressure.sh
# on a 3-node moscluster whose nodes hold 700 MiB each: three programs of
# 300 MiB that grow at home. Without migration the OOM killer must take one
# (the run tests something); with automatic migration all three must finish
# with every page intact.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 600
arm_cleanup
[[ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]] || grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null ||
  skip "no memory cgroup controller (node memory limits)"
MOS_BIN=$MOS_BIN bash "$MOS_SRC/tests/bench/memory_pressure.sh" --check ||
  fail "memory pressure was not resolved by migration"
log "passed"
