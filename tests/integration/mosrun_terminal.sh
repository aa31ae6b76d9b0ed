#!/usr/bin/env bash
# mosrun at a real terminal (a shell in tmux on node1): Ctrl-C interrupts
# the program, Ctrl-Z stops it (the shell says Stopped and the program's
# output stops), fg continues it, and the exit status is the program's;
# with the body at home (-h) and on another node (-r node2). (What the
# programs print is computed, e.g. rdy$((40+2)), so the echo of the typed
# command line never matches a check.)
source "$(dirname "${BASH_SOURCE[0]}")/lib/moscluster.bash"

require_cluster_support
require_no_cluster
command -v tmux >/dev/null || skip "needs tmux (a real terminal)"
TMUX_SOCK=mos-terminal-$$
start_watchdog 300
arm_cleanup
# Keep the exit status through the extra cleanup step.
cleanup_all() {
  local rc=$?
  tmux -L "$TMUX_SOCK" kill-server >/dev/null 2>&1 || true
  (exit "$rc")
  cleanup
}
trap cleanup_all EXIT
M=$MOS_BIN/mosrun

"$MOSCLUSTER" up --nodes 2 >/dev/null || fail "moscluster up failed"
# A session of its own with the terminal as its controlling terminal: in the
# node's PID namespace the outer session's leader is not visible, and bash
# would have no job control.
tmux -L "$TMUX_SOCK" new-session -d -x 120 -y 40 \
  "$MOSCLUSTER exec node1 -- setsid -f -w -c env PS1='mos\$ ' TERM=xterm bash --norc --noprofile -i"
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -S -200; }
type_line() { tmux -L "$TMUX_SOCK" send-keys -l "$1"; tmux -L "$TMUX_SOCK" send-keys Enter; }
# Forget what the screen showed (so a check never passes on old output).
fresh() {
  type_line clear
  sleep 0.3
  tmux -L "$TMUX_SOCK" clear-history
}
shows() { screen | grep -q -- "$1"; }
wait_until 10 "the shell prompt" shows 'mos\$'

for mode in "-h" "-r node2"; do
  log "mosrun $mode: Ctrl-C"
  fresh
  type_line "$M $mode sh -c 'trap \"echo got\\\$((6*7))INT; exit 5\" INT; echo rdy\$((40+2)); while :; do sleep 0.1; done'"
  wait_until 15 "the program to start ($mode)" shows rdy42
  tmux -L "$TMUX_SOCK" send-keys C-c
  wait_until 10 "Ctrl-C to reach the program ($mode)" shows got42INT
  type_line 'echo status=$?'
  wait_until 10 "its status ($mode)" shows 'status=5'

  log "mosrun $mode: Ctrl-Z, fg"
  fresh
  type_line "$M $mode sh -c 'i=0; while [ \$i -lt 40 ]; do echo tick-\$i; i=\$((i+1)); sleep 0.1; done; echo end\$((6*7))'"
  wait_until 15 "ticks ($mode)" shows tick-3
  tmux -L "$TMUX_SOCK" send-keys C-z
  wait_until 10 "the shell to report the job stopped ($mode)" shows Stopped
  sleep 0.5
  a=$(screen | grep -c '^tick-')
  sleep 1.5
  b=$(screen | grep -c '^tick-')
  ((a == b)) || fail "$mode: the program kept printing while stopped ($a then $b ticks)"
  ((a < 40)) || fail "$mode: the loop ended before it was stopped"
  type_line "fg"
  wait_until 20 "the job to finish after fg ($mode)" shows end42
  type_line 'echo status=$?'
  wait_until 10 "its status after fg ($mode)" shows 'status=0'
done
type_line "exit"
assert_no_guests node2
log "terminal job control: all checks passed"
