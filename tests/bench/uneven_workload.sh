#!/usr/bin/env bash
# Table 3 of the MOSIX MPI paper (../shared/papers/mosix-mpi-migration.md,
# Sec. 4.4) on a real moscluster: a job with an uneven workload, its long
# processes all on one node and its short ones on the others, split into k
# processes per core, run with and without automatic migration.
#
# The paper's nodes had 4 cores; this machine has 2 CPUs, so a node here is
# one core with a CPU quota (--share), and there are enough nodes (7 by
# default) that every long process can have a core of its own once the
# short ones are done, as in the paper. All processes have node1 as their
# home; the short ones start on their nodes with mosrun -r.
#
#   node1:        k long processes, LONG s of work (at the node's share) in all
#   node2..nodeN: min(k, 2) short processes each, SHORT s of work in all
#
# Without migration every program runs under mosrun -L (never moved). The
# optimal is the paper's (column 4, "excluding migration overheads"): the
# short processes keep their cores until they are done (SHORT s); each long
# process has done SHORT/k of its LONG/k by then, and the rest of them is
# spread over the N cores:
#     optimal = SHORT + max((LONG - SHORT) / k, (LONG - SHORT) / N)
# The paper's own figures fit it (1800 s and 360 s: 360 + 1440/k).
# Also printed: the lower bound of any schedule with free preemptive moves
# (McNaughton: the longest process, or all the work over all the cores).
#
# Usage (root, after scripts/setup.sh):
#   tests/bench/uneven_workload.sh [--long S] [--short S] [--nodes N]
#       [--share CPU] [--ks 1,2,3,4,6] [--without 1,2,3,4,6]
#       [--check PERCENT] [--slack S] [--period S]
# --check: exit 1 unless every run with migration is within PERCENT of the
# optimal (plus --slack seconds: the loop's reaction in a scaled-down run),
# and, where a run without migration was made for k >= 2, at most 80% of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${MOS_BIN:-$PWD/build/cli}
CPU=${MOS_CPU_LOOP:-$(dirname "$BIN")/tests/bench/bench_cpu_loop}
LONG=300 SHORT=60 NODES=7 SHARE=0.25 KS=1,2,3,4,6 WITHOUT=1,2,3,4,6 CHECK="" SLACK=0 PERIOD=0.5
while (($#)); do
  case $1 in
    --long) LONG=$2 ;;
    --short) SHORT=$2 ;;
    --nodes) NODES=$2 ;;
    --share) SHARE=$2 ;;
    --ks) KS=$2 ;;
    --without) WITHOUT=$2 ;;
    --check) CHECK=$2 ;;
    --slack) SLACK=$2 ;;
    --period) PERIOD=$2 ;;
    *) echo "usage: $0 [--long S] [--short S] [--nodes N] [--share CPU] [--ks LIST] [--without LIST] [--check PCT] [--slack S] [--period S]" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $(id -u) -eq 0 ]] || { echo "needs root (moscluster)" >&2; exit 77; }
[[ -x $CPU ]] || { echo "$CPU is not built" >&2; exit 1; }
python3 -c "import sys; sys.exit(0 if $SHORT * 2 <= $LONG and $NODES >= 2 else 1)" ||
  { echo "need SHORT <= LONG/2 and at least 2 nodes" >&2; exit 2; }

job=$(mktemp /var/tmp/mos-uneven.XXXXXX)
"$BIN/moscluster" down >/dev/null 2>&1 || true
# MOS_UNEVEN_LOG=FILE keeps node1's daemon log (its placement decisions).
trap 'rm -f -- "$job"; [[ -z ${MOS_UNEVEN_LOG:-} ]] || cp /run/moscluster/node1/mosixd.log "$MOS_UNEVEN_LOG"
  "$BIN/moscluster" down >/dev/null 2>&1 || true' EXIT
"$BIN/moscluster" up --nodes "$NODES" --speeds "$SHARE" --policy-period "$PERIOD" \
  --gossip-period 0.5 >/dev/null
on() { local n=$1; shift; "$BIN/moscluster" exec "$n" -- "$@"; }

# The work rate of one node's core, in millions of iterations per second of
# wall time at its share: measured alone (node2) and with every node busy at
# once, as in the job (the host's CPUs need not give every node its whole
# share). The optimal is computed from the second.
its=$(python3 -c "print(max(20, int(3 * $SHARE * 400)))")
timed() {
  on "$1" bash -c "t0=\$(date +%s.%N); '$CPU' $its >/dev/null; t1=\$(date +%s.%N)
    python3 -c \"print($its / (\$t1 - \$t0))\""
}
alone=$(for _ in 1 2; do timed node2; done | sort -g | tail -1)
for k in $(seq "$NODES"); do timed "node$k" >"$job.rate$k" & done
wait
rate=$(cat "$job".rate* | sort -g | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
rm -f -- "$job".rate*
echo "work rate at share $SHARE: $alone M iterations/s alone on node2, $rate with all $NODES nodes busy (median)"

# One run of the job; prints "SECONDS MOVES".
run_job() {
  local k=$1 stay=$2 ns=$(($1 < 2 ? $1 : 2))
  local long_its short_its
  long_its=$(python3 -c "print(max(1, round($LONG * $rate / $k)))")
  short_its=$(python3 -c "print(max(1, round($SHORT * $rate / $ns)))")
  cat >"$job" <<JOB
set -u
pids=()
trap 'kill -9 \${pids[@]} 2>/dev/null; wait' EXIT
t0=\$(date +%s.%N)
for _ in \$(seq $k); do
  "$BIN/mosrun" $stay -q "$CPU" $long_its >/dev/null & pids+=(\$!)
done
for n in \$(seq 2 $NODES); do
  for _ in \$(seq $ns); do
    "$BIN/mosrun" $stay -r node\$n -q "$CPU" $short_its >/dev/null & pids+=(\$!)
  done
done
rc=0
for p in \${pids[@]}; do wait \$p || rc=1; done
pids=()
t1=\$(date +%s.%N)
((rc == 0)) || { echo "a process of the job failed" >&2; exit 1; }
python3 -c "print('%.2f' % (\$t1 - \$t0))"
JOB
  local before after secs
  before=$(grep -c 'placement: .* -> ' /run/moscluster/node1/mosixd.log || true)
  secs=$(on node1 bash "$job")
  after=$(grep -c 'placement: .* -> ' /run/moscluster/node1/mosixd.log || true)
  echo "$secs $((after - before))"
}

fail=0
# with/opt1: against the optimal at the node speed the k = 1 run measured
# (one process a core, no move can help it: its run time is LONG at the
# speed the nodes really had in the job).
k1=""
printf '\n%3s %7s %12s %12s %8s %10s %12s %8s %9s\n' k procs "without (s)" "with (s)" moves "optimal" "lower bound" "with/opt" "with/opt1"
for k in ${KS//,/ }; do
  ns=$((k < 2 ? k : 2))
  procs=$((k + ns * (NODES - 1)))
  without=-
  if [[ ,$WITHOUT, == *,$k,* ]]; then
    read -r without _ <<<"$(run_job "$k" -L)"
  fi
  read -r with moves <<<"$(run_job "$k" "")"
  read -r opt lower ratio ok <<<"$(python3 -c "
L, S, N, k, ns = $LONG, $SHORT, $NODES, $k, $ns
opt = S + max((L - S) / k, (L - S) / N)
lower = max(L / k, S / ns, (L + S * (N - 1)) / N)
w = $with
ok = w <= opt * (1 + float('${CHECK:-0}') / 100) + $SLACK
print('%.1f %.1f %.3f %d' % (opt, lower, w / opt, ok))")"
  [[ $k == 1 ]] && k1=$with
  ratio1=-
  [[ -n $k1 ]] && ratio1=$(python3 -c "print('%.3f' % ($with / ($opt * $k1 / $LONG)))")
  printf '%3d %7d %12s %12s %8d %10s %12s %8s %9s\n' "$k" "$procs" "$without" "$with" "$moves" "$opt" "$lower" "$ratio" "$ratio1"
  if [[ -n $CHECK && $ok != 1 ]]; then
    echo "    k=$k: $with s is more than $CHECK% (+${SLACK} s) above the optimal $opt s" >&2
    fail=1
  fi
  if [[ -n $CHECK && $without != - && $k -ge 2 ]] &&
    ! python3 -c "import sys; sys.exit(0 if $with <= 0.8 * $without else 1)"; then
    echo "    k=$k: with migration $with s is not far below the $without s without" >&2
    fail=1
  fi
done
exit "$fail"
