#!/usr/bin/env bash
# Benchmark of syscall forwarding with the body on another node (results:
# docs/performance.md). On a 3-node moscluster (brought up here unless one
# is up; home node1, body on node2), in one run:
#  1. per-call cost of getppid, a 1-byte pipe write+read, a 4 KiB and a
#     1 MiB pread: native on node1, under mosrun -h, under mosrun -r node2;
#     next to the raw TCP round trip node1 <-> node2 with the same reply
#     sizes (tcp_rtt), measured between the same two network namespaces;
#  2. slowdown of a CPU-bound program and of sort of a 50 MB file under
#     mosrun -r node2, next to native on node1.
# Usage (as root, after scripts/setup.sh): tests/bench/forwarding_remote.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${BUILD_DIR:-build}")
MC=$BUILD/cli/moscluster
M=$BUILD/cli/mosrun
COST=$BUILD/tests/bench/bench_syscall_cost
CPU=$BUILD/tests/bench/bench_cpu_loop
RTT=$BUILD/tests/bench/bench_tcp_rtt
ITER=${1:-20000}
ours=0
if [[ ! -e /run/moscluster/cluster ]]; then
  "$MC" up --nodes 3 >/dev/null
  ours=1
fi
on() { local n=$1; shift; "$MC" exec "$n" -- "$@"; }
work=$(on node1 mktemp -d /tmp/mos-bench-remote.XXXXXX)
cleanup() {
  on node1 rm -rf "$work" 2>/dev/null || true
  if ((ours)); then "$MC" down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "== per-call cost (ns, median of 5 batches); home node1, body on node2"
on node2 "$RTT" server 47400 &
srv=$!
on node1 "$RTT" client 10.77.0.2 47400 "$ITER" > "$work.rtt"
wait $srv
on node1 env MOS_BENCH_DIR="$work" "$COST" "$ITER" > "$work.native"
on node1 env MOS_BENCH_DIR="$work" "$M" -h "$COST" "$ITER" > "$work.home"
on node1 env MOS_BENCH_DIR="$work" "$M" -r node2 "$COST" "$ITER" > "$work.remote"
printf '%-20s %10s %12s %12s %12s %14s\n' call native mosrun-home mosrun-r raw-tcp-rtt "remote-minus-rtt"
paste <(awk '{print $1, $3}' "$work.native") <(awk '{print $3}' "$work.home") \
  <(awk '{print $3}' "$work.remote") <(awk '{print $3}' "$work.rtt" | sed -n '1p;1p;2p;3p') |
  awk '{printf "%-20s %10d %12d %12d %12d %+13.1fus\n", $1, $2, $3, $4, $5, ($4 - $5 * ($1 ~ /pipe/ ? 2 : 1)) / 1000}'
echo "(raw-tcp-rtt: one round trip with the same reply size: 1 B for getppid, 4 KiB, 1 MiB;"
echo " the pipe row is two forwarded calls, its baseline two round trips)"

# The same with every process of both nodes on one CPU: on this VM a
# wake-up across CPUs costs tens of microseconds, one on the same CPU a few
# (both nodes share the VM's two CPUs, which real nodes would not).
echo
echo "== the same, deputy, guest supervisor, body and the raw-TCP pair all on CPU 0"
d2=$(cat /run/moscluster/node2/mosixd.pid)
taskset -a -p -c 0 "$d2" >/dev/null
on node2 taskset -c 0 "$RTT" server 47401 &
srv=$!
on node1 taskset -c 0 "$RTT" client 10.77.0.2 47401 "$ITER" > "$work.rtt"
wait $srv
on node1 env MOS_BENCH_DIR="$work" taskset -c 0 "$M" -r node2 "$COST" "$ITER" > "$work.remote"
taskset -a -p -c "0-$(($(nproc) - 1))" "$d2" >/dev/null
printf '%-20s %12s %12s %14s\n' call mosrun-r raw-tcp-rtt "remote-minus-rtt"
paste <(awk '{print $1, $3}' "$work.remote") <(awk '{print $3}' "$work.rtt" | sed -n '1p;1p;2p;3p') |
  awk '{printf "%-20s %12d %12d %+13.1fus\n", $1, $2, $3, ($2 - $3 * ($1 ~ /pipe/ ? 2 : 1)) / 1000}'
rm -f "$work.rtt" "$work.native" "$work.home" "$work.remote"

echo
echo "== whole programs (wall seconds, best of 3), native on node1 vs body on node2"
best() { # NODE CMD...: best wall time of 3 runs, output discarded
  local b=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    on "$@" > /dev/null
    t1=$(date +%s.%N)
    b=$(python3 -c "t=$t1-$t0; b='$b'; print(min(t, float(b)) if b else t)")
  done
  echo "$b"
}
on node1 python3 -c "
import random
random.seed(1)
with open('$work/big.txt', 'w') as f:
    for i in range(5_000_000):
        f.write('%d\n' % random.getrandbits(40))"
printf '%-28s %10s %10s %10s\n' program native mosrun-r slowdown
for spec in "cpu_loop:$CPU 800" "sort_50MB:/usr/bin/sort --parallel=1 $work/big.txt"; do
  name=${spec%%:*}
  cmd=${spec#*:}
  n=$(best node1 $cmd)
  m=$(best node1 "$M" -r node2 $cmd)
  python3 -c "print('%-28s %10.3f %10.3f %+9.1f%%' % ('$name', $n, $m, ($m / $n - 1) * 100))"
done
