#!/usr/bin/env bash
# Benchmark of the gossip bulletin board (results: docs/performance.md).
#  1. Entry ages versus N and window: the simulator runs the real Engine for
#     N = 16 .. 10,000 and prints measured mean and maximum ages next to the
#     model's; with gnuplot it also writes a PNG.
#  2. Gossip traffic of real daemons: a 4-node and an 8-node moscluster run for
#     DURATION seconds; each node's bytes sent/received per second, from its
#     own counters, next to the simulator's per-window size.
#
# Usage (root, after scripts/setup.sh): tests/bench/gossip_board.sh [OUTDIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${MOS_BIN:-$PWD/build/cli}
SIM=${MOS_SIM:-$PWD/build/tests/sim/gossip_sim}
OUT=${1:-/tmp/mos-bench-gossip}
DURATION=${2:-30}
mkdir -p "$OUT"

echo "== 1. entry age versus N and window (simulator)"
plot=()
command -v gnuplot >/dev/null && plot=(--plot "$OUT/gossip_age.png")
"$SIM" --csv "$OUT/gossip_age.csv" "${plot[@]}"
[ ${#plot[@]} -gt 0 ] && echo "plot: $OUT/gossip_age.png"

echo
echo "== 2. gossip traffic per node on a real moscluster (period 1 s, window 20)"
[ "$(id -u)" -eq 0 ] || { echo "part 2 needs root (moscluster)"; exit 0; }
"$BIN/moscluster" down >/dev/null 2>&1 || true
trap '"$BIN/moscluster" down >/dev/null 2>&1 || true' EXIT
printf '%6s %10s %14s %14s %16s %16s\n' nodes seconds "sent B/s/node" "recv B/s/node" "datagrams/s/node" "window B (avg)"
for n in 4 8; do
  "$BIN/moscluster" up --nodes "$n" >/dev/null
  snap() {
    for k in $(seq "$n"); do
      "$BIN/moscluster" exec "node$k" -- "$BIN/mon" --once --json
    done | python3 -c '
import json, sys
s = r = d = 0
for line in sys.stdin:
    c = json.loads(line)["counters"]
    s += c["bytes_sent"]; r += c["bytes_received"]; d += c["datagrams_sent"]
print(s, r, d)'
  }
  read -r s0 r0 d0 <<<"$(snap)"
  t0=$(date +%s.%N)
  sleep "$DURATION"
  read -r s1 r1 d1 <<<"$(snap)"
  t1=$(date +%s.%N)
  python3 -c "
n=$n; dt=$t1-$t0; s=$s1-$s0; r=$r1-$r0; d=$d1-$d0
print('%6d %10.1f %14.0f %14.0f %16.2f %16.0f' % (n, dt, s/n/dt, r/n/dt, d/n/dt, s/max(d,1)))"
  "$BIN/moscluster" down >/dev/null
done
