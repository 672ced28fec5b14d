#!/usr/bin/env bash
# Memory (issue #9, part 6): resident memory of the release agent idle (watching one veth of a namespace, default
# metrics, after 10 s), then the metric engine at 100k series and bytes per series (spyglass-bench memory).
# usage (root): bench/memory.sh [idle-seconds] [series]    BIN=.build/release/spyglass BENCH=.build/release/spyglass-bench
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-10}
SERIES=${2:-100000}
BENCH=${BENCH:-.build/release/spyglass-bench}
[ "$(id -u)" = 0 ] || { echo "bench/memory.sh: run as root"; exit 1; }
source bench/lib.sh
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "bench/memory.sh: needs $BIN and $BENCH (swift build -c release)"; exit 1; }
trap lab_cleanup EXIT
lab_up
agent_start --drop-events true
sleep "$IDLE"
rss_kb=$(awk '/^VmRSS:/ {print $2}' /proc/$AGENT_PID/status)
hwm_kb=$(awk '/^VmHWM:/ {print $2}' /proc/$AGENT_PID/status)
agent_stop
echo "memory: agent idle on one veth (default metrics, drop events on) after ${IDLE}s: resident $((rss_kb / 1024)) MiB (peak $((hwm_kb / 1024)) MiB)"
echo "RESULT memory_idle rss_mib=$(python3 -c "print('%.1f' % ($rss_kb/1024))") target_mib=60 ratio=$(python3 -c "print('%.3f' % ($rss_kb/1024/60))") $([ "$rss_kb" -le $((60 * 1024)) ] && echo MET || echo MISSED)"
"$BENCH" memory --series "$SERIES"
