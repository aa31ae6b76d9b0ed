#!/usr/bin/env bash
# Benchmark of live migration (stop-and-copy; results: docs/performance.md).
# On a 3-node moscluster (brought up here unless one is up), in one run:
#  1. raw TCP throughput node1 -> node2 and node2 -> node3 (tcp_stream,
#     128 KiB writes, the migration's chunk), the baseline;
#  2. bodies of 16 MiB .. 1 GiB (4 GiB with MOS_BENCH_BIG=1), every page
#     non-zero: frozen time and throughput of home -> node2, node2 -> node3
#     and node3 -> home;
#  3. the experiment of Table 2 of papers/mosix-mpi-migration.md: a program
#     sweeping its memory, run without migration and with 10 x 2 migrations
#     (node2 and home in turn): run-times, average migration time, speed.
# Usage (as root, after scripts/setup.sh): tests/bench/migration.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${BUILD_DIR:-build}")
MC=$BUILD/cli/moscluster
B=$BUILD/cli
STREAM=$BUILD/tests/bench/bench_tcp_stream
BODY=$BUILD/tests/bench/bench_mig_body
ours=0
if [[ ! -e /run/moscluster/cluster ]]; then
  "$MC" up --nodes 3 >/dev/null
  ours=1
fi
on() { local n=$1; shift; "$MC" exec "$n" -- "$@"; }
work=$(mktemp -d /var/tmp/mos-bench-mig.XXXXXX)
cleanup() {
  rm -rf -- "$work"
  if ((ours)); then "$MC" down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

tcp() {  # tcp FROM TO TO_ADDR
  on "$2" "$STREAM" server "$3" 5999 >"$work/srv" &
  local s=$!
  for _ in $(seq 100); do grep -q listening "$work/srv" 2>/dev/null && break; sleep 0.02; done
  on "$1" "$STREAM" client "$3" 5999 $((1 << 30)) $((128 << 10))
  wait $s
}
tcp12=$(tcp node1 node2 10.77.0.2)
tcp23=$(tcp node2 node3 10.77.0.3)
echo "raw TCP (1 GiB in 128 KiB writes): node1->node2 $tcp12 MB/s, node2->node3 $tcp23 MB/s"
echo

sizes="16 64 256 1024"
[[ ${MOS_BENCH_BIG:-0} == 1 ]] && sizes="$sizes 4096"
printf "%-9s | %-28s | %-28s | %-28s\n" "body" "home->node2 frozen, MB/s" "node2->node3 frozen, MB/s" "node3->home frozen, MB/s"
for mib in $sizes; do
  row=$(on node1 env B="$B" BODY="$BODY" W="$work" MIB="$mib" bash -c '
    mkfifo "$W/in.$MIB"; exec 9<>"$W/in.$MIB"
    "$B/mosrun" -h "$BODY" "$MIB" idle <"$W/in.$MIB" >"$W/out.$MIB" & P=$!
    until grep -q READY "$W/out.$MIB"; do sleep 0.05; done
    for hop in node2 node3 home; do
      "$B/migrate" $P $hop | sed -n "s/.*frozen \([0-9.]*\) ms, \([0-9.]*\) MiB.*/\1 \2/p"
    done
    echo go >&9; wait $P')
  printf "%6s MiB" "$mib"
  while read -r ms moved; do
    printf " | %9.1f ms %7.0f MB/s     " "$ms" "$(awk -v b="$moved" -v t="$ms" 'BEGIN{print b*1048576/1e6/(t/1000)}')"
  done <<<"$row"
  echo
done
echo

echo "Table 2 (10 x 2 migrations, node2 and home in turn, during the run):"
printf "%-9s | %-8s | %-12s | %-14s | %-10s | %-10s\n" "body" "without" "with 20 moves" "avg migration" "size MB" "speed MB/s"
for spec in "17 9000" "200 900" "400 450" "600 300"; do
  read -r mib passes <<<"$spec"
  result=$(on node1 env B="$B" BODY="$BODY" MIB="$mib" PASSES="$passes" bash -c '
    t0=$(date +%s.%N); "$B/mosrun" -h "$BODY" "$MIB" "$PASSES" </dev/null >/dev/null; t1=$(date +%s.%N)
    base=$(awk -v a=$t0 -v b=$t1 "BEGIN{print b-a}")
    t0=$(date +%s.%N)
    "$B/mosrun" -h "$BODY" "$MIB" "$PASSES" </dev/null >/dev/null & P=$!
    gap=$(awk -v b=$base "BEGIN{print b/24}")
    sum=0; n=0
    for hop in node2 home node2 home node2 home node2 home node2 home node2 home node2 home node2 home node2 home node2 home; do
      sleep $gap
      r=$("$B/migrate" $P $hop 2>/dev/null | sed -n "s/.*frozen \([0-9.]*\) ms, \([0-9.]*\) MiB.*/\1 \2/p") || break
      [[ -n $r ]] || break
      echo "$r"
    done >/dev/shm/mig.$$
    wait $P; t1=$(date +%s.%N)
    awk -v a=$t0 -v b=$t1 -v base=$base "{ms+=\$1; mb+=\$2; n++} END {printf \"%.2f %.2f %d %.3f %.1f %.0f\", base, b-a, n, ms/n/1000, mb/n*1.048576, (mb*1.048576)/(ms/1000)}" /dev/shm/mig.$$
    rm -f /dev/shm/mig.$$')
  read -r base with n avg size speed <<<"$result"
  printf "%6s MiB | %6.2f s | %6.2f s (%2d) | %10.3f s   | %10.1f | %10.0f\n" "$mib" "$base" "$with" "$n" "$avg" "$size" "$speed"
done
