#!/usr/bin/env bash
# Gossip across a cluster boundary carries only what the configs allow.
# Cluster alpha (a1, a2) lets beta's guests in and may send its own out;
# cluster beta (b1) lets no alpha guests in but may send its own to alpha.
# So beta needs alpha's board and gets it (only alpha's own nodes), while
# alpha, whose guests may not go to beta, never learns beta's nodes.
# Runs on loopback addresses; no cluster namespaces needed.
source "$(dirname "$0")/lib/common.bash"
set -euo pipefail
BIN=${MOS_BIN:?MOS_BIN must point at the cli directory of the build}
command -v python3 >/dev/null || skip "needs python3"

scratch_and_watchdog mos-partners 120

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peer=$(free_port)
gossip=$(free_port)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret"
chmod 600 "$dir/secret"

# config NAME CLUSTER SELF-NODES PARTNER PARTNER-NODES MAY_COME_IN MAY_GO_OUT
config() {
  {
    printf '[daemon]\nnode = "%s"\ncontrol_socket = "%s/%s.sock"\n' "$1" "$dir" "$1"
    printf '[cluster]\nname = "%s"\nsecret_file = "%s/secret"\npeer_port = %s\ngossip_port = %s\n' \
      "$2" "$dir" "$peer" "$gossip"
    printf '[gossip]\nperiod = 0.2\ndown_after = 3\n'
    for n in $3; do printf '[[cluster.node]]\nname = "%s"\naddress = "%s"\nspeed = 1.0\n' "${n%%=*}" "${n#*=}"; done
    printf '[[partner]]\nname = "%s"\npriority = 10\nmay_come_in = %s\nmay_go_out = %s\n' "$4" "$6" "$7"
    for n in $5; do printf '[[partner.node]]\nname = "%s"\naddress = "%s"\n' "${n%%=*}" "${n#*=}"; done
  } > "$dir/$1.toml"
}
ALPHA="a1=127.0.0.1 a2=127.0.0.2"
BETA="b1=127.0.0.3"
config a1 alpha "$ALPHA" beta "$BETA" true true
config a2 alpha "$ALPHA" beta "$BETA" true true
config b1 beta "$BETA" alpha "$ALPHA" false true
for n in a1 a2 b1; do
  "$BIN/mosixd" --config "$dir/$n.toml" 2> "$dir/$n.log" &
  pids+=($!)
done

names() { "$BIN/mon" --socket "$dir/$1.sock" --once --json |
  python3 -c 'import json,sys; print(" ".join(sorted(x["name"] for x in json.load(sys.stdin)["nodes"] if not x["down"])))'; }
b1_knows_alpha() { [[ $(names b1) == "a1 a2 b1" ]]; }
wait_until 20 "b1 to learn a1 and a2 from alpha's gossip" b1_knows_alpha
# Give alpha plenty of periods in which it could have learnt b1.
sleep 2
[[ $(names a1) == "a1 a2" ]] || fail "a1's board has $(names a1): beta's nodes leaked into alpha"
[[ $(names a2) == "a1 a2" ]] || fail "a2's board has $(names a2): beta's nodes leaked into alpha"
log "beta sees alpha; alpha does not see beta, as configured"
echo PASS
