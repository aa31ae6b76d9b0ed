#!/usr/bin/env bash
# Real programs migrated mid-run, several times each, give byte-identical
# output to their native runs (run beside them, on the same input):
# xz -9 of a 200 MB file, python3 computing for several seconds, sort of a
# large file, and a bash loop that spawns a child per line.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 1500
arm_cleanup
[[ -x $MOS_BIN/migrate ]] || fail "migrate is not built"
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)

log "up --nodes 3"
"$MOSCLUSTER" up --nodes 3 >/dev/null || fail "moscluster up failed"
work=$(mktemp -d /var/tmp/mos-real.XXXXXX)
trap 'rm -rf -- "$work"; cleanup' EXIT
{ seq 1 40000000 || true; } | head -c 200M >"$work/in.txt"
awk 'BEGIN { srand(7); for (i = 0; i < 1500000; i++) printf "%08d %s\n", int(rand() * 1e8), i }' >"$work/lines.txt"
cat >"$work/compute.py" <<'PY'
import hashlib
h = hashlib.sha256()
acc = 0
for i in range(40_000_000):
    acc = (acc * 6364136223846793005 + i) % (1 << 64)
    if i % 1000 == 0:
        h.update(str(acc).encode())
print(acc, h.hexdigest())
PY

# run_moved NAME HOPS -- CMD...: CMD under mosrun -h on node1, migrated
# along HOPS (a hop every `gap` seconds) while it runs; its stdout to
# $work/NAME.moved. The same CMD natively to $work/NAME.native.
run_moved() {
  local name=$1 gap=$2 hops=$3
  shift 4
  "$MOSCLUSTER" exec node1 -- bash -c '
    cd "$1"; name=$2; gap=$3; hops=$4; mosbin=$5; shift 5
    "$@" >"$name.native" 2>"$name.native.err" & native=$!
    "$mosbin/mosrun" -h "$@" >"$name.moved" 2>"$name.moved.err" & P=$!
    for hop in $hops; do
      sleep "$gap"
      kill -0 "$P" 2>/dev/null || { echo "finished before the hop to $hop"; break; }
      "$mosbin/migrate" "$P" "$hop" || echo "migrate to $hop failed"
    done
    wait "$P"; rc=$?
    wait "$native"; nrc=$?
    echo "exit $rc (native $nrc)"
    [[ $rc == "$nrc" ]]' _ "$work" "$name" "$gap" "$hops" "$MOS_BIN" "$@" >"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log" "$work/$name.moved.err" >&2; fail "$name: exit status differs"; }
  grep -q "failed\|finished before" "$work/$name.log" && { cat "$work/$name.log" >&2; fail "$name: not every move happened"; }
  cmp "$work/$name.native" "$work/$name.moved" || fail "$name: output differs from the native run"
  local moves
  moves=$(grep -c '^migrated' "$work/$name.log" || true)
  log "$name: identical after $moves moves ($(grep -o 'frozen [0-9.]* ms, [0-9.]* MiB' "$work/$name.log" | tr '\n' ';'))"
}

only=${MOS_REAL_ONLY:-xz python sort bash}
[[ " $only " != *" xz "* ]] || run_moved xz 15 "node2 node3 home node2" -- xz -9 -T1 -c "$work/in.txt"
[[ " $only " != *" python "* ]] || run_moved python 1.5 "node2 node3 home" -- "$python" "$work/compute.py"
[[ " $only " != *" sort "* ]] || run_moved sort 0.7 "node2 node3 home" -- sort -S 200M --parallel=1 "$work/lines.txt"
[[ " $only " != *" bash "* ]] || run_moved bash 0.6 "node2 node3 home" -- bash -c 'for i in $(seq 400); do echo "$i $(expr "$i" \* 3)"; done'
assert_no_guests node1 node2 node3
