#!/usr/bin/env bash
# Memory (issue #9 part 6, issue #15): resident memory of the release agent
#  - idle: watching one veth of a namespace, default metrics, after IDLE seconds;
#  - under the L7 flood: default --l7-memory-limit-mb (64 MiB), aggregation none, watching the client pod's veth,
#    while the client sends unanswered DNS queries with long distinct names to a port 53 where nothing listens and
#    hundreds of connections of long-URL requests to a server that never reads or answers (bench/l7flood.py) — more
#    than the pending-HTTP and pending-DNS byte shares hold, so the tables fill and evict for bytes;
# then the metric engine at 100k series and bytes per series (spyglass-bench memory).
# usage (root): bench/memory.sh [idle-seconds] [series] [dns-queries] [http-connections] [requests-per-connection]
#               BIN=.build/release/spyglass BENCH=.build/release/spyglass-bench
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-10}
SERIES=${2:-100000}
QUERIES=${3:-200000}
CONNS=${4:-900}
REQS=${5:-40}
BENCH=${BENCH:-.build/release/spyglass-bench}
[ "$(id -u)" = 0 ] || { echo "bench/memory.sh: run as root"; exit 1; }
source bench/lib.sh
if [ ! -x "$BIN" ] || [ ! -x "$BENCH" ]; then echo "bench/memory.sh: needs $BIN and $BENCH (swift build -c release)"; exit 1; fi
FLOOD=/tmp/$LAB_P-flood
trap 'lab_cleanup; rm -f $FLOOD.*' EXIT
lab_up
kib() { awk -v k="$1:" '$1 == k {print $2}' /proc/"$AGENT_PID"/status; }
mib() { python3 -c "print('%.1f' % ($1 / 1024))"; }

agent_start --drop-events true
sleep "$IDLE"
rss_kb=$(kib VmRSS); hwm_kb=$(kib VmHWM)
agent_stop
echo "memory: agent idle on one veth (default metrics, drop events on) after ${IDLE}s: resident $(mib "$rss_kb") MiB (peak $(mib "$hwm_kb") MiB)"
echo "RESULT memory_idle rss_mib=$(mib "$rss_kb") target_mib=60 ratio=$(python3 -c "print('%.3f' % ($rss_kb/1024/60))") $([ "$rss_kb" -le $((60 * 1024)) ] && echo MET || echo MISSED)"

# --- RSS under the L7 flood ---
# The L7 snap length (1024 bytes by default) bounds what the agent sees of each packet: every request travels in its
# own segment of under 1 KiB (an 880-byte URL), so each one is parsed. 900 connections × 40 requests, at most 32
# pending per connection, is ~28 MiB of pending requests (~1 KiB each) against the 24 MiB share; 200,000 ~230-byte DNS
# queries against the 6 MiB pending-DNS share (and 16,384 pending). The rates keep the 8 MiB ring buffer drained.
ip netns exec "$LAB_B" timeout 150 python3 bench/l7flood.py server "$LAB_IP_B" 8080 120 >"$FLOOD.server" &
for _ in $(seq 1 50); do ip netns exec "$LAB_B" ss -Hltn "sport = :8080" | grep -q . && break; sleep 0.1; done
agent_start --monitor-aggregation none
sleep 2
before_kb=$(kib VmRSS)
ip netns exec "$LAB_A" timeout 150 python3 bench/l7flood.py http "$LAB_IP_B" 8080 "$CONNS" "$REQS" 880 8000 90 >"$FLOOD.http" &
ip netns exec "$LAB_A" timeout 60 python3 bench/l7flood.py dns "$LAB_IP_B" "$QUERIES" 20000 40 >"$FLOOD.dns"
for _ in $(seq 1 600); do [ -s "$FLOOD.http" ] && break; sleep 0.1; done
dns_sent=$(cat "$FLOOD.dns"); http_sent=$(cat "$FLOOD.http")
[ -n "$http_sent" ] || { echo "the HTTP flood did not finish sending"; exit 1; }
# l7_stats: the flood's view of /metrics — "dns_requests http_requests" parsed, or the report (argument "report")
l7_stats() {
  curl -sf -H 'Accept: text/plain;version=0.0.4' "http://127.0.0.1:$AGENT_PORT/metrics" | python3 -c '
import re, sys
mib = 1 << 20
share = {"http_pending": 3 * 64 * mib // 8, "names": 3 * 64 * mib // 8, "reassembly_bytes": 64 * mib // 8,
         "dns_pending": 3 * 64 * mib // 32, "dns_claims": 64 * mib // 32}
msgs, state, entries, evict, lost = {}, {}, {}, {}, {}
for line in sys.stdin:
    m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line.strip())
    if not m or line.startswith("#"): continue
    name, labels, value = m.group(1), dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(2) or "")), float(m.group(3))
    if name == "spyglass_l7_messages_total": msgs[(labels.get("protocol"), labels.get("type"))] = value
    elif name == "spyglass_l7_state_bytes": state[labels.get("table")] = value
    elif name == "spyglass_l7_state_entries": entries[labels.get("table")] = value
    elif name == "spyglass_l7_evictions_total": evict[(labels.get("table"), labels.get("reason"))] = value
    elif name == "hubble_lost_events_total": lost[labels.get("source")] = lost.get(labels.get("source"), 0) + value
if len(sys.argv) < 2:
    print("%d %d" % (msgs.get(("dns", "request"), 0), msgs.get(("http", "request"), 0))); sys.exit()
print("  L7 messages parsed: " + ", ".join("%s %s %d" % (p, t, v) for (p, t), v in sorted(msgs.items())))
print("  %-18s %12s %12s %8s %10s" % ("table", "state bytes", "share", "filled", "entries"))
for t in sorted(set(state) | set(entries)):
    b = state.get(t)
    print("  %-18s %12s %12s %8s %10d" % (t, "-" if b is None else "%d" % b, share.get(t, "-"),
          "%.0f%%" % (100 * b / share[t]) if b is not None and t in share else "-", entries.get(t, 0)))
print("  spyglass_l7_evictions_total: " + (", ".join("%s{reason=%s} %d" % (t, r, v) for (t, r), v in sorted(evict.items()) if v) or "none"))
print("  evicted for bytes (reason=\"bytes\", all tables): %d" % sum(v for (t, r), v in evict.items() if r == "bytes"))
print("  hubble_lost_events_total: " + (", ".join("%s %d" % kv for kv in sorted(lost.items())) or "none"))
' "$@"
}
parsed=""
for _ in $(seq 1 300); do
  read -r dns_parsed http_parsed <<<"$(l7_stats)"
  if [ "$dns_parsed" -ge "$dns_sent" ] && [ "$http_parsed" -ge "$http_sent" ]; then parsed=yes; break; fi
  sleep 0.1
done
rss_kb=$(kib VmRSS); hwm_kb=$(kib VmHWM)
echo "memory: agent under the L7 flood (default --l7-memory-limit-mb 64, aggregation none, client veth):"
echo "  sent $dns_sent DNS queries and $http_sent HTTP requests on $CONNS connections; parsed $dns_parsed DNS queries and $http_parsed HTTP requests$([ -n "$parsed" ] || echo " (NOT all within 30 s)")"
echo "  resident $(mib "$rss_kb") MiB (peak $(mib "$hwm_kb") MiB; $(mib "$before_kb") MiB before the flood)"
l7_stats report
agent_stop
# MET needs every request parsed and the peak (VmHWM), not only the RSS at the end, within the target.
echo "RESULT memory_l7_flood rss_mib=$(mib "$rss_kb") hwm_mib=$(mib "$hwm_kb") target_mib=200 $([ -n "$parsed" ] && [ "$hwm_kb" -le $((200 * 1024)) ] && echo MET || echo MISSED)"

"$BENCH" memory --series "$SERIES"
