#!/usr/bin/env bash
# One end-to-end flow on the running kernel (run inside the kernel VM by guest.sh, or by hand as root on any
# machine): the agent watches the node side of a veth pair whose other end is in a pod namespace; the pod sends
# TCP connections, UDP datagrams, and UDP/TCP to closed ports; /metrics must show exact flow and drop counts.
# Usage: e2e.sh SPYGLASS_BINARY
set -euo pipefail
bin=${1:?usage: e2e.sh SPYGLASS_BINARY}
pod=spyvm-pod-$$ host=spyvm-h$$ node_ip=10.201.0.1 pod_ip=10.201.0.2
port=19965 work=$(mktemp -d)
tcp_conns=3 udp_datagrams=20 closed_udp=5 closed_tcp=2
agent_pid= srv_pids=()

cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip link del "$host" 2>/dev/null || true
  ip netns del "$pod" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "e2e: FAIL: $*"; [ -f "$work/agent.log" ] && { echo "--- agent log"; tail -30 "$work/agent.log"; }; exit 1; }
in_pod() { ip netns exec "$pod" "$@"; }

# Sum of every series of metric $1 whose labels include all of the given k="v" pairs.
metric() {
  local name=$1; shift
  awk -v name="$name" -v want="$*" '
    BEGIN { n = split(want, w, " ") }
    $0 !~ /^#/ && (index($0, name "{") == 1 || $1 == name) {
      ok = 1; for (i = 1; i <= n; i++) if (index($0, w[i]) == 0) ok = 0
      if (ok) sum += $NF
    }
    END { printf "%d\n", sum }' "$work/metrics"
}
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" -o "$work/metrics"; }
# Tcp OutSegs / InSegs of the pod's network namespace (the kernel's own counts of what crossed the veth).
snmp_tcp() { in_pod awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == "'"$1"'") print $i }' /proc/net/snmp; }

ip netns add "$pod"
ip link add "$host" type veth peer name eth0 netns "$pod"
ip addr add "$node_ip/24" dev "$host"
ip link set "$host" up
in_pod ip addr add "$pod_ip/24" dev eth0
in_pod ip link set eth0 up
in_pod ip link set lo up
# No IPv6 on the link: router solicitations and DAD would add flows this test does not count.
sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1" 2>/dev/null || true
in_pod sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 2>/dev/null || true


# Servers on the node: TCP 8080 (keeps listening), UDP 9999.
nc -dlk "$node_ip" 8080 >/dev/null </dev/null & srv_pids+=($!)
nc -dlu "$node_ip" 9999 >/dev/null </dev/null & srv_pids+=($!)
for i in $(seq 1 50); do in_pod nc -z -w 2 "$node_ip" 8080 && break; sleep 0.2; done
in_pod nc -z -w 2 "$node_ip" 8080 || fail "the pod cannot reach the node's TCP server over the veth"

"$bin" run --interface "$host" --hubble-metrics-server "127.0.0.1:$port" --monitor-aggregation none \
  --hubble-metrics 'drop:labelsContext=source_ip,destination_ip flow' --node-name kernel-vm \
  >"$work/agent.log" 2>&1 & agent_pid=$!
for i in $(seq 1 600); do   # bounded: 600 tries of at least 0.2 s (start-up is slow under emulation)
  scrape 2>/dev/null && break
  kill -0 "$agent_pid" 2>/dev/null || fail "agent exited during start-up"
  sleep 0.2
done
scrape || fail "agent did not serve /metrics within 600 tries"

out0=$(snmp_tcp OutSegs) in0=$(snmp_tcp InSegs)
for i in $(seq 1 $tcp_conns); do
  echo "hello $i" | in_pod nc -N -w 5 "$node_ip" 8080 || fail "TCP connection $i"
done
for i in $(seq 1 $closed_tcp); do
  in_pod nc -z -w 5 "$node_ip" 7000 && fail "TCP port 7000 is unexpectedly open"
done
# All datagrams from one socket: the UDP server answers one peer.
in_pod bash -c "exec 3>/dev/udp/$node_ip/9999; for i in \$(seq 1 $udp_datagrams); do echo x >&3; done" || fail "UDP sender"
# One socket per datagram to the closed port: a connected socket would fail its next send after the ICMP error.
for i in $(seq 1 $closed_udp); do in_pod bash -c "echo x >/dev/udp/$node_ip/7001" 2>/dev/null || true; done
out1=$(snmp_tcp OutSegs) in1=$(snmp_tcp InSegs)
tcp_out=$((out1 - out0)) tcp_in=$((in1 - in0))
[ "$tcp_out" -gt 0 ] && [ "$tcp_in" -gt 0 ] || fail "no TCP segments counted by the kernel ($tcp_out out, $tcp_in in)"

# Expected exact values, as "metric|labels|value".
ctx="source_ip=\"$pod_ip\" destination_ip=\"$node_ip\""
expect=(
  "hubble_flows_processed_total|protocol=\"TCP\" subtype=\"from-endpoint\" type=\"Trace\" verdict=\"FORWARDED\"|$tcp_out"
  "hubble_flows_processed_total|protocol=\"TCP\" subtype=\"to-endpoint\" type=\"Trace\" verdict=\"FORWARDED\"|$tcp_in"
  "hubble_flows_processed_total|protocol=\"UDP\" subtype=\"from-endpoint\" type=\"Trace\" verdict=\"FORWARDED\"|$((udp_datagrams + closed_udp))"
  "hubble_drop_total|reason=\"NO_SOCKET\" protocol=\"UDP\" $ctx|$closed_udp"
  "hubble_drop_total|reason=\"NO_SOCKET\" protocol=\"TCP\" $ctx|$closed_tcp"
)
check() {
  local ok=0 e name labels want got
  for e in "${expect[@]}"; do
    IFS='|' read -r name labels want <<<"$e"
    got=$(metric "$name" "$labels")
    [ "$got" = "$want" ] || ok=1
  done
  return $ok
}
for i in $(seq 1 150); do scrape && check && break; sleep 0.2; done
scrape || fail "scrape after traffic"
status=0
for e in "${expect[@]}"; do
  IFS='|' read -r name labels want <<<"$e"
  got=$(metric "$name" "$labels")
  if [ "$got" = "$want" ]; then r=PASS; else r=FAIL; status=1; fi
  echo "e2e: $r $name{$labels} = $got (expected $want)"
done
lost=$(metric hubble_lost_events_total "")
echo "e2e: hubble_lost_events_total = $lost"
[ "$lost" = 0 ] || { echo "e2e: FAIL: events were lost"; status=1; }
kill -0 "$agent_pid" 2>/dev/null || { echo "e2e: FAIL: the agent died"; status=1; }
if [ $status != 0 ]; then
  echo "--- every hubble_ series"; grep '^hubble_' "$work/metrics" || true
  echo "--- agent log"; tail -30 "$work/agent.log"
fi
exit $status
