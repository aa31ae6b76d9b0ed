#!/usr/bin/env bash
# run.sh MODE PROGRAM [ARGS...]
#
# Runs one corpus program in a fresh MOS_PROG_DIR with a fixed stdin
# (inputs/PROGRAM.in, else /dev/null), a fixed environment, umask 022, no
# core files and a timeout, and prints its normalised transcript: stdout,
# then a final line "exit: N" or "killed by SIGNAME" (or "timed out").
#
# MODE:  native        the program itself
#        home          mosrun -h PROGRAM            (body sandboxed at home)
#        remote:NODE   moscluster exec HOME -- mosrun -r NODE PROGRAM
#                      (HOME is $MOS_HOME_NODE, default node1)
# MOS_PROG_ON_HOME=1 runs native and home inside HOME as well.
# MOS_PROG_USER=NAME runs the program as that user (root runs run.sh).
# home and remote exit 77 (skip) until $MOS_BIN/mosrun exists.
#
# Programs that need a partner are run with it here:
#   tcp_echo_server  the client runs beside it in $MOS_PROG_PARTNER_MODE
#   tcp_echo_client  the server runs beside it      (default: native)
#   tcp_echo_pair    not a binary: server and client both run in MODE
#                    (the client in $MOS_PROG_CLIENT_MODE if set)
#
# Exit status: 0 when the transcript was produced (whatever the program's
# own status, which is in the transcript), 77 skipped, 2 usage or setup.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin_dir=${MOS_PROG_BIN:-$here/../../build/tests/programs}
mos_bin=${MOS_BIN:-$(dirname "$bin_dir")/../cli}
mosrun=$mos_bin/mosrun
moscluster=$mos_bin/moscluster
home_node=${MOS_HOME_NODE:-node1}
timeout_s=${MOS_PROG_TIMEOUT:-60}

die() { echo "run.sh: $*" >&2; exit 2; }
skip() { echo "run.sh: skipped: $*" >&2; exit 77; }

(($# >= 2)) || die "usage: run.sh MODE PROGRAM [ARGS...]"
mode=$1
name=$2
shift 2

# ---- modes -----------------------------------------------------------------
# mode_setup MODE sets two command prefixes:
#   on_home  runs a command on the program's home node (where its files are)
#   wrap     goes between the timeout and the program binary
# Turning a mode on later is the mosrun line of its case, nothing else.
# With MOS_PROG_ON_HOME=1 native and home runs happen inside the home node
# too, so that they compare with remote runs on equal terms (the home node's
# hostname, session and /tmp).
mode_setup() {
  local here_prefix=()
  if [[ ${MOS_PROG_ON_HOME:-0} == 1 ]]; then
    [[ -x $moscluster ]] || skip "moscluster not built"
    here_prefix=("$moscluster" exec "$home_node" --)
  fi
  case $1 in
    native)
      on_home=("${here_prefix[@]}")
      wrap=()
      ;;
    home)
      [[ -x $mosrun ]] || skip "mosrun not built yet"
      on_home=("${here_prefix[@]}")
      wrap=("$mosrun" -h)
      ;;
    remote:?*)
      [[ -x $mosrun ]] || skip "mosrun not built yet"
      [[ -x $moscluster ]] || skip "moscluster not built"
      on_home=("$moscluster" exec "$home_node" --)
      wrap=("$mosrun" -r "${1#remote:}")
      ;;
    *) die "unknown mode '$1' (native, home, remote:NODE)" ;;
  esac
}

# The environment every program starts with, nothing inherited.
fixed_env=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/ LC_ALL=C LANG=C TZ=UTC TERM=dumb
           USER=mosprog LOGNAME=mosprog)

# ---- scratch space and cleanup ---------------------------------------------
mode_setup "$mode"
main_on_home=("${on_home[@]}")
work=$(mktemp -d "${TMPDIR:-/tmp}/mos-run.XXXXXX") || die "mktemp failed"
prog_dir=""
declare -A live=()  # pids of programs started and not yet finished

cleanup() {
  local pid
  for pid in "${!live[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -n $prog_dir ]]; then
    "${main_on_home[@]}" rm -rf -- "$prog_dir"
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

prog_dir=$("${on_home[@]}" mktemp -d /tmp/mos-prog.XXXXXX) || die "cannot make MOS_PROG_DIR"
# MOS_PROG_USER=NAME: the program runs as that user (from root), its
# directory given to it.
as_user=()
if [[ -n ${MOS_PROG_USER:-} ]]; then
  ((EUID == 0)) || skip "MOS_PROG_USER needs root to switch users"
  uid=$(id -u "$MOS_PROG_USER") && gid=$(id -g "$MOS_PROG_USER") || die "no user $MOS_PROG_USER"
  "${on_home[@]}" chown "$uid:$gid" "$prog_dir" || die "cannot give $prog_dir to $MOS_PROG_USER"
  as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups)
fi
prog_dir_real=$("${on_home[@]}" realpath "$prog_dir") || prog_dir_real=$prog_dir

# Job control: each program runs in its own process group, so whatever it
# leaves behind can be killed as a group, and background programs do not
# start with SIGINT ignored.
set -m

# start_prog MODE NAME OUT [ARGS...]: start NAME in the background with its
# stdout in OUT; sets started_pid.
start_prog() {
  local m=$1 n=$2 out=$3
  shift 3
  mode_setup "$m"
  local bin=$bin_dir/$n
  [[ -x $bin ]] || die "no program $bin (build the 'programs' target)"
  local input=/dev/null
  [[ -f $here/inputs/$n.in ]] && input=$here/inputs/$n.in
  "${on_home[@]}" "${as_user[@]}" env -i "${fixed_env[@]}" MOS_PROG_DIR="$prog_dir" \
    /bin/sh -c 'umask 022 && ulimit -c 0 && cd "$MOS_PROG_DIR" && unset PWD OLDPWD && exec "$@"' sh \
    timeout -k 5 "$timeout_s" "${wrap[@]}" "$bin" "$@" <"$input" >"$out" &
  started_pid=$!
  live[$started_pid]=1
}

# finish_prog PID: wait for it, kill anything left in its process group and
# set status_line. (Not in $(...): only this shell can wait for its jobs.)
finish_prog() {
  local pid=$1 rc
  { wait "$pid"; } 2>/dev/null
  rc=$?
  kill -KILL -- "-$pid" 2>/dev/null
  unset "live[$pid]"
  if ((rc == 124)); then
    status_line="timed out after ${timeout_s}s"
  elif ((rc > 128 && rc < 128 + 65)); then
    status_line="killed by SIG$(kill -l $((rc - 128)))"
  else
    status_line="exit: $rc"
  fi
}

# Paths that differ from run to run are replaced by their variable names.
normalise() {
  sed -e "s|$prog_dir_real|\$MOS_PROG_DIR|g" -e "s|$prog_dir|\$MOS_PROG_DIR|g" \
      -e "s|$bin_dir|\$MOS_PROG_BIN|g" "$1"
}

# run_with_partner PARTNER_NAME PARTNER_MODE ARGS...: the program under test
# in MODE and its partner beside it, both given the same port file.
run_with_partner() {
  local partner=$1 pmode=$2
  shift 2
  start_prog "$pmode" "$partner" "$work/partner.out" "$@"
  local partner_pid=$started_pid
  start_prog "$mode" "$name" "$work/out" "$@"
  finish_prog "$started_pid"
  local st=$status_line
  finish_prog "$partner_pid"
  local pst=$status_line
  normalise "$work/out"
  echo "partner $partner: $pst"
  echo "$st"
}

port_file=$prog_dir/port
case $name in
  tcp_echo_pair)
    (($# == 0)) || die "tcp_echo_pair takes no arguments"
    start_prog "$mode" tcp_echo_server "$work/server.out" "$port_file" 5
    partner_pid=$started_pid
    start_prog "${MOS_PROG_CLIENT_MODE:-$mode}" tcp_echo_client "$work/client.out" "$port_file" 5
    finish_prog "$started_pid"
    cst=$status_line
    finish_prog "$partner_pid"
    sst=$status_line
    echo "--- tcp_echo_server"
    normalise "$work/server.out"
    echo "server $sst"
    echo "--- tcp_echo_client"
    normalise "$work/client.out"
    echo "client $cst"
    if [[ $sst == "exit: 0" && $cst == "exit: 0" ]]; then echo "exit: 0"; else echo "exit: 1"; fi
    ;;
  tcp_echo_server)
    (($# == 0)) || die "tcp_echo_server is run with its port file by run.sh"
    run_with_partner tcp_echo_client "${MOS_PROG_PARTNER_MODE:-native}" "$port_file" 5
    ;;
  tcp_echo_client)
    (($# == 0)) || die "tcp_echo_client is run with its port file by run.sh"
    run_with_partner tcp_echo_server "${MOS_PROG_PARTNER_MODE:-native}" "$port_file" 5
    ;;
  *)
    start_prog "$mode" "$name" "$work/out" "$@"
    finish_prog "$started_pid"
    normalise "$work/out"
    echo "$status_line"
    ;;
esac
exit 0
