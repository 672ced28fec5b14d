#!/usr/bin/env bash
# Every benchmark of issues #9 and #15 in one run: builds the release binaries, runs parts 1–8, prints each figure
# with its baseline (measured in the same run) and ratio, and ends with a summary of the RESULT lines and issue 15's
# target table, one row per figure:
#   wrk through the node, seed metric set, medium: req/s with / without >= 0.90   (part 7, l7_seed)
#   p99 added by the agent under that load <= +0.2 ms                             (part 7, l7_seed)
#   agent CPU per HTTP exchange, user + kernel attributable <= 1.5 µs             (part 7, l7_seed)
#   tc program ns/packet, real traffic, own programs only <= 100                  (part 1, datapath_medium)
#   pipeline events per CPU-second >= 1.5 M                                       (part 3, pipeline)
#   TCP and 64-byte UDP throughput with / without, medium >= 0.97                 (part 1, datapath_medium)
#   RSS idle <= 60 MiB / under the L7 flood <= 200 MiB                            (part 6, memory_idle, memory_l7_flood)
# Part 7b shows what the kernel leaves out of L7 events for large HTTP bodies (--l7-body-skip), and part 8 profiles
# the agent under part 7's load and the pipeline of part 3 (perf), for the targets still missed.
# Each part runs in namespaces it creates and removes, bounded in time; the whole run takes about 9 minutes on the
# 2-core machine.
# usage (root): bench/all.sh [--no-build] [--quick]   output is also kept in .build/bench-results.txt (override: OUT=path)
#   --no-build: BIN and BENCH may name prebuilt binaries (default .build/release/…)
#   --quick: every part with tiny rounds and durations, to check the scripts end to end (figures not meaningful)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/all.sh: run as root"; exit 1; }
OUT=${OUT:-.build/bench-results.txt}
mkdir -p "$(dirname "$OUT")"
./scripts/install-deps.sh --bench   # iperf3, wrk, nginx-light, prometheus-pushgateway, bpftool, perf (only what is missing)
BUILD=yes; QUICK=""
for arg in "$@"; do
  case $arg in --no-build) BUILD="" ;; --quick) QUICK=yes ;; *) echo "bench/all.sh: unknown argument $arg"; exit 1 ;; esac
done
if [ -n "$BUILD" ]; then
  swift build -c release --product spyglass
  swift build -c release --product spyglass-bench
  BIN=.build/release/spyglass BENCH=.build/release/spyglass-bench
fi
BIN=${BIN:-.build/release/spyglass}
BENCH=${BENCH:-.build/release/spyglass-bench}
export BIN BENCH
# Cap every part; a part that fails or times out is reported and the run goes on.
part() {
  local name=$1 limit=$2; shift 2
  echo; echo "=== $name ==="
  if ! timeout --kill-after=10 "$limit" "$@"; then echo "RESULT $name FAILED (exit status or timeout after ${limit}s)"; fi
}
{
  echo "Spyglass benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  # Each part's arguments: the real run, or (--quick) tiny rounds and durations that only check the scripts.
  if [ -z "$QUICK" ]; then
    DP=(3 5); ACC=(5 500); PIPE=5; EXPO=20; FLOWS=400000; MEM=(10 100000); L7=(3 5 16); BODIES=(2 20 16777216); PROF=8
  else
    DP=(1 1); ACC=(1 500); PIPE=1; EXPO=2; FLOWS=20000; MEM=(2 1000 20000 100 10); L7=(1 2 16); BODIES=(1 5 1048576); PROF=1
  fi
  part "1 datapath overhead" 240 bench/datapath.sh "${DP[@]}"
  part "1b tc program cost under BPF_PROG_TEST_RUN" 60 "$BENCH" tc-cost
  part "2 nothing unaccounted" 120 bench/accounting.sh "${ACC[@]}"
  part "3 user-space pipeline" 120 "$BENCH" pipeline --seconds "$PIPE"
  part "4 exposition" 400 bench/exposition.sh "$EXPO"
  part "5 export" 240 "$BENCH" export --flows "$FLOWS"
  part "6 memory (idle, under the L7 flood, engine)" 180 bench/memory.sh "${MEM[@]}"
  part "7 L7 cost (off / httpV2 / seed metric set)" 300 bench/l7.sh "${L7[@]}"
  part "7b L7 large bodies (--l7-body-skip false / true)" 240 bench/l7-bodies.sh "${BODIES[@]}"
  part "8 profiles (where the CPU goes under parts 7 and 3)" 180 bench/profile.sh "$PROF"
  echo; echo "=== summary (figure, baseline, ratio; MET/MISSED against the targets of issues #9 and #15) ==="
} 2>&1 | tee "$OUT"
# datapath.sh prints a table; its rows become RESULT lines here (targets: >= 0.97 of baseline at medium, <= 100 ns).
{
  sed -n '/^=== 1 datapath/,/^=== 2/p' "$OUT" | awk '
       $1 == "no" && $2 == "agent" { print "RESULT datapath_baseline tcp_gbps=" $3 " udp_kpps=" $5 }
       $1 == "agent" && ($2 == "medium" || $2 == "none") { ok = ($4 >= 0.97 && $6 >= 0.97 && $7 <= 100) ? "MET" : "MISSED"
                       print "RESULT datapath_" $2 " tcp_gbps=" $3 " tcp_ratio=" $4 " udp_kpps=" $5 " udp_ratio=" $6 " tc_ns_per_packet=" $7 ($2 == "medium" ? " " ok : "") }
       $1 == "cost" { print "RESULT datapath_cost_" $2 " tc_ingress_ns=" $3 " tc_egress_ns=" $4 " kfree_skb_ns=" $5 }'
  grep '^RESULT' "$OUT"
} >"$OUT.summary"
# Issue 15's table, one row per figure, from the RESULT lines of this run ("?" where a part failed).
table=$(python3 - "$OUT.summary" <<'PY'

import re, sys
res = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) > 1 and f[0] == "RESULT":
        res[f[1]] = dict(kv.split("=", 1) for kv in f[2:] if "=" in kv)
def get(name, key):
    try: return float(res[name][key])
    except (KeyError, ValueError): return None
def row(figure, value, baseline, target, ok):
    verdict = "?" if ok is None else ("MET" if ok else "MISSED")
    print("| %s | %s | %s | %s | %s |" % (figure, value, baseline, target, verdict))
def fmt(v, spec): return "?" if v is None else spec % v
def check(*pairs):  # (value, predicate) pairs: None if any value is missing
    if any(v is None for v, _ in pairs): return None
    return all(p(v) for v, p in pairs)
print()
print("Issue 15 targets, this run:")
print("| figure | with agent | baseline (same run) | target | |")
print("|---|---|---|---|---|")
s = lambda k: get("l7_seed", k)
row("wrk through the node, seed metric set, medium: req/s with / without", fmt(s("rps_ratio"), "%.3f") + " (" + fmt(s("rps_on"), "%.0f") + " req/s)",
    fmt(s("rps_off"), "%.0f req/s"), ">= 0.90", check((s("rps_ratio"), lambda v: v >= 0.90)))
row("p99 added by the agent under that load", fmt(s("p99_delta_ms"), "%+.3f ms") + " (" + fmt(s("p99_on_ms"), "%.3f ms") + ")",
    fmt(s("p99_off_ms"), "%.3f ms"), "<= +0.2 ms", check((s("p99_delta_ms"), lambda v: v <= 0.2)))
row("agent CPU per HTTP exchange (user + kernel attributable)", fmt(s("cpu_us_per_exchange"), "%.3f µs") + " (agent " + fmt(s("agent_us_per_exchange"), "%.3f") + " + BPF " + fmt(s("bpf_us_per_exchange"), "%.3f") + ")",
    "-", "<= 1.5 µs", check((s("cpu_us_per_exchange"), lambda v: v <= 1.5)))
m = lambda k: get("datapath_medium", k)
row("tc program ns/packet, real traffic, own programs only", fmt(m("tc_ns_per_packet"), "%.1f ns"), "-", "<= 100", check((m("tc_ns_per_packet"), lambda v: v <= 100)))
p = get("pipeline", "events_per_cpu_second")
row("pipeline events per CPU-second", fmt(p, "%.0f"), fmt(get("pipeline", "ceiling"), "minimal C consumer %.0f"), ">= 1.5 M", check((p, lambda v: v >= 1.5e6)))
row("TCP and 64-byte UDP throughput with / without, medium", fmt(m("tcp_ratio"), "TCP %.3f") + ", " + fmt(m("udp_ratio"), "UDP %.3f"),
    fmt(get("datapath_baseline", "tcp_gbps"), "%.2f Gbit/s") + ", " + fmt(get("datapath_baseline", "udp_kpps"), "%.0f kpps"), ">= 0.97",
    check((m("tcp_ratio"), lambda v: v >= 0.97), (m("udp_ratio"), lambda v: v >= 0.97)))
idle, flood, peak = get("memory_idle", "rss_mib"), get("memory_l7_flood", "rss_mib"), get("memory_l7_flood", "hwm_mib")
row("RSS idle / under the L7 flood", fmt(idle, "%.1f MiB") + " / " + fmt(flood, "%.1f MiB") + fmt(peak, " (peak %.1f MiB)"), "-", "<= 60 MiB / <= 200 MiB",
    check((idle, lambda v: v <= 60), (peak, lambda v: v <= 200)))
PY
)
{ cat "$OUT.summary"; echo "$table"; } | tee -a "$OUT"; rm -f "$OUT.summary"
