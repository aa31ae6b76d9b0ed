#!/usr/bin/env bash
# The gossip bulletin board on a real 4-node moscluster:
#  - the boards converge: every node knows every node, none down;
#  - a stopped daemon is presumed down by every other node within the bound,
#    and is back on every board soon after it restarts;
#  - CPU hogs started in node2 raise node2's load on every other board;
#  - forged, stale and replayed datagrams (sent from inside node1) are
#    dropped and counted by node2, while a well-formed one is accepted;
#  - the Prometheus endpoint answers with the board and the counters;
#  - mon, in a real terminal (tmux), shows a row and a bar for every node.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
command -v python3 >/dev/null || skip "needs python3 (crafts datagrams)"
command -v tmux >/dev/null || skip "needs tmux (drives mon in a terminal)"
start_watchdog 300
TMUX_SOCK="mos-gossip-$$"
cleanup_tmux() { tmux -L "$TMUX_SOCK" kill-server >/dev/null 2>&1 || true; }
arm_cleanup
# Keep the exit status through the extra cleanup step.
cleanup_all() {
  local rc=$?
  cleanup_tmux
  (exit "$rc")
  cleanup
}
trap cleanup_all EXIT

MON=$MOS_BIN/mon
DOWN_AFTER=4
log "up --nodes 4 (gossip period 0.5 s, down after $DOWN_AFTER s)"
"$MOSCLUSTER" up --nodes 4 --gossip-period 0.5 --down-after "$DOWN_AFTER" ||
  fail "moscluster up failed"

# board NODE: the board of NODE as JSON.
board() { "$MOSCLUSTER" exec "$1" -- "$MON" --once --json; }
# py EXPR...: evaluates a Python expression over the JSON board on stdin.
py() { python3 -c "import json,sys; b=json.load(sys.stdin); $1"; }

knows_all_up() {
  board "$1" | py 'n=[x for x in b["nodes"] if not x["down"]]; sys.exit(0 if len(n)==4 else 1)'
}
for k in 1 2 3 4; do
  wait_until 20 "node$k's board to hold 4 live nodes" knows_all_up "node$k"
done
log "boards converged"

entry_down() { # NODE ABOUT: NODE's board presumes ABOUT down
  board "$1" | py "e=[x for x in b['nodes'] if x['name']=='$2']; sys.exit(0 if e and e[0]['down'] else 1)"
}
entry_up() {
  board "$1" | py "e=[x for x in b['nodes'] if x['name']=='$2']; sys.exit(0 if e and not e[0]['down'] else 1)"
}

log "stop node3's daemon"
"$MOSCLUSTER" stop node3 || fail "moscluster stop node3 failed"
t0=$SECONDS
for k in 1 2 4; do
  wait_until $((DOWN_AFTER + 4)) "node$k to presume node3 down" entry_down "node$k" node3
done
log "node3 presumed down everywhere after $((SECONDS - t0)) s (bound $DOWN_AFTER s + a period)"
"$MOSCLUSTER" restart node3 || fail "moscluster restart node3 failed"
for k in 1 2 4; do
  wait_until 10 "node$k to see node3 again" entry_up "node$k" node3
done
log "node3 back on every board"

load_of() { # NODE ABOUT: ABOUT's load on NODE's board
  board "$1" | py "print([x['load_local']+x['load_guest'] for x in b['nodes'] if x['name']=='$2'][0])"
}
log "start 3 CPU hogs in node2"
"$MOSCLUSTER" exec node2 -- sh -c 'for i in 1 2 3; do timeout 60 sh -c "while :; do :; done" & done' \
  </dev/null >/dev/null 2>&1 || fail "cannot start hogs on node2"
hot() { # the hogs show on NODE's board as node2's load, well above node4's
  board "$1" | py "l={x['name']:x['load_local'] for x in b['nodes']}; sys.exit(0 if l['node2']>1.5 and l['node4']<0.5 else 1)"
}
for k in 1 3 4; do
  wait_until 15 "node$k to see node2's load rise" hot "node$k"
done
log "node2's load seen on every board: $(load_of node4 node2) (node4: $(load_of node4 node4))"
"$MOSCLUSTER" exec node2 -- pkill -f 'while :; do :; done' || true

log "forged, stale, replayed and valid datagrams from node1 to node2"
counters() { board node2 | py "c=b['counters']; print(c['dropped_forged'], c['dropped_stale'], c['dropped_replayed'], c['windows_received'])"; }
read -r f0 s0 r0 w0 <<<"$(counters)"
"$MOSCLUSTER" exec node1 -- python3 - /run/moscluster/secret <<'PY' || fail "sending datagrams failed"
import hashlib, hmac, os, socket, struct, sys, time
secret = open(sys.argv[1], "rb").read().rstrip(b"\n")
def varint(v):
    out = b""
    while True:
        b = v & 0x7F; v >>= 7
        if v: out += bytes([b | 0x80])
        else: return out + bytes([b])
def field(num, wt, payload):
    return varint(num << 3 | wt) + payload
def lenfield(num, data): return field(num, 2, varint(len(data)) + data)
def be64(v): return struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)
def frame(payload): return b"MX\x01\x00" + struct.pack(">HHI", 201, 0, len(payload)) + payload
def datagram(seq, sent_ms, boot, key=secret):
    # A well-formed window from "node3" with no entries: harmless to merge.
    window = lenfield(1, b"node3") + lenfield(2, b"mos") + field(4, 0, varint(seq))
    fields = [b"mosix-gossip-v1", b"node3", b"mos", be64(boot), be64(seq), be64(sent_ms), window]
    mac = hmac.new(key, b"".join(struct.pack(">I", len(f)) + f for f in fields), hashlib.sha256).digest()
    body = (lenfield(1, b"node3") + lenfield(2, b"mos") + field(3, 1, struct.pack("<Q", boot)) +
            field(4, 0, varint(seq)) + field(5, 0, varint(sent_ms)) + lenfield(6, window) + lenfield(7, mac))
    return frame(body)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("10.77.0.2", 4661)
now = int(time.time() * 1000)
boot = int.from_bytes(os.urandom(8), "little")
s.sendto(datagram(1, now, boot, key=b"not-the-cluster-secret-at-all!!!"), dst)  # forged
s.sendto(datagram(2, now - 120000, boot), dst)                                 # stale
good = datagram(3, now, boot)
s.sendto(good, dst)                                                            # accepted
s.sendto(good, dst)                                                            # replayed
s.sendto(b"\x00garbage", dst)                                                  # malformed
PY
dropped_as_expected() {
  read -r f s r w <<<"$(counters)"
  ((f == f0 + 1 && s == s0 + 1 && r == r0 + 1 && w > w0))
}
wait_until 5 "node2 to count one forged, one stale, one replayed datagram" dropped_as_expected
log "node2 counted them: $(counters) (forged stale replayed windows)"

log "Prometheus endpoint of node4"
metrics=$("$MOSCLUSTER" exec node4 -- python3 -c '
import urllib.request
print(urllib.request.urlopen("http://10.77.0.4:9460/metrics", timeout=5).read().decode())')
grep -q '^mosix_node_load{node="node2",cluster="mos"}' <<<"$metrics" || fail "no node2 load in metrics"
grep -q '^mosix_link_up{peer="node1"} 1' <<<"$metrics" || fail "no link metric in metrics"
grep -q '^mosix_gossip_dropped_total{reason="forged"}' <<<"$metrics" || fail "no drop counters"

log "mon in a 100x30 terminal"
tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 "$MOSCLUSTER exec node1 -- $MON"
screen_ok() {
  local s
  s=$(tmux -L "$TMUX_SOCK" capture-pane -p)
  for k in 1 2 3 4; do grep -qE "^node$k +[0-9.]+ \|#* *\|" <<<"$s" || return 1; done
  grep -q "4 nodes, 0 down" <<<"$s"
}
wait_until 10 "mon to show a bar for every node" screen_ok
tmux -L "$TMUX_SOCK" send-keys m
wait_until 5 "mon to switch to memory" bash -c "tmux -L $TMUX_SOCK capture-pane -p | grep -q 'memory used'"
tmux -L "$TMUX_SOCK" send-keys q
gone() { ! tmux -L "$TMUX_SOCK" has-session 2>/dev/null; }
wait_until 5 "mon to quit on q" gone

log "down"
"$MOSCLUSTER" down || fail "moscluster down failed"
assert_nothing_left
echo PASS
