#!/usr/bin/env bash
# Table 3 of the MOSIX MPI paper, scaled down for CI: tests/bench/uneven_workload.sh
# on a 7-node moscluster (each node one core at a quarter of a CPU), with a
# job of 60 s of long and 12 s of short work, k = 1, 2, 3, 4, 6 processes per
# core, and one run without migration (k = 2). With migration every run must
# be within 10% + 4 s of the paper's optimal (4 s: a body is held 3 s after
# the loop first sees it, and the loop and the gossip run every 0.5 s, a
# fixed cost that a 20 s run cannot hide) and at most 80% of the run
# without. (The issue's bound is 3%; docs/performance.md has the full-size
# runs: see "Uneven workload".)
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 900
arm_cleanup
MOS_BIN=$MOS_BIN bash "$MOS_SRC/tests/bench/uneven_workload.sh" --long 60 --short 12 \
  --ks 1,2,3,4,6 --without 2 --check 10 --slack 4 || fail "the uneven workload missed its bound"
log "passed"
