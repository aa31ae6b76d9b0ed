#!/usr/bin/env bash
# Automatic migration on a real 3-node cluster (moscluster up --policy):
# four CPU-bound programs started at home on node1, one of them with
# mosrun -L, nodes 2 and 3 idle. The daemon's placement loop must spread
# them (one program each on node2 and node3 within 60 s), never move the
# -L one, and then leave the balanced cluster alone for a minute (no ping-pong).
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 300
arm_cleanup
cpu=$(dirname "$MOS_BIN")/tests/bench/bench_cpu_loop
[[ -x $cpu ]] || fail "bench_cpu_loop is not built"

log "up --nodes 3 --policy"
"$MOSCLUSTER" up --nodes 3 --policy >/dev/null || fail "moscluster up failed"
script=$(mktemp /var/tmp/mos-policy.XXXXXX)
trap 'rm -f -- "$script"; cleanup' EXIT
cat >"$script" <<SCRIPT
set -u
pids=()
trap 'kill -9 \${pids[@]} 2>/dev/null; wait' EXIT
for _ in 1 2 3; do
  "$MOS_BIN/mosrun" -h -q "$cpu" 1000000 >/dev/null 2>&1 &
  pids+=(\$!)
done
"$MOS_BIN/mosrun" -h -L -q "$cpu" 1000000 >/dev/null 2>&1 &
stay=\$!
pids+=(\$stay)
# mosps: PID WHERE STATE RSS CPU CALLS/S MIGR COMMAND
spread() {
  "$MOS_BIN/mosps" | awk -v stay=\$stay 'NR > 1 && \$3 != "migrating" {
      where[\$2]++; if (\$1 == stay) { s = \$2; m = \$7 } ; migr += \$7 }
    END { printf "%d %d %s %d %d\n", where["node2"], where["node3"], s, m, migr }'
}
ok=0
for _ in \$(seq 120); do
  read -r n2 n3 s m migr < <(spread)
  if [[ \$n2 == 1 && \$n3 == 1 ]]; then ok=1; break; fi
  sleep 0.5
done
"$MOS_BIN/mosps"
((ok)) || { echo "FAIL: not spread within 60 s (node2 \$n2, node3 \$n3)"; exit 1; }
[[ \$s == node1 && \$m == 0 ]] || { echo "FAIL: the -L program moved (\$s, \$m moves)"; exit 1; }
echo "spread after \$migr moves"
before=\$migr
sleep 60
read -r n2 n3 s m migr < <(spread)
"$MOS_BIN/mosps"
((migr == before)) || { echo "FAIL: \$((migr - before)) more moves in 60 s of a balanced load"; exit 1; }
[[ \$s == node1 && \$m == 0 ]] || { echo "FAIL: the -L program moved (\$s, \$m moves)"; exit 1; }
echo PASS
SCRIPT
out=$("$MOSCLUSTER" exec node1 -- bash "$script" 2>&1) || {
  echo "$out" >&2
  grep -h "placement:" /run/moscluster/node1/mosixd.log >&2
  fail "placement"
}
echo "$out" | sed 's/^/  /'
grep -q '^PASS' <<<"$out" || fail "no PASS"
grep -h 'placement:' /run/moscluster/node1/mosixd.log | sed 's/^/  node1| /' | head -20
assert_no_guests node1 node2 node3
log "passed"
