#!/usr/bin/env bash
# Benchmark of live migration in its three modes (results: docs/performance.md).
# On a 3-node moscluster (brought up here unless one is up), in one run:
#  1. raw TCP throughput node1 -> node2 and node2 -> node3 (tcp_stream,
#     128 KiB writes, the migration's chunk), the baseline;
#  2. bodies of 16 MiB .. 1 GiB (4 GiB with MOS_BENCH_BIG=1), every page
#     non-zero, in each mode (stop-and-copy, pre-copy, post-copy): frozen
#     time, migration time and throughput of home -> node2, node2 -> node3
#     and node3 -> home; then a 1 GiB body writing 50 MiB/s in each mode;
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
# One row: a body of MIB MiB moved home -> node2 -> node3 -> home in MODE;
# per hop the frozen time, the migration's time and the MiB sent. A
# post-copy move's time runs to the target's last page (its log says when).
hops() {  # hops MODE MIB [dirty RATE SECONDS]
  local mode=$1 mib=$2 args=${3:-idle}
  on node1 env B="$B" BODY="$BODY" W="$work" MIB="$mib" MODE="$mode" ARGS="$args" bash -c '
    f=$W/in.$$; mkfifo "$f"; exec 9<>"$f"
    "$B/mosrun" -h "$BODY" "$MIB" $ARGS <"$f" >"$f.out" & P=$!
    until grep -q READY "$f.out"; do sleep 0.05; done
    for hop in node2 node3 home; do
      "$B/migrate" -m $MODE $P $hop | sed -n "s/.*frozen \([0-9.]*\) ms, \([0-9.]*\) MiB moved.* \([0-9.]*\) ms in all/\1 \3 \2/p"
      # (Post-copy: the next move would wait for the last pages of this one.)
      [[ $MODE == postcopy ]] && sleep "$(awk -v m=$MIB "BEGIN{print 0.3 + m/400}")"
    done
    echo "pid $P"
    echo go >&9; wait $P'
}
pages_in() {  # pages_in NODE PID: ms from the resume to the last page, at NODE
  sed -n "s/.*post-copy of $2: every page in \([0-9]*\) ms after it resumed.*/\1/p" \
    "/run/moscluster/$1/mosixd.log" | tail -1
}
for mode in stop precopy postcopy; do
  case $mode in
    stop) echo "stop-and-copy: frozen time = migration time; MB/s of the pages sent" ;;
    precopy) echo "pre-copy (an idle body: one round): frozen time, migration time (rounds + freeze), MiB sent" ;;
    postcopy) echo "post-copy: frozen time, migration time (to the last page at the target), MB/s of the body" ;;
  esac
  printf "%-9s | %-34s | %-34s | %-34s\n" "body" "home->node2" "node2->node3" "node3->home"
  for mib in $sizes; do
    mapfile -t lines < <(hops $mode "$mib")
    pid=${lines[3]#pid }
    printf "%6s MiB" "$mib"
    k=0
    for line in "${lines[@]:0:3}"; do
      read -r ms total moved <<<"$line"
      target=$(echo node2 node3 node1 | cut -d' ' -f$((k + 1)))
      k=$((k + 1))
      case $mode in
        stop) printf " | %9.1f ms %8.0f MB/s          " "$ms" "$(awk -v b="$moved" -v t="$ms" 'BEGIN{print b*1048576/1e6/(t/1000)}')" ;;
        precopy) printf " | %7.1f ms of %7.1f ms %6.0f MiB " "$ms" "$total" "$moved" ;;
        postcopy)
          last=$(pages_in "$target" "$pid")
          all=$(awk -v a="$total" -v b="${last:-0}" 'BEGIN{print a+b}')
          printf " | %7.1f ms of %7.1f ms %6.0f MB/s" "$ms" "$all" "$(awk -v b="$mib" -v t="$all" 'BEGIN{print b*1048576/1e6/(t/1000)}')" ;;
      esac
    done
    echo
  done
  echo
done

# A 1 GiB body writing 50 MiB/s (pages at random, no system calls) while
# it moves: the frozen time of each mode.
echo "1 GiB body writing 50 MiB/s while it moves (frozen ms / migration ms / MiB sent):"
printf "%-14s | %-30s | %-30s | %-30s\n" "mode" "home->node2" "node2->node3" "node3->home"
for mode in stop precopy postcopy; do
  mapfile -t lines < <(hops $mode 1024 "dirty 50 10")
  printf "%-14s" "$mode"
  for line in "${lines[@]:0:3}"; do
    read -r ms total moved <<<"$line"
    printf " | %7.1f / %7.1f / %6.0f MiB " "$ms" "$total" "$moved"
  done
  echo
done
echo

echo "Table 2 (10 x 2 stop-and-copy migrations, node2 and home in turn, during the run):"
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
      r=$("$B/migrate" -m stop $P $hop 2>/dev/null | sed -n "s/.*frozen \([0-9.]*\) ms, \([0-9.]*\) MiB.*/\1 \2/p") || break
      [[ -n $r ]] || break
      echo "$r"
    done >/dev/shm/mig.$$
    wait $P; t1=$(date +%s.%N)
    awk -v a=$t0 -v b=$t1 -v base=$base "{ms+=\$1; mb+=\$2; n++} END {printf \"%.2f %.2f %d %.3f %.1f %.0f\", base, b-a, n, ms/n/1000, mb/n*1.048576, (mb*1.048576)/(ms/1000)}" /dev/shm/mig.$$
    rm -f /dev/shm/mig.$$')
  read -r base with n avg size speed <<<"$result"
  printf "%6s MiB | %6.2f s | %6.2f s (%2d) | %10.3f s   | %10.1f | %10.0f\n" "$mib" "$base" "$with" "$n" "$avg" "$size" "$speed"
done
