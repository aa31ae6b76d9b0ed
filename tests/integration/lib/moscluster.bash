# Helpers for integration tests that run against a real `moscluster`.
# Source it from a test script; it sets `set -euo pipefail`.
#
#   MOS_BIN   directory with moscluster, mosixd, mosctl (CTest sets it)
#   MOS_SRC   the source tree (CTest sets it)
#
# Exit codes: 77 = skipped (not root, or a kernel feature is missing).

set -euo pipefail

MOS_SRC=${MOS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
MOS_BIN=${MOS_BIN:-$MOS_SRC/build/cli}
MOSCLUSTER=$MOS_BIN/moscluster
MOSCTL=$MOS_BIN/mosctl

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# Skips unless we are root on a kernel that has what a cluster needs.
require_cluster_support() {
  [[ $EUID -eq 0 ]] || skip "needs root (namespaces, links, cgroups)"
  command -v ip >/dev/null || skip "needs the ip command (iproute2)"
  [[ -e /proc/self/ns/net && -e /proc/self/ns/pid && -e /proc/self/ns/mnt ]] ||
    skip "kernel lacks network, PID or mount namespaces"
  if [[ ! -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]] &&
    ! grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    skip "no cgroup cpu controller (v1 cpu hierarchy or v2 cpu) is available"
  fi
  # Bridges and veths may be missing as modules.
  if ! ip link add mostestbr0 type bridge 2>/dev/null; then
    skip "kernel cannot create bridges"
  fi
  ip link del mostestbr0
  if ! ip link add mostestv0 type veth peer name mostestv1 2>/dev/null; then
    skip "kernel cannot create veth pairs"
  fi
  ip link del mostestv0
  for b in moscluster mosixd mosctl; do
    [[ -x $MOS_BIN/$b ]] || fail "$MOS_BIN/$b is missing: build it first"
  done
}

# A cluster the test did not make is not ours to destroy.
require_no_cluster() {
  local netns
  netns=$(ip netns list 2>/dev/null || true)
  if [[ -e /run/moscluster ]] || grep -q '^mos-node' <<<"$netns" ||
    ip link show mosbr0 >/dev/null 2>&1; then
    fail "a moscluster is already up on this machine; run '$MOSCLUSTER down' first"
  fi
}

# Always tear down, even when the test fails or the watchdog fires.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM USR1
  stop_watchdog
  if [[ ${CLUSTER_STARTED:-0} == 1 ]]; then
    timeout 120 "$MOSCLUSTER" down >/dev/null 2>&1 || echo "cleanup: moscluster down failed" >&2
  fi
  exit "$rc"
}
arm_cleanup() {
  CLUSTER_STARTED=1
  trap cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
}

# node_reports NODE CONFIGURED UP: mosctl status inside NODE says so.
node_reports() {
  local out
  out=$("$MOSCLUSTER" exec "$1" -- "$MOSCTL" status 2>&1) || return 1
  grep -qx "$2 nodes configured, $3 up" <<<"$out"
}

# Fails if anything a cluster makes is still on the machine.
assert_nothing_left() {
  local left=() netns
  netns=$(ip netns list 2>/dev/null | grep '^mos-node' || true)
  [[ -z $netns ]] || left+=("netns: ${netns//$'\n'/ }")
  local links
  links=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(mosbr0|mosveth)' || true)
  [[ -z $links ]] || left+=("links: $links")
  local c own
  for c in cpu cpuacct memory; do
    [[ -d /sys/fs/cgroup/$c ]] || continue
    [[ ! -e /sys/fs/cgroup/$c/mosix ]] || left+=("cgroup /sys/fs/cgroup/$c/mosix")
    own=$(awk -F: -v c="$c" '{n=split($2,a,","); for(i=1;i<=n;i++) if(a[i]==c) print $3}' /proc/self/cgroup)
    if [[ -n $own && $own != / && -e /sys/fs/cgroup/$c$own/mosix ]]; then
      left+=("cgroup /sys/fs/cgroup/$c$own/mosix")
    fi
  done
  if [[ -e /sys/fs/cgroup/cgroup.controllers && -e /sys/fs/cgroup/mosix ]]; then
    left+=("cgroup /sys/fs/cgroup/mosix")
  fi
  if grep -qE ' /run/netns/mos-node| /run/mosix | /var/tmp/moscluster' /proc/self/mountinfo; then
    left+=("mounts: $(grep -E ' /run/netns/mos-node| /run/mosix | /var/tmp/moscluster' /proc/self/mountinfo | awk '{print $5}' | tr '\n' ' ')")
  fi
  local d
  for d in /run/moscluster /var/tmp/moscluster; do
    [[ ! -e $d ]] || left+=("$d")
  done
  if pgrep -f -- '__node-init' >/dev/null; then
    left+=("node inits: $(pgrep -f -- '__node-init' | tr '\n' ' ')")
  fi
  ((${#left[@]} == 0)) || fail "left behind after down: ${left[*]}"
}

# guests_on NODE: the guest supervisors and bodies running on NODE (the
# guest user's processes and mos-guest/mos-body-init), one "pid name" a line.
guests_on() {
  "$MOSCLUSTER" exec "$1" -- sh -c \
    'ps -e -o pid=,user=,comm= | awk '\''$2 == "nobody" || $3 == "mos-guest" || $3 == "mos-body-init" {print $1, $3}'\'''
}

# assert_no_guests NODE...: nothing of a guest body is left on any NODE
# (waits a little: a supervisor notices its deputy's end within seconds).
assert_no_guests() {
  local n left
  for n in "$@"; do
    local deadline=$((SECONDS + 15))
    while left=$(guests_on "$n") && [[ -n $left ]]; do
      ((SECONDS < deadline)) || fail "left on $n: $(tr '\n' ' ' <<<"$left")"
      sleep 0.25
    done
  done
}
