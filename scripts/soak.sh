#!/usr/bin/env bash
# Soak (issue #10, part 7; not part of CI): the Star Wars demo under extra load for MINUTES minutes, sampling once a
# minute the agent's resident memory, live series, refused series, flows and lost events from its own /metrics.
# Load on top of the demo's own traffic rounds (one per second): a bounded port sweep from tiefighter to deathstar
# every 10 s (1000 new ports each time: new connections, new port-distribution series, far past the series cap) and
# a burst of HTTP requests. Output: one CSV line per minute on stdout, and a summary.
#
# usage (root): scripts/soak.sh [minutes=30] [series-cap=2000]      BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
CAP=${2:-2000}
BIN=${BIN:-.build/release/spyglass}
PORT=${PORT:-9975}
[ "$(id -u)" = 0 ] || { echo "scripts/soak.sh: run as root"; exit 1; }
[ -x "$BIN" ] || { echo "scripts/soak.sh: no agent binary at $BIN (swift build -c release --product spyglass)"; exit 1; }

WORK=$(mktemp -d /tmp/spyglass-soak.XXXXXX)
DEMO=""; LOAD=""
cleanup() {
  [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null || true
  [ -n "$DEMO" ] && kill "$DEMO" 2>/dev/null && wait "$DEMO" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" demo --duration "$((MINUTES + 2))m" --traffic-period 1 --work-dir "$WORK/demo" \
  --hubble-metrics-server "127.0.0.1:$PORT" --hubble-metrics-max-series "$CAP" >"$WORK/demo.log" 2>&1 &
DEMO=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" || { echo "demo did not start"; cat "$WORK/demo.log"; exit 1; }

# Extra load, bounded: each round opens 1000 non-blocking connections to fresh ports (1 s budget) and sends 50 HTTP
# requests; the loop ends with the soak.
SWEEP='
import socket, sys, time, random
dst = sys.argv[1]; base = int(sys.argv[2])
deadline = time.time() + 1.0
for port in range(base, base + 1000):
    if time.time() > deadline: break
    s = socket.socket(); s.setblocking(False)
    try: s.connect_ex((dst, port))
    finally: s.close()
'
(
  end=$(( $(date +%s) + MINUTES * 60 ))
  round=0
  while [ "$(date +%s)" -lt "$end" ]; do
    base=$(( 1024 + (round * 1000) % 60000 ))
    ip netns exec spydemo-tiefighter timeout 5 python3 -c "$SWEEP" 10.199.0.10 "$base" 2>/dev/null || true
    for _ in $(seq 1 50); do ip netns exec spydemo-tiefighter curl -s -o /dev/null --max-time 1 http://10.199.0.10/ || true; done
    round=$((round + 1)); sleep 10
  done
) >/dev/null 2>&1 &
LOAD=$!

sample() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | python3 -c '
import sys
v = {}; family_max = 0.0
for line in sys.stdin:
    if line.startswith("#") or not line.strip(): continue
    name, value = (line.split("{")[0], line.rsplit("}", 1)[1].split()[0]) if "}" in line else line.split()[:2]
    v[name] = v.get(name, 0.0) + float(value)
    if name == "spyglass_metrics_series": family_max = max(family_max, float(value))
def g(n): return v.get(n, 0.0)
print("%.1f,%d,%d,%d,%d,%d,%d,%.2f" % (g("process_resident_memory_bytes") / 2**20, g("spyglass_metrics_series"),
      family_max, g("spyglass_metrics_series_refused_total"), g("spyglass_flows_processed_total"),
      g("hubble_lost_events_total"), g("spyglass_l7_state_entries"), g("process_cpu_seconds_total")))'
}

START=$(date +%s)
{ echo "minute,rss_mib,live_series,largest_family,series_refused,flows,lost_events,l7_state_entries,cpu_seconds"
for m in $(seq 0 "$MINUTES"); do
  while [ $(( $(date +%s) - START )) -lt $(( m * 60 )) ]; do sleep 1; done
  kill -0 "$DEMO" 2>/dev/null || { echo "the demo exited early"; tail -20 "$WORK/demo.log"; exit 1; }
  echo "$m,$(sample)"
done; } | tee "$WORK/soak.csv"
python3 - "$WORK/soak.csv" "$CAP" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rss = [float(r["rss_mib"]) for r in rows]
series = [int(r["live_series"]) for r in rows]
largest = [int(r["largest_family"]) for r in rows]
half = len(rows) // 2
print(f"summary: {len(rows) - 1} minutes; RSS min {min(rss):.1f} max {max(rss):.1f} MiB; "
      f"RSS growth over the second half {rss[-1] - rss[half]:+.1f} MiB; live series max {max(series)}, "
      f"largest family max {max(largest)} (cap {sys.argv[2]} per family); series refused {rows[-1]['series_refused']}; lost events {rows[-1]['lost_events']}; flows {rows[-1]['flows']}")
EOF
