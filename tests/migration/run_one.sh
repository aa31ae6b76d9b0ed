#!/usr/bin/env bash
# run_one.sh SOURCE BINARY HOP...   (run inside the program's home node)
#
# Starts BINARY under `mosrun -h` with a FIFO as stdin, waits for its READY
# line, migrates it along the HOPs (node names or "home"), then writes "go"
# and expects PASS. Tags in SOURCE change that:
#   // mig-expect: refuse   every migrate must fail (exit 1) and the program run on
#   // mig-extra: NODE      the extra PIDs on the READY line go to NODE first
#   // mig-signals: N       N real-time signals are sent during the moves ("go N")
# Prints one line per migration (migrate's own), then PASS or FAIL lines.
# Exit status: 0 passed, 1 failed.
set -u
src=$1 bin=$2
shift 2
mosbin=${MOS_BIN:?}
dir=$(mktemp -d /var/tmp/mos-mig.XXXXXX)
P=
cleanup() {
  [[ -n $P ]] && kill -9 "$P" 2>/dev/null
  exec 9>&-
  rm -rf -- "$dir"
}
trap cleanup EXIT
mkfifo "$dir/in"
exec 9<>"$dir/in"
"$mosbin/mosrun" -h "$bin" <"$dir/in" >"$dir/out" 2>"$dir/err" &
P=$!
for _ in $(seq 400); do
  grep -q '^READY' "$dir/out" && break
  kill -0 "$P" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q '^READY' "$dir/out"; then
  echo "FAIL: no READY"; cat "$dir/out" "$dir/err"; exit 1
fi
extra=$(grep -m1 '^READY' "$dir/out" | cut -d' ' -f2-)
[[ $extra == READY ]] && extra=
expect=$(sed -n 's|^// mig-expect: ||p' "$src")
extra_to=$(sed -n 's|^// mig-extra: ||p' "$src")
signals=$(sed -n 's|^// mig-signals: ||p' "$src")
ok=1
sender=
if [[ -n $signals ]]; then
  (for _ in $(seq "$signals"); do kill -s RTMIN+1 "$P"; sleep 0.004; done) &
  sender=$!
fi
for e in $extra; do
  "$mosbin/migrate" ${MIG_MODE:+-m "$MIG_MODE"} "$e" "${extra_to:-node2}" || { echo "FAIL: extra PID $e not moved"; ok=0; }
done
for hop in "$@"; do
  if [[ $expect == refuse ]]; then
    rc=0
    "$mosbin/migrate" ${MIG_MODE:+-m "$MIG_MODE"} "$P" "$hop" 2>&1 || rc=$?
    [[ $rc == 1 ]] || { echo "FAIL: migrate to $hop should be refused (exit $rc)"; ok=0; }
  else
    "$mosbin/migrate" ${MIG_MODE:+-m "$MIG_MODE"} "$P" "$hop" || { echo "FAIL: migrate to $hop"; ok=0; }
  fi
done
[[ -n $sender ]] && wait "$sender"
echo "go ${signals:-}" >&9
for _ in $(seq 1200); do
  kill -0 "$P" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$P" 2>/dev/null; then
  echo "FAIL: still running 60 s after go"; ok=0
fi
wait "$P" 2>/dev/null
rc=$?
P=
cat "$dir/out" | grep -v '^READY'
if ! grep -q '^PASS' "$dir/out" || ((rc != 0)); then
  echo "FAIL: exit $rc"; sed 's/^/stderr: /' "$dir/err"; ok=0
fi
((ok)) && exit 0 || exit 1
