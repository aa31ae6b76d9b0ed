#!/usr/bin/env bash
# The main demo: set-up (packages + build), then a real 4-node moscluster on
# this machine: every node's view of the cluster, programs under mosrun at
# home and with their body on another node, a running program migrated live
# between nodes (mosps showing where it is), then everything taken down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BIN="$PWD/${BUILD_DIR:-build}/cli"

cleanup() { "$BIN/moscluster" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== moscluster up --nodes 4 --speeds 1,1,0.5,0.25"
"$BIN/moscluster" up --nodes 4 --speeds 1,1,0.5,0.25
"$BIN/moscluster" status
echo "(waiting for the gossip boards to fill: a few periods)"
for _ in $(seq 40); do
  full=1
  for n in 1 2 3 4; do
    c=$("$BIN/moscluster" exec "node$n" -- "$BIN/mon" --once --json | grep -o '"name"' | wc -l)
    [ "$c" -ge 4 ] || full=0
  done
  [ "$full" = 1 ] && break
  sleep 0.5
done
for n in 1 2 3 4; do
  echo
  echo "== node$n: mosctl status"
  "$BIN/moscluster" exec "node$n" -- "$BIN/mosctl" status
done
echo
echo "== node1: a real program under mosrun (body in the seccomp sandbox, syscalls forwarded to its deputy)"
"$BIN/moscluster" exec node1 -- "$BIN/mosrun" /usr/bin/python3 -c '
import hashlib, json, os, socket
print(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                  "sha256(mosix)": hashlib.sha256(b"mosix").hexdigest()[:16]}))'
echo "-- a shell pipeline under mosrun (every child gets its own deputy):"
"$BIN/moscluster" exec node1 -- "$BIN/mosrun" /bin/sh -c 'echo "$(hostname): $(seq 1 100 | sort -rn | head -3 | tr "\n" " ")"'
echo
echo "== node1: a program whose body runs on node3 (mosrun -r node3)"
echo "   its hostname, PID, files and output are node1's; only its registers and memory are on node3"
"$BIN/moscluster" exec node1 -- "$BIN/mosrun" -r node3 /usr/bin/python3 -c '
import hashlib, os, socket, time
with open("/tmp/mos-demo-remote.txt", "w") as f:
    f.write("written by pid %d, body elsewhere\n" % os.getpid())
print("host:", socket.gethostname(), " pid:", os.getpid(),
      " sha256:", hashlib.sha256(open("/etc/os-release", "rb").read()).hexdigest()[:16], flush=True)
time.sleep(2)' &
remote=$!
sleep 1
echo "-- on node3 meanwhile: the body (guest user nobody) and its supervisor"
"$BIN/moscluster" exec node3 -- ps -o user=,pid=,comm= -e | awk '$1 == "nobody" || $3 == "mos-guest"'
wait "$remote"
echo "-- the file it wrote is in node1's /tmp, not node3's:"
"$BIN/moscluster" exec node1 -- cat /tmp/mos-demo-remote.txt
"$BIN/moscluster" exec node3 -- sh -c 'test -e /tmp/mos-demo-remote.txt && echo "node3 has it (wrong)" || echo "node3: no such file"'
"$BIN/moscluster" exec node1 -- rm -f /tmp/mos-demo-remote.txt
echo
echo "== node1: live migration of a running python3 (home -> node2 -> node4 -> home)"
"$BIN/moscluster" exec node1 -- env BIN="$BIN" bash -c '
  "$BIN/mosrun" -h /usr/bin/python3 -c "
import hashlib, os, socket, time
h, t0 = hashlib.sha256(), time.monotonic()
for i in range(24):
    t1, n = time.monotonic(), 0
    while time.monotonic() - t1 < 0.3:
        h.update(b\"%d\" % n)
        n += 1
    print(\"step %2d  host %s  pid %d  %.1f s  %s\" % (i, socket.gethostname(), os.getpid(),
          time.monotonic() - t0, h.hexdigest()[:12]), flush=True)
" &
  P=$!
  sleep 1.5
  for hop in node2 node4 home; do
    echo "-- mosps:"; "$BIN/mosps"
    "$BIN/migrate" $P $hop
    sleep 1.5
  done
  "$BIN/mosps"
  wait $P'
echo "(the host and PID it prints never change: they are its home's; the body moved)"
echo
echo "== node3: mon --once (the gossip bulletin board)"
"$BIN/moscluster" exec node3 -- "$BIN/mon" --once
echo
echo "== moscluster down"
"$BIN/moscluster" down
trap - EXIT
echo "demo done: the cluster is gone (ip netns list shows no mos-* namespace)"
