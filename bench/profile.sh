#!/usr/bin/env bash
# Where the CPU goes under the loads whose issue-15 targets are missed: perf call-graph profiles of
#   1. the agent (seed metric set, both veths) while wrk runs through the node against nginx (bench/l7.sh's seed mode),
#   2. the whole node during that run (system-wide, no call graphs): wrk, nginx, the network stack, the agent's BPF,
#   3. the flow pipeline thread of `spyglass-bench pipeline` (trace events at aggregation none, seed metric set).
# Each prints the functions with the largest inclusive share ("children": the function and what it calls) of the
# profiled thread(s), Swift names demangled and shortened. Runs in namespaces it creates and removes; bounded.
# usage (root): bench/profile.sh [seconds]      BIN=.build/release/spyglass BENCH=.build/release/spyglass-bench
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
BENCH=${BENCH:-.build/release/spyglass-bench}
TOP=${TOP:-22}
[ "$(id -u)" = 0 ] || { echo "bench/profile.sh: run as root"; exit 1; }
for t in perf wrk nginx; do command -v $t >/dev/null || { echo "bench/profile.sh: needs $t (scripts/install-deps.sh --bench)"; exit 1; }; done
source bench/lib.sh
{ [ -x "$BIN" ] && [ -x "$BENCH" ]; } || { echo "bench/profile.sh: needs $BIN and $BENCH (swift build -c release)"; exit 1; }
WORK=$(mktemp -d)
trap 'lab_cleanup; rm -rf "$WORK"' EXIT
DEMANGLE=$(command -v swift-demangle || echo "swift demangle")

# top <perf.data> [perf report options...]: the TOP symbols by inclusive share, demangled, one line each
top() {
  local data=$1; shift
  perf report -i "$data" --children --sort sym --stdio -g none "$@" 2>/dev/null \
    | awk '$1 ~ /%$/ && $3 ~ /^\[/ { c=$1; s=$2; $1=$2=$3=""; sub(/^ +/, ""); print c, s, $0 }' \
    | head -"$TOP" | $DEMANGLE --simplified | cut -c1-170 || true  # head closes the pipe early: not a failure
}

lab_up
nginx_up $((SECS * 3 + 120))
l7_agent_start seed
ip netns exec "$LAB_A" timeout $((SECS + 30)) wrk -t1 -c16 -d$((SECS + 3))s "http://$LAB_IP_B/" >"$WORK/wrk.txt" &
WRK=$!
sleep 1
perf record -q -F 999 -g -p "$AGENT_PID" -o "$WORK/agent.data" -- sleep "$SECS" >/dev/null 2>&1
wait $WRK || true
echo "1. the agent under wrk through the node (seed metric set, both veths; $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") req/s while profiled)"
echo "   inclusive% self% function — share of the agent's samples (all its threads)"
top "$WORK/agent.data"

ip netns exec "$LAB_A" timeout $((SECS + 30)) wrk -t1 -c16 -d$((SECS + 3))s "http://$LAB_IP_B/" >"$WORK/wrk.txt" &
WRK=$!
sleep 1
perf record -q -F 999 -a -o "$WORK/node.data" -- sleep "$SECS" >/dev/null 2>&1
wait $WRK || true
agent_stop
echo
echo "2. the whole node during the same load: share of all CPU samples by command, then the BPF and ring-buffer symbols"
{ perf report -i "$WORK/node.data" --sort comm --stdio 2>/dev/null | awk '$1 ~ /%$/' | head -8; } || true
{ perf report -i "$WORK/node.data" --sort sym --stdio 2>/dev/null | awk '$1 ~ /%$/' \
    | grep -E 'bpf_prog_|bpf_ringbuf|bpf_skb_load|ringbuf' | head -12; } || true

echo
echo "3. spyglass-bench pipeline (trace events, aggregation none, seed metric set): the flow pipeline thread"
perf record -q -F 999 -g -o "$WORK/pipe.data" -- "$BENCH" pipeline --seconds "$SECS" >"$WORK/pipe.txt" 2>&1
# Its RESULT line is part 3's business: shown here without the prefix, so summaries do not count it twice.
grep '^RESULT' "$WORK/pipe.txt" | sed 's/^RESULT /   profiled run (perf adds its own cost): /' || { cat "$WORK/pipe.txt"; exit 1; }
# The pipeline thread: the thread whose stacks run FlowPipeline's loop.
tid=$(perf script -i "$WORK/pipe.data" -F tid,ip,sym 2>/dev/null | awk '
  /^ *[0-9]+ *$/ { tid = $1; next }
  /FlowPipelineC5start/ { n[tid]++ }
  END { best = ""; for (t in n) if (best == "" || n[t] > n[best]) best = t; print best }')
[ -n "$tid" ] || { echo "no samples of the flow pipeline thread"; exit 1; }
echo "   inclusive% self% function — share of all samples of the process; the pipeline thread is the first line"
top "$WORK/pipe.data" --tid "$tid"
