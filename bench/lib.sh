# Shared helpers of the bench scripts (sourced): a two-namespace lab joined by veths and a bridge, the agent, and
# reading its /metrics. Every name carries a random prefix; `lab_cleanup` (run from the caller's EXIT trap)
# removes processes, namespaces and links whatever happened.
LAB_P=spyb$((RANDOM % 9000 + 1000))
LAB_A=$LAB_P-a; LAB_B=$LAB_P-b; LAB_BR=${LAB_P}br
AGENT_PID=""; AGENT_LOG=/tmp/$LAB_P-agent.log
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BIN=${BIN:-.build/release/spyglass}

lab_up() { # creates namespaces a (10.199.x.2) and b (10.199.x.3); the agent watches a's host-side veth ${LAB_P}ha
  local net=$((RANDOM % 200 + 20))
  LAB_IP_A=10.$net.77.2; LAB_IP_B=10.$net.77.3
  ip link add "$LAB_BR" type bridge; ip link set "$LAB_BR" up
  for side in a b; do
    local ns=$LAB_P-$side
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip link add "${LAB_P}h$side" type veth peer name eth0 netns "$ns"
    sysctl -qw "net.ipv6.conf.${LAB_P}h$side.disable_ipv6=1" || true
    ip link set "${LAB_P}h$side" master "$LAB_BR" up
    ip -n "$ns" addr add "$([ $side = a ] && echo "$LAB_IP_A" || echo "$LAB_IP_B")/24" dev eth0
    ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
  done
}

lab_cleanup() {
  agent_stop
  for ns in "$LAB_A" "$LAB_B"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "${LAB_P}ha" 2>/dev/null || true; ip link del "${LAB_P}hb" 2>/dev/null || true
  ip link del "$LAB_BR" 2>/dev/null || true
  rm -f "$AGENT_LOG"
}

agent_start() { # agent_start <extra args...>: the release agent on ${LAB_P}ha, metrics on 127.0.0.1:$AGENT_PORT
  AGENT_PORT=$(free_port)
  "$BIN" run --interface "${LAB_P}ha" --hubble-metrics-server "127.0.0.1:$AGENT_PORT" "$@" >"$AGENT_LOG" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$AGENT_PORT/metrics" && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "agent did not start:"; cat "$AGENT_LOG"; return 1
}

agent_stop() {
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
  AGENT_PID=""
}

# metric <name> [label-substring]: sum of the samples of one family on the agent's /metrics (text format)
metric() {
  curl -sf -H 'Accept: text/plain;version=0.0.4' "http://127.0.0.1:$AGENT_PORT/metrics" | python3 -c '
import sys
name, sub = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
t = 0.0
for line in sys.stdin:
    if line.startswith("#"): continue
    key, _, val = line.rstrip("\n").rpartition(" ")
    if (key == name or key.startswith(name + "{")) and sub in key: t += float(val)
print(int(t))' "$@"
}

# hook_ids: the BPF program ids on the watched veth's tc ingress and egress. Another Spyglass agent on the machine
# (e.g. a test run with no --interface, which takes every new veth and removes "stale" Spyglass hooks) can replace
# ours; comparing the ids before and after a measurement tells.
hook_ids() {
  for dir in ingress egress; do tc filter show dev "${LAB_P}ha" $dir | grep -o ' id [0-9]*' | tr -d ' id' | tr '\n' ' '; done
}

# link_packets <ifname>: rx + tx packets of a root-namespace interface
link_packets() {
  ip -s -j link show "$1" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'
}
