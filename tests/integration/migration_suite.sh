#!/usr/bin/env bash
# The migration suite (tests/migration) on a real 3-node cluster, in the
# mode MIG_MODE names (auto if unset; migration_suite_{stop,precopy,postcopy}.sh
# run it in each): every
# program runs at home on node1 and is migrated home -> node2 -> node3 ->
# home while it runs (tagged "mig-route: bounce": 20 moves, node2 and home
# in turn), then checks its state and must print PASS. Nothing of a guest
# may be left on any node afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 1500
arm_cleanup
mig_bin=${MOS_MIG_BIN:-$(dirname "$MOS_BIN")/tests/migration}
[[ -x $MOS_BIN/migrate && -d $mig_bin ]] || fail "migrate or the suite's programs are not built"

log "up --nodes 3 (moves in ${MIG_MODE:-auto} mode)"
"$MOSCLUSTER" up --nodes 3 >/dev/null || fail "moscluster up failed"
out=$(mktemp -d /tmp/mos-migration.XXXXXX)
trap 'rm -rf -- "$out"; cleanup' EXIT
passed=() failed=()
# With the test page road asked for, every move must say it took it.
page_roads_ok() {
  [[ ${MOSIX_PAGE_ROAD:-} == socket ]] || return 0
  local moves roads
  moves=$(grep -c '^migrated ' "$1" || true)
  roads=$(grep -c '^migrated .*, pages on the socket road' "$1" || true)
  ((moves == roads)) && return 0
  echo "FAIL: $roads of $moves moves took the socket page road" >>"$1"
  return 1
}
only=${MOS_MIG_ONLY:-}
for src in "$MOS_SRC"/tests/migration/*.c; do
  name=$(basename "$src" .c)
  [[ -z $only || " $only " == *" $name "* ]] || continue
  route=(node2 node3 home)
  if grep -q '^// mig-route: bounce' "$src"; then
    route=()
    for _ in $(seq 10); do route+=(node2 home); done
  fi
  if "$MOSCLUSTER" exec node1 -- env MOS_BIN="$MOS_BIN" MIG_MODE="${MIG_MODE:-}" \
    MOSIX_PAGE_ROAD="${MOSIX_PAGE_ROAD:-}" \
    bash "$MOS_SRC/tests/migration/run_one.sh" "$src" "$mig_bin/$name" "${route[@]}" \
    >"$out/$name" 2>&1 && page_roads_ok "$out/$name"; then
    passed+=("$name")
    frozen=$({ grep -o 'frozen [0-9.]* ms' "$out/$name" || true; } | awk '{s+=$2; n++} END {if (n) printf "%d moves, %.1f ms frozen on average", n, s/n}')
    log "$name: PASS ($frozen)"
  else
    failed+=("$name")
    sed "s/^/  $name| /" "$out/$name" >&2
  fi
done
assert_no_guests node1 node2 node3
log "passed ${#passed[@]}"
((${#failed[@]} == 0)) || fail "${#failed[@]} failed: ${failed[*]}"
