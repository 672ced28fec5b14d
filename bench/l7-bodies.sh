#!/usr/bin/env bash
# L7 body skip (issue 15): a client in namespace a fetches an N-byte Content-Length response R times over one
# keep-alive connection from a Python server in namespace b (port 8080); the agent (aggregation medium, httpV2)
# watches a's host-side veth with --l7-body-skip false vs true, in alternated rounds. Per run: datapath events,
# L7-only events, body segments the kernel left out, HTTP responses counted, and the agent's CPU time
# (every thread's schedstat, lib.sh's agent_task_ns: ns, user + kernel) over the workload.
# usage (root): bench/l7-bodies.sh [rounds] [requests] [bytes]      BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
REQS=${2:-200}
BYTES=${3:-1048576}
[ "$(id -u)" = 0 ] || { echo "bench/l7-bodies.sh: run as root"; exit 1; }
source bench/lib.sh
[ -x "$BIN" ] || { echo "bench/l7-bodies.sh: no agent binary at $BIN"; exit 1; }
trap 'lab_cleanup' EXIT
lab_up
ip netns exec "$LAB_B" timeout 600 python3 -c '
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
body = b"b" * int(sys.argv[2])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()' "$LAB_IP_B" "$BYTES" &
for _ in $(seq 1 50); do ip netns exec "$LAB_A" curl -sf -o /dev/null "http://$LAB_IP_B:8080/" && break; sleep 0.1; done

client() { # R keep-alive GETs of the whole body
  ip netns exec "$LAB_A" timeout 300 python3 -c '
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], 8080)
for i in range(int(sys.argv[2])):
    c.request("GET", "/big/%d" % i); r = c.getresponse(); n = len(r.read())
    assert r.status == 200 and n == int(sys.argv[3]), (r.status, n)' "$LAB_IP_B" "$REQS" "$BYTES"
}

echo "L7 body skip: $REQS keep-alive GETs of $BYTES bytes, agent $BIN (medium, httpV2) on ${LAB_P}ha, $ROUNDS rounds"
for _ in $(seq 1 "$ROUNDS"); do
  for skip in false true; do
    agent_start --monitor-aggregation medium --drop-events false --hubble-metrics httpV2 --http-port 8080 \
      --l7-body-skip $skip
    sleep 0.5
    e0=$(metric spyglass_datapath_events_total); c0=$(agent_task_ns)
    client
    sleep 1.5 # the pipeline catches up
    c1=$(agent_task_ns); e1=$(metric spyglass_datapath_events_total)
    read -r cpu_ns _ <<<"$(task_ns_delta "$c0" "$c1")"
    l7=$(metric spyglass_l7_only_events_total); skipped=$(metric spyglass_datapath_l7_body_segments_skipped_total)
    http=$(metric hubble_http_requests_total); fails=$(metric spyglass_datapath_l7_skip_write_failures_total)
    python3 -c 'import sys
skip, ev, l7, sk, http, fails, ns, reqs = sys.argv[1], *map(int, sys.argv[2:])
print(f"  body-skip={skip:5s} events={ev} ({ev/reqs:.1f}/exchange) l7_only={l7} body_skipped={sk} http_requests={http} write_failures={fails} agent_cpu={ns/1e9:.3f}s ({ns/reqs/1e6:.3f} ms/exchange)")' \
      $skip $((e1 - e0)) "$l7" "$skipped" "$http" "$fails" "$cpu_ns" "$REQS"
    agent_stop
  done
done
