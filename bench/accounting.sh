#!/usr/bin/env bash
# Nothing unaccounted (issue #9, part 2). Two namespaces joined by veths and a bridge; the release agent watches the
# sender's host-side veth (ingress and egress programs).
#  1. aggregation `none`, UDP 64-byte datagrams at full speed (iperf3 -b 0) for S seconds: every packet that
#     crossed the watched veth (its rx + tx counters) must be a flow seen by the pipeline, an event counted as lost
#     (ring buffer, event queue, decode error) or a non-IP frame the agent deliberately does not report:
#     sent = seen + counted-lost (+ non-IP), exactly.
#  2. aggregation `medium`, N distinct TCP connections while the same UDP blast runs: every connection's SYN must be
#     in the agent's flow log.
# usage (root): bench/accounting.sh [seconds] [connections]        BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
CONNS=${2:-500}
[ "$(id -u)" = 0 ] || { echo "bench/accounting.sh: run as root"; exit 1; }
command -v iperf3 >/dev/null || { echo "bench/accounting.sh: needs iperf3 (apt-get install iperf3)"; exit 1; }
source bench/lib.sh
[ -x "$BIN" ] || { echo "bench/accounting.sh: no agent binary at $BIN (swift build -c release --product spyglass)"; exit 1; }
FLOWLOG=/tmp/$LAB_P-flows.log
trap 'lab_cleanup; rm -f $FLOWLOG*' EXIT
lab_up
ip netns exec "$LAB_B" iperf3 -s -D >/dev/null
sleep 0.3

quiet_counts() { # link packets, datapath packets, flows, ring lost, queue lost, decode errors, non-IP (after things settle)
  local last="" cur=""
  for _ in $(seq 1 40); do
    cur="$(link_packets "${LAB_P}ha") $(metric spyglass_datapath_packets_total) $(metric spyglass_flows_processed_total 'kind="l3_l4"') $(metric hubble_lost_events_total perf_event_ring_buffer) $(metric hubble_lost_events_total observer_events_queue) $(metric spyglass_decode_errors_total) $(metric spyglass_datapath_non_ip_packets_total)"
    [ "$cur" = "$last" ] && { echo "$cur"; return; }
    last=$cur; sleep 1.2   # the agent books losses once a second
  done
  echo "$cur"
}

echo "Nothing unaccounted: aggregation none, UDP 64 B at full speed for ${SECS}s"
for attempt in 1 2 3; do
  agent_start --monitor-aggregation none --drop-events false
  HOOKS=$(hook_ids)
  read -r l0 p0 f0 r0 q0 d0 n0 <<<"$(quiet_counts)"
  ip netns exec "$LAB_A" timeout $((SECS + 10)) iperf3 -c "$LAB_IP_B" -u -b 0 -l 64 -t "$SECS" -J >/tmp/$LAB_P-iperf.json || true
  read -r l1 p1 f1 r1 q1 d1 n1 <<<"$(quiet_counts)"
  NOW=$(hook_ids)
  agent_stop
  [ "$NOW" = "$HOOKS" ] && break
  echo "  attempt $attempt: the tc hooks on ${LAB_P}ha changed during the run ($HOOKS -> $NOW): another Spyglass agent on this machine removed them (see the report); retrying"
done
sent=$((l1 - l0)); prog=$((p1 - p0)); seen=$((f1 - f0)); ring=$((r1 - r0)); queue=$((q1 - q0)); dec=$((d1 - d0)); nonip=$((n1 - n0))
lost=$((ring + queue + dec))
rate=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["end"]["sum"]; print("%.0f" % (d["packets"]/d["seconds"]))' /tmp/$LAB_P-iperf.json 2>/dev/null || echo "?")
rm -f /tmp/$LAB_P-iperf.json
echo "  packets on the watched veth (rx+tx): $sent  (iperf3 sent $rate datagrams/s; tc programs ran on $prog)"
echo "  flows seen: $seen   counted lost: $lost (ring buffer $ring, event queue $queue, decode errors $dec)   non-IP not reported: $nonip"
diff=$((sent - seen - lost - nonip))
echo "  sent - (seen + lost + non-IP) = $diff"
echo "RESULT accounting_none sent=$sent seen=$seen lost=$lost ring=$ring queue=$queue decode=$dec nonip=$nonip difference=$diff $([ $diff = 0 ] && echo MET || echo MISSED)"

echo "Every connection observed: aggregation medium, $CONNS TCP connections during a ${SECS}s UDP blast"
agent_start --monitor-aggregation medium --drop-events false --hubble-export-file-path "$FLOWLOG" --hubble-export-file-max-size-mb 100
PORT=$((30000 + RANDOM % 10000))
ip netns exec "$LAB_B" timeout $((SECS + 30)) python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1024); s.settimeout(5)
n = int(sys.argv[2])
for _ in range(n):
    try: c, _ = s.accept()
    except socket.timeout: break
    c.recv(16); c.close()
' "$PORT" "$CONNS" &
SERVER=$!
sleep 0.3
ip netns exec "$LAB_A" timeout $((SECS + 10)) iperf3 -c "$LAB_IP_B" -u -b 0 -l 64 -t "$SECS" >/dev/null 2>&1 &
BLAST=$!
sleep 0.5
PORTS=$(ip netns exec "$LAB_A" timeout $((SECS + 30)) python3 -c '
import socket, sys
ports = []
for i in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    ports.append(c.getsockname()[1]); c.sendall(b"x"); c.close()
print(" ".join(map(str, ports)))
' "$LAB_IP_B" "$PORT" "$CONNS")
wait "$BLAST" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
sleep 2
agent_stop   # flushes the flow log
python3 - "$FLOWLOG" "$LAB_IP_A" "$LAB_IP_B" "$PORT" "$PORTS" <<'PY'
import json, sys
path, a, b, port, ports = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), set(map(int, sys.argv[5].split()))
seen = set()
for line in open(path):
    f = json.loads(line).get("flow")
    if not f: continue
    ip, tcp = f.get("IP", {}), f.get("l4", {}).get("TCP")
    if tcp and ip.get("source") == a and ip.get("destination") == b and tcp.get("destination_port") == port \
            and tcp.get("flags", {}).get("SYN"):
        seen.add(tcp.get("source_port"))
missing = ports - seen
print(f"  connections made: {len(ports)}, SYN flows in the flow log: {len(seen & ports)}, missing: {len(missing)}")
print(f"RESULT accounting_medium connections={len(ports)} observed={len(seen & ports)} missing={len(missing)} {'MET' if not missing and ports else 'MISSED'}")
PY
