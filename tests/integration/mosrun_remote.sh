#!/usr/bin/env bash
# mosrun -r NODE on a real 3-node cluster (home node1): real programs give
# byte-identical output to native runs on the home node; the body's files,
# sockets, PIDs and signals are home's; a body cannot see or touch the node
# it runs on; errors of mosrun are clear and distinct; and when a daemon,
# the deputy, the link or the remote supervisor dies, the documented thing
# happens and nothing is left behind.
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
start_watchdog 900
arm_cleanup
M=$MOS_BIN/mosrun
[[ -x $M && -x $MOS_BIN/mosguest ]] || fail "mosrun or mosguest is not built"
command -v python3 >/dev/null || skip "needs python3"

log "up --nodes 3"
"$MOSCLUSTER" up --nodes 3 >/dev/null || fail "moscluster up failed"
on() { local n=$1; shift; "$MOSCLUSTER" exec "$n" -- "$@"; }
# Status of a command run on node1 (set -e must not end the test).
status_of() { local rc=0; "$@" || rc=$?; echo "$rc"; }

# ---- mosrun's own errors -------------------------------------------------
log "errors"
err=$(on node1 "$M" -r nosuch /bin/true 2>&1) && fail "-r nosuch succeeded"
rc=$(status_of on node1 "$M" -r nosuch /bin/true 2>/dev/null)
[[ $rc == 4 && $err == *"unknown node 'nosuch'"* ]] || fail "-r nosuch: rc $rc, '$err'"
rc=$(status_of on node1 env MOSIX_SOCKET=/nonexistent "$M" -r node2 /bin/true 2>/dev/null)
[[ $rc == 3 ]] || fail "no local daemon gave $rc, not 3"
rc=$(status_of on node1 "$M" -r 2>/dev/null)
[[ $rc == 2 ]] || fail "-r without a node gave $rc, not 2"
rc=$(status_of on node1 "$M" -r node2 /nonexistent/prog 2>/dev/null)
[[ $rc == 127 ]] || fail "a missing program gave $rc, not 127"
[[ $(on node1 "$M" -r node1 /bin/echo at-home) == at-home ]] || fail "-r of the home node itself"
"$MOSCLUSTER" stop node3 >/dev/null
wait_until 15 "node1 to see node3 down" bash -c "! '$MOSCLUSTER' exec node1 -- '$MOSCTL' status | grep -q 'node3 .* up '"
err=$(on node1 "$M" -r node3 /bin/true 2>&1) && fail "-r of a stopped node succeeded"
rc=$(status_of on node1 "$M" -r node3 /bin/true 2>/dev/null)
[[ $rc == 5 && $err == *unreachable* ]] || fail "-r node3 (down): rc $rc, '$err'"
"$MOSCLUSTER" restart node3 >/dev/null
wait_until 30 "node1 to see node3 up" node_reports node1 3 3
assert_no_guests node2 node3

# ---- real programs, byte for byte ----------------------------------------
log "real programs on node2, compared with native runs on node1"
w=$(on node1 mktemp -d /tmp/mos-remote.XXXXXX)
on node1 python3 -c "
import random
r = random.Random(7)
with open('$w/big.txt', 'w') as f:
    for i in range(300000):
        f.write('%08d %s\n' % (r.randrange(10**8), 'x' * r.randrange(40)))
"
for cmd in "xz -9 -c $w/big.txt" "gzip -6 -c $w/big.txt" "sort $w/big.txt" \
  "sh -c 'sort -k2 $w/big.txt | uniq -c | sort -rn | head -5; cut -c1-3 $w/big.txt | sort | uniq | wc -l'" \
  "python3 -c 'import json, hashlib, re, collections, decimal, zlib; d = open(\"$w/big.txt\", \"rb\").read(); print(hashlib.sha256(d).hexdigest(), len(re.findall(rb\"x{39}\", d)), zlib.crc32(d), json.dumps(collections.Counter(d[:9999].decode().split()[:4])), decimal.Decimal(1) / 7)'" \
  "bash -c 'for i in 1 2 3 4 5; do (echo child \$i; sleep 0.0\$i) | tr a-z A-Z; done; wait'"; do
  native=$(on node1 sh -c "$cmd" | sha256sum)
  remote=$(on node1 sh -c "$M -r node2 $cmd" | sha256sum)
  [[ $native == "$remote" ]] || fail "output differs under -r node2: $cmd"
  log "  identical: ${cmd:0:60}"
done

# A parallel build (make -j2 waits for its children with pselect and
# SIGCHLD; gcc runs cc1, as and collect2/ld): the same binary as natively.
for d in native remote; do
  on node1 mkdir -p "$w/build-$d"
  for i in 1 2 3 4; do
    on node1 sh -c "printf 'int f$i(void) { return $i * $i; }\n' > $w/build-$d/f$i.c"
  done
  on node1 sh -c "printf 'int f1(void); int f2(void); int f3(void); int f4(void);\n#include <stdio.h>\nint main(void) { printf(\"%%d\\\\n\", f1() + f2() + f3() + f4()); return 0; }\n' > $w/build-$d/main.c"
  on node1 sh -c "printf 'prog: main.o f1.o f2.o f3.o f4.o\n\tgcc -o \$@ \$^\n%%.o: %%.c\n\tgcc -O2 -c \$<\n' > $w/build-$d/Makefile"
done
on node1 make -s -j2 -C "$w/build-native" || fail "make natively"
on node1 "$M" -r node2 make -s -j2 -C "$w/build-remote" || fail "make -j2 under -r node2"
[[ $(on node1 "$w/build-remote/prog") == 30 ]] || fail "the remotely built program: $(on node1 "$w/build-remote/prog")"
# sha256sum reads the files on node1 (whose /tmp is its own, not this shell's).
sum_native=$(on node1 sha256sum "$w/build-native/prog" | cut -d' ' -f1)
sum_remote=$(on node1 sha256sum "$w/build-remote/prog" | cut -d' ' -f1)
[[ -n $sum_native && $sum_native == "$sum_remote" ]] ||
  fail "make -j2 under -r node2 built a different binary"
log "  identical: make -j2 (gcc) of a small program"

# A program that runs itself again through /proc/self/exe.
reexec='import os, sys
if len(sys.argv) > 1: print("again", sys.argv[1])
else: os.execv("/proc/self/exe", ["python3", "-c", "import sys; print(\"again\", len(sys.argv))", "x"])'
[[ $(on node1 "$M" -r node2 python3 -c "$reexec") == "again 2" ]] || fail "exec of /proc/self/exe on node2"

# Files and identity are home's.
on node1 "$M" -r node2 sh -c "echo made-remotely > $w/made; hostname > $w/host; echo \$\$ > $w/pid"
[[ $(on node1 cat "$w/made") == made-remotely ]] || fail "a file written by a remote body is not at home"
on node2 test -e "$w/made" && fail "the remote body's file appeared on node2"
[[ $(on node1 cat "$w/host") == node1 ]] || fail "hostname on node2 is not home's: $(on node1 cat "$w/host")"
out=$(on node1 sh -c "$M -r node2 sh -c 'echo \$\$' & echo \$!; wait")
[[ $(sed -n 1p <<<"$out") == $(sed -n 2p <<<"$out") ]] || fail "\$! is not the program's PID: $out"

# Signals and exit statuses.
rc=$(status_of on node1 "$M" -r node2 sh -c 'kill -TERM $$')
[[ $rc == 143 ]] || fail "death by SIGTERM gave $rc"
rc=$(status_of on node1 "$M" -r node2 sh -c 'exit 7')
[[ $rc == 7 ]] || fail "exit 7 gave $rc"
rc=$(status_of on node1 sh -c "$M -r node2 sleep 30 & p=\$!; sleep 1; kill -INT \$p; wait \$p")
[[ $rc == 130 ]] || fail "SIGINT to the program gave $rc"
# The signal is sent once the handler is in place (python's start on a
# loaded node can take longer than any fixed sleep), and the program waits
# for it with a bound rather than for a fixed time.
out=$(on node1 sh -c "$M -r node2 python3 -c 'import signal, time, sys
got = []
signal.signal(signal.SIGUSR1, lambda *a: (got.append(1), print(\"usr1\", flush=True)))
print(\"ready\", flush=True)
open(\"$w/usr1-ready\", \"w\").close()
t = time.monotonic()
while not got and time.monotonic() - t < 20: time.sleep(0.05)' & p=\$!
i=0; while [ ! -e $w/usr1-ready ] && [ \$i -lt 400 ]; do i=\$((i+1)); sleep 0.05; done
kill -USR1 \$p; wait \$p; echo rc=\$?")
[[ $out == $'ready\nusr1\nrc=0' ]] || fail "a handled SIGUSR1: $out"
# Job control: a stop of the deputy (as from Ctrl-Z) stops the body, CONT resumes both.
out=$(on node1 sh -c "$M -r node2 sh -c 'i=0; while [ \$i -lt 40 ]; do i=\$((i+1)); sleep 0.1; done; echo finished' & p=\$!
sleep 1; kill -TSTP \$p; sleep 1; echo \"state \$(cut -d' ' -f3 /proc/\$p/stat)\"; kill -CONT \$p; wait \$p; echo rc=\$?")
[[ $out == $'state T\nfinished\nrc=0' ]] || fail "stop and continue: $out"
assert_no_guests node2

# ---- security: the body sees nothing of node2 ------------------------------
log "security"
secret=/run/mosix/scratch/secret-$$
on node2 sh -c "echo node2-only > $secret"
out=$(on node1 "$M" -r node2 cat "$secret" 2>&1) && fail "a remote body read node2's private file: $out"
[[ $out == *"No such file"* ]] || fail "reading node2's file: $out"
# A listening socket of the body is home's, not node2's.
on node1 "$M" -r node2 python3 -c 'import socket, time
s = socket.socket(); s.bind(("0.0.0.0", 47311)); s.listen(); time.sleep(4)' &
bg=$!
sleep 2
n1=$(on node1 ss -ltnH | grep -c ':47311 ' || true)
n2=$(on node2 ss -ltnH | grep -c ':47311 ' || true)
# Meanwhile: the body on node2 is the guest user, without capabilities, in
# its own network namespace, with a root that holds only what exec needed.
body=$(on node2 pgrep -u nobody -x python3 | head -1)
[[ -n $body ]] || fail "no body of the guest user on node2"
st=$(on node2 cat /proc/$body/status)
grep -Eq '^Uid:\s+65534\s+65534\s+65534' <<<"$st" || fail "the body is not uid 65534: $(grep Uid <<<"$st")"
grep -Eq '^CapEff:\s+0+$' <<<"$st" || fail "the body has capabilities: $(grep Cap <<<"$st")"
[[ $(on node2 readlink /proc/$body/ns/net) != $(on node2 readlink /proc/1/ns/net) ]] ||
  fail "the body shares node2's network namespace"
on node2 test -e /proc/$body/root/etc/passwd && fail "the body sees node2's /etc"
on node2 test -e /proc/$body/root/lib64/ld-linux-x86-64.so.2 || fail "the body's root lacks the interpreter its exec needed"
wait $bg || fail "the listening program failed"
[[ $n1 == 1 && $n2 == 0 ]] || fail "the body's listening socket: $n1 on node1, $n2 on node2"
# Signals go to home's PIDs: node2's daemon cannot be reached. Its PID on
# node2 names another process at home (often node1's own daemon): as root,
# kill -0 there succeeds at home exactly as natively; as an unprivileged
# user, SIGTERM fails with EPERM exactly as natively.
d2=$(on node2 pgrep -x mosixd)
r_out=$(on node1 "$M" -r node2 sh -c "kill -0 $d2; echo kill \$?" 2>&1)
h_out=$(on node1 "$M" -h sh -c "kill -0 $d2; echo kill \$?" 2>&1)
n_out=$(on node1 sh -c "kill -0 $d2; echo kill \$?" 2>&1)
[[ $r_out == "$n_out" && $h_out == "$n_out" ]] ||
  fail "kill -0 of pid $d2: remote '$r_out', home '$h_out', native '$n_out'"
asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups)
r_out=$(on node1 "${asuser[@]}" "$M" -r node2 sh -c "kill -TERM $d2; echo kill \$?" 2>/dev/null)
h_out=$(on node1 "${asuser[@]}" "$M" -h sh -c "kill -TERM $d2; echo kill \$?" 2>/dev/null)
n_out=$(on node1 "${asuser[@]}" sh -c "kill -TERM $d2; echo kill \$?" 2>/dev/null)
[[ $r_out == "kill 1" && $r_out == "$n_out" && $h_out == "$n_out" ]] ||
  fail "SIGTERM to pid $d2 as nobody: remote '$r_out', home '$h_out', native '$n_out'"
on node2 kill -0 "$d2" || fail "node2's daemon died"
node_reports node1 3 3 || fail "a daemon died"
assert_no_guests node2

# ---- faults ----------------------------------------------------------------
remote_sleep_runs() { [[ -n $("$MOSCLUSTER" exec node2 -- pgrep -u nobody -x sleep) ]]; }

log "faults: node2's daemon killed mid-run (the body runs on: documented)"
on node1 sh -c "$M -r node2 sh -c 'sleep 3; echo survived' > $w/survive" &
bg=$!
sleep 1
on node2 pkill -KILL -x mosixd
wait $bg || fail "the program failed when node2's daemon died"
[[ $(on node1 cat "$w/survive") == survived ]] || fail "no output after node2's daemon died"
"$MOSCLUSTER" restart node2 >/dev/null
wait_until 30 "node1 to see node2 up" node_reports node1 3 3
assert_no_guests node2

log "faults: the deputy killed with SIGKILL"
on node1 sh -c "$M -r node2 sleep 60 & echo \$! > $w/dpid; wait" &
bg=$!
wait_until 10 "the remote sleep" remote_sleep_runs
on node1 sh -c "kill -KILL \$(cat $w/dpid)"
wait $bg || true
assert_no_guests node2

log "faults: node2's side dies (its guest supervisor killed)"
on node1 "$M" -r node2 sleep 60 &
bg=$!
wait_until 10 "the remote sleep" remote_sleep_runs
on node2 pkill -KILL -x mos-guest
rc=0
wait $bg || rc=$?
[[ $rc == 137 ]] || fail "a lost remote node gave status $rc, not 137 (killed by SIGKILL)"
assert_no_guests node2

log "faults: the link to node2 cut (no FIN, no RST)"
on node1 "$M" -r node2 sleep 60 &
bg=$!
wait_until 10 "the remote sleep" remote_sleep_runs
ip link set mosveth2 down
t0=$SECONDS
rc=0
wait $bg || rc=$?
took=$((SECONDS - t0))
ip link set mosveth2 up
[[ $rc == 137 ]] || fail "a cut link gave status $rc, not 137"
((took <= 20)) || fail "a cut link took ${took}s to notice"
log "  cut link noticed after ${took}s"
assert_no_guests node2

on node1 rm -rf "$w"
on node2 rm -f "$secret"
log "mosrun -r: all checks passed"
