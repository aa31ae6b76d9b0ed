#!/usr/bin/env bash
# The main demo: set-up (packages + build), then a real 4-node moscluster on
# this machine: every node's view of the cluster, then everything taken down.
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
echo "(bodies on other nodes, mosrun -r NODE, and live migration come with the next issues)"
echo
echo "== node3: mon --once (the gossip bulletin board)"
"$BIN/moscluster" exec node3 -- "$BIN/mon" --once
echo
echo "== moscluster down"
"$BIN/moscluster" down
trap - EXIT
echo "demo done: the cluster is gone (ip netns list shows no mos-* namespace)"
