#!/usr/bin/env bash
# Memory pressure (the MOSIX MPI paper, Sec. 4.5) on a real moscluster: PROCS
# programs start at home on node1 and grow to SIZE MiB each (RATE MiB/s),
# more than node1's memory (--mem, a cgroup limit) holds; then each reads
# all of its memory for HOLD s and checks every page. This machine has no
# swap, so a node whose memory is exhausted does not thrash as the paper's
# did: the kernel's OOM killer kills a program. Run twice: without
# migration (mosrun -L) and with automatic migration; the table gives, for
# each, the programs that finished with their memory intact, those killed,
# and the job's run time.
#
# Usage (root, after scripts/setup.sh):
#   tests/bench/memory_pressure.sh [--mem 700M] [--procs 3] [--size 300]
#       [--rate 8] [--hold 5] [--check]
# --check: exit 1 unless, with migration, every program finished intact
# (and, so that the run tests something, one was killed without).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${MOS_BIN:-$PWD/build/cli}
GROW=${MOS_MEM_GROW:-$(dirname "$BIN")/tests/bench/bench_mem_grow}
MEM=700M PROCS=3 SIZE=300 RATE=8 HOLD=5 CHECK=0
while (($#)); do
  case $1 in
    --mem) MEM=$2 ;;
    --procs) PROCS=$2 ;;
    --size) SIZE=$2 ;;
    --rate) RATE=$2 ;;
    --hold) HOLD=$2 ;;
    --check) CHECK=1; shift; continue ;;
    *) echo "usage: $0 [--mem M] [--procs N] [--size MIB] [--rate MIB_PER_S] [--hold S] [--check]" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $(id -u) -eq 0 ]] || { echo "needs root (moscluster)" >&2; exit 77; }
[[ -x $GROW ]] || { echo "$GROW is not built" >&2; exit 1; }

job=$(mktemp /var/tmp/mos-mem.XXXXXX)
# MOS_MEM_LOG=FILE keeps node1's daemon log (its placement decisions).
trap 'rm -f -- "$job"; [[ -z ${MOS_MEM_LOG:-} ]] || cp /run/moscluster/node1/mosixd.log "$MOS_MEM_LOG"
  "$BIN/moscluster" down >/dev/null 2>&1 || true' EXIT
"$BIN/moscluster" down >/dev/null 2>&1 || true
"$BIN/moscluster" up --nodes 3 --mem "$MEM" --policy-period 0.5 --gossip-period 0.5 >/dev/null

# Steps of 2 MiB every 2/RATE s.
interval=$(python3 -c "print(max(1, round(2000 / $RATE)))")
cat >"$job" <<JOB
set -u
dir=\$(mktemp -d /var/tmp/mos-mem-out.XXXXXX)
t0=\$(date +%s.%N)
pids=()
for i in \$(seq $PROCS); do
  "$BIN/mosrun" \$1 -q "$GROW" $SIZE 2 $interval $HOLD >"\$dir/\$i" 2>/dev/null & pids+=(\$!)
done
ok=0 killed=0 other=0
for i in \$(seq $PROCS); do
  rc=0; wait \${pids[\$((i - 1))]} || rc=\$?
  if [[ \$rc == 0 ]] && grep -q '^ok ' "\$dir/\$i"; then ok=\$((ok + 1))
  elif [[ \$rc == 137 ]]; then killed=\$((killed + 1))
  else other=\$((other + 1)); fi
done
t1=\$(date +%s.%N)
rm -rf -- "\$dir"
python3 -c "print('%d %d %d %.1f' % (\$ok, \$killed, \$other, \$t1 - \$t0))"
JOB

moves() { grep -c 'placement: .* -> .*(memory' /run/moscluster/node1/mosixd.log || true; }
printf '%-18s %6s %9s %7s %7s %11s %6s\n' run programs finished killed failed "run time(s)" moves
fail=0
for mode in without with; do
  flag=-L
  [[ $mode == with ]] && flag=-h
  before=$(moves)
  read -r ok killed other secs <<<"$("$BIN/moscluster" exec node1 -- bash "$job" "$flag")"
  printf '%-18s %6d %9d %7d %7d %11s %6d\n' "$mode migration" "$PROCS" "$ok" "$killed" "$other" "$secs" $(($(moves) - before))
  if [[ $mode == with && $ok != "$PROCS" ]] || [[ $mode == without && $killed == 0 ]]; then
    fail=1
  fi
  # Between the runs, node1's memory is its own again.
  sleep 2
done
echo "node1 memory limit $MEM; $PROCS programs of $SIZE MiB, growing $RATE MiB/s each"
((CHECK == 0 || fail == 0))
