#!/usr/bin/env bash
# Benchmark of syscall forwarding at home (results: docs/performance.md):
#  1. per-call cost of getppid, a 1-byte pipe write+read, a 4 KiB and a
#     1 MiB pread: native, and under mosrun (forwarded to the deputy), in
#     the same run;
#  2. slowdown of a CPU-bound program (no syscalls) and of a syscall-heavy
#     one (sort of a 50 MB file) under mosrun, next to native.
# Usage (after scripts/setup.sh): tests/bench/forwarding.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD_DIR:-build}
M=$BUILD/cli/mosrun
COST=$BUILD/tests/bench/bench_syscall_cost
CPU=$BUILD/tests/bench/bench_cpu_loop
ITER=${1:-20000}
work=$(mktemp -d /tmp/mos-bench-fwd.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MOS_BENCH_DIR=$work

echo "== per-call cost (ns, median of 5 batches)"
"$COST" "$ITER" > "$work/native"
"$M" "$COST" "$ITER" > "$work/mosrun"
printf '%-20s %12s %12s %10s\n' call native mosrun-home overhead
join <(awk '{print $1, $3}' "$work/native") <(awk '{print $1, $3}' "$work/mosrun") |
  awk '{printf "%-20s %12d %12d %+9.1fus\n", $1, $2, $3, ($3 - $2) / 1000}'

echo
echo "== whole programs (wall seconds, best of 3)"
best() { # CMD...: best wall time of 3 runs, output discarded
  local b=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    b=$(python3 -c "t=$t1-$t0; b='$b'; print(min(t, float(b)) if b else t)")
  done
  echo "$b"
}
python3 -c "
import random
random.seed(1)
with open('$work/big.txt', 'w') as f:
    for i in range(5_000_000):
        f.write('%d\n' % random.getrandbits(40))"
printf '%-28s %10s %10s %10s\n' program native mosrun slowdown
# sort runs single-threaded in both, as in the earlier runs of this table.
for spec in "cpu_loop:$CPU 800" "sort_50MB:/usr/bin/sort --parallel=1 $work/big.txt"; do
  name=${spec%%:*}
  cmd=${spec#*:}
  n=$(best $cmd)
  m=$(best "$M" $cmd)
  python3 -c "print('%-28s %10.3f %10.3f %+9.1f%%' % ('$name', $n, $m, ($m / $n - 1) * 100))"
done
