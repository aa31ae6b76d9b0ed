#!/usr/bin/env bash
# mosrun at home: the program's output, exit status, PID, signals and files
# are those of a plain process, and nothing is left behind.
source "$(dirname "$0")/lib/common.bash"
set -euo pipefail
BIN=${MOS_BIN:?MOS_BIN must point at the cli directory of the build}
M=$BIN/mosrun
PY=/usr/bin/python3
[[ -x $PY ]] || skip "needs /usr/bin/python3"

dir=$(mktemp -d /tmp/mos-mosrun.XXXXXX)
cleanup() {
  stop_watchdog
  pkill -KILL -f "$dir" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
start_watchdog 120

# Output and exit status.
[[ $("$M" /bin/echo hello world) == "hello world" ]] || fail "echo"
"$M" /bin/true || fail "true"
set +e; "$M" /bin/false; rc=$?; set -e
[[ $rc == 1 ]] || fail "false gave $rc"
set +e; "$M" /bin/sh -c 'exit 7'; rc=$?; set -e
[[ $rc == 7 ]] || fail "exit 7 gave $rc"

seq 1 20000 | shuf --random-source=<(yes) > "$dir/numbers"
# Files: created, appended, renamed, listed and read back through the
# deputy (fork is not supported yet, so no external commands in between).
"$M" "$PY" -c "import os
d = '$dir'
open(d + '/a', 'w').write('one\\n')
open(d + '/a', 'a').write('two\\n')
os.rename(d + '/a', d + '/b')
os.mkdir(d + '/sub')
print(sorted(os.listdir(d)))
print(open(d + '/b').read(), end='')" > "$dir/out"
printf "%s\n" "['b', 'numbers', 'out', 'sub']" one two > "$dir/want"
cmp -s "$dir/out" "$dir/want" || fail "file round trip: $(cat "$dir/out")"
"$M" /usr/bin/sort -n "$dir/numbers" > "$dir/sorted.mos"
sort -n "$dir/numbers" > "$dir/sorted.native"
cmp -s "$dir/sorted.mos" "$dir/sorted.native" || fail "sort output differs"
"$M" /usr/bin/xz -9 -c "$dir/numbers" > "$dir/n.xz.mos"
xz -9 -c "$dir/numbers" > "$dir/n.xz.native"
cmp -s "$dir/n.xz.mos" "$dir/n.xz.native" || fail "xz output differs"

# Shells: fork, exec, pipes between children, wait, command substitution,
# background jobs, a bash loop that spawns children; output as native.
script='seq 1 2000 | sort -rn | head -3; x=$(echo sub); echo "got $x"
for i in 1 2 3 4 5; do /bin/echo "child $i"; done | tr a-z A-Z
sleep 0.1 & wait $!; echo "bg $?"; (exit 4); echo "sub $?"'
[[ $("$M" /bin/sh -c "$script") == "$(/bin/sh -c "$script")" ]] || fail "sh transcript differs"
loop='for i in $(seq 1 30); do /usr/bin/expr $i \* 2; done | awk '"'"'{s += $1} END {print s}'"'"''
[[ $("$M" /bin/bash -c "$loop") == "$(/bin/bash -c "$loop")" ]] || fail "bash loop differs"
set +e; "$M" /bin/sh -c '/bin/sh -c "exit 9"'; rc=$?; set -e
[[ $rc == 9 ]] || fail "a child's exit status did not come through: $rc"

# stdin -> stdout pipeline.
[[ $(printf 'b\na\n' | "$M" /usr/bin/sort | tr '\n' ' ') == "a b " ]] || fail "pipeline"

# A real interpreter with several modules.
out=$("$M" "$PY" -c 'import json, hashlib, re, os, collections
print(json.dumps({"h": hashlib.sha256(b"mosix").hexdigest()[:12], "cwd": os.getcwd()}))')
want=$("$PY" -c 'import json, hashlib, re, os, collections
print(json.dumps({"h": hashlib.sha256(b"mosix").hexdigest()[:12], "cwd": os.getcwd()}))')
[[ $out == "$want" ]] || fail "python3: '$out' != '$want'"

# The program's PID is mosrun's PID.
"$M" "$PY" -c 'import os; print(os.getpid())' > "$dir/pid" &
p=$!
wait $p
[[ $(cat "$dir/pid") == "$p" ]] || fail "getpid $(cat "$dir/pid") != \$! $p"

# A signal sent to the PID reaches the program's handler; a forwarded sleep
# is interrupted and resumed as Python does natively.
"$M" "$PY" -c 'import signal, time
signal.signal(signal.SIGUSR1, lambda s, f: print("usr1", flush=True))
print("ready", flush=True)
time.sleep(2)
print("done")' > "$dir/sig" &
p=$!
wait_until 10 "the program to be ready" grep -q ready "$dir/sig"
kill -USR1 $p
wait $p || fail "the signalled program failed"
[[ $(cat "$dir/sig" | tr '\n' ' ') == "ready usr1 done " ]] || fail "signal transcript: $(cat "$dir/sig")"

# Death by a signal is reported as death by that signal.
"$M" /bin/sleep 30 &
p=$!
sleep 0.3
kill -TERM $p
set +e; wait $p; rc=$?; set -e
[[ $rc == 143 ]] || fail "SIGTERM gave status $rc, not 143"

# SIGKILL to the deputy takes the body and the supervisor with it. (Other
# tests may run mosrun meanwhile: look only at this program's processes.)
marker="31.$$"
"$M" /bin/sleep "$marker" &
p=$!
wait_until 5 "the body to start" pgrep -f "^/bin/sleep $marker"
body=$(pgrep -f "^/bin/sleep $marker" | head -1)
supervisor=$(ps -o ppid= -p "$body" | tr -d ' ')
[[ $(ps -o comm= -p "$supervisor") == mos-supervisor ]] || fail "the body's parent is not its supervisor"
kill -KILL $p
wait $p 2>/dev/null || true
gone() { ! kill -0 "$body" 2>/dev/null && ! kill -0 "$supervisor" 2>/dev/null; }
wait_until 5 "the body and supervisor to go" gone

# Errors: unknown program, bad option.
set +e
"$M" /nonexistent/prog 2>/dev/null; rc=$?
[[ $rc == 127 ]] || fail "missing program gave $rc"
"$M" -Z /bin/true 2>/dev/null; rc=$?
[[ $rc == 2 ]] || fail "bad option gave $rc"
set -e
echo PASS
