#!/usr/bin/env bash
# Bad input never takes a daemon down: garbage, oversized frames, wrong
# versions, half frames and silent clients on the peer port and on the
# control socket; a peer with the wrong secret; bad config files refused with
# a message naming the file. Runs on loopback, no cluster needed.
set -euo pipefail
BIN=${MOS_BIN:?MOS_BIN must point at the cli directory of the build}
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
source "$(dirname "$0")/lib/common.bash"

scratch_and_watchdog mos-robust 120

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret"
chmod 600 "$dir/secret"
write_config() { # name secretfile
  cat > "$dir/$1.toml" <<CONF
[daemon]
node = "$1"
control_socket = "$dir/$1.sock"
[cluster]
name = "robust"
secret_file = "$2"
peer_port = $port
[[cluster.node]]
name = "a"
address = "127.0.0.1"
[[cluster.node]]
name = "b"
address = "127.0.0.2"
CONF
}
write_config a "$dir/secret"
"$BIN/mosixd" --config "$dir/a.toml" 2> "$dir/a.log" &
pids+=($!)
apid=$!
for _ in $(seq 50); do [ -S "$dir/a.sock" ] && break; sleep 0.1; done
"$BIN/mosctl" --socket "$dir/a.sock" status > /dev/null

python3 - "$port" "$dir/a.sock" <<'PY'
import socket, struct, sys, time
port, ctl = int(sys.argv[1]), sys.argv[2]
def hdr(ver=1, flags=0, typ=1, res=0, length=0):
    return b"MX" + bytes([ver, flags]) + struct.pack(">HHI", typ, res, length)
attacks = {
    "garbage": b"\x00\xffhello garbage" * 100,
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "oversized": hdr(length=0xFFFFFFFF),
    "bad version": hdr(ver=9, length=4) + b"abcd",
    "flags": hdr(flags=1),
    "type zero": hdr(typ=0),
    "half header": b"MX\x01",
    "truncated payload": hdr(length=100) + b"x" * 10,
    "bad protobuf hello": hdr(typ=1, length=8) + b"\xff" * 8,
    "proof first": hdr(typ=3, length=0),
}
def send_and_drain(s, data):
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
def tcp(data):
    send_and_drain(socket.create_connection(("127.0.0.1", port), timeout=10), data)
def unix(data):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(ctl)
    send_and_drain(s, data)
for name, data in attacks.items():
    tcp(data)
    unix(data)
# An unknown control request type gets an error reply, not a hang-up.
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(ctl)
s.sendall(hdr(typ=150, length=0))
reply = s.recv(12)
assert reply[:2] == b"MX" and struct.unpack(">H", reply[4:6])[0] == 102, reply
s.close()
# mosrun -r's request (400): malformed, a short token, an unknown node, a
# node whose link is down: each an ErrorReply with its errno, never a crash.
def pb_str(field, data):
    return bytes([field << 3 | 2, len(data)]) + data
def remote_run(payload):
    s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(ctl)
    s.sendall(hdr(typ=400, length=len(payload)) + payload)
    head = s.recv(12)
    assert head[:2] == b"MX", head
    typ, length = struct.unpack(">H", head[4:6])[0], struct.unpack(">I", head[8:12])[0]
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    s.close()
    assert typ == 102, (typ, body)
    return body[1] if body[:1] == b"\x08" else None  # ErrorReply.errno_code (one byte)
import errno as E
assert remote_run(b"\xff\xff\xff") == E.EINVAL
assert remote_run(pb_str(1, b"b") + pb_str(2, b"short")) == E.EINVAL
assert remote_run(pb_str(1, b"nosuch") + pb_str(2, b"t" * 32)) == E.ENOENT
assert remote_run(pb_str(1, b"b") + pb_str(2, b"t" * 32)) == E.EHOSTUNREACH
# Many silent clients at once: each is dropped by the handshake deadline.
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
for c in silent:
    c.close()
print("attacks sent")
PY

# Still alive and serving.
kill -0 "$apid"
"$BIN/mosctl" --socket "$dir/a.sock" status > /dev/null
grep -q "refused connection" "$dir/a.log"

# A peer with the wrong secret never links up.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/wrong"
chmod 600 "$dir/wrong"
write_config b "$dir/wrong"
"$BIN/mosixd" --config "$dir/b.toml" 2> "$dir/b.log" &
pids+=($!)
sleep 2
"$BIN/mosctl" --socket "$dir/a.sock" status | grep -q "2 nodes configured, 1 up"
grep -q "failed authentication" "$dir/a.log"
kill -0 "$apid"

# The right secret links up within a few seconds.
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
write_config b "$dir/secret"
"$BIN/mosixd" --config "$dir/b.toml" 2> "$dir/b.log" &
pids+=($!)
ok=0
for _ in $(seq 50); do
  if "$BIN/mosctl" --socket "$dir/a.sock" status | grep -q "2 nodes configured, 2 up"; then ok=1; break; fi
  sleep 0.1
done
[ "$ok" = 1 ] || { echo "FAIL: link did not come up"; cat "$dir/a.log" "$dir/b.log"; exit 1; }

# A second daemon on the same control socket refuses to start.
if "$BIN/mosixd" --config "$dir/a.toml" 2> "$dir/dup.log"; then echo "FAIL: duplicate daemon started"; exit 1; fi
grep -q "already serving" "$dir/dup.log"

# Bad config: refused with the file and key named, nonzero exit.
printf '[daemon]\nnode = "a"\nbogus = 1\n' > "$dir/bad.toml"
if "$BIN/mosixd" --config "$dir/bad.toml" 2> "$dir/bad.log"; then echo "FAIL: bad config accepted"; exit 1; fi
grep -q "bad.toml:3" "$dir/bad.log"
# mosctl without a daemon: a clear error and exit code 3.
set +e
"$BIN/mosctl" --socket "$dir/none.sock" status 2> "$dir/none.log"; rc=$?
set -e
[ "$rc" = 3 ] && grep -q "no mosixd running" "$dir/none.log"

# SIGTERM: clean exit, socket removed.
kill -TERM "$apid"; wait "$apid"
[ ! -e "$dir/a.sock" ]
echo "PASS"
