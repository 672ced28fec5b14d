#!/usr/bin/env bash
# Every benchmark of issue #9 in one run: builds the release binaries, runs parts 1–7, prints each figure with its
# baseline and ratio, and ends with a summary of the RESULT lines. Each part runs in namespaces it creates and
# removes, bounded in time; the whole run takes about 10 minutes on the 2-core machine.
# usage (root): bench/all.sh [--no-build]       output is also kept in .build/bench-results.txt (override: OUT=path)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/all.sh: run as root"; exit 1; }
OUT=${OUT:-.build/bench-results.txt}
./scripts/install-deps.sh --bench   # iperf3, wrk, nginx-light, prometheus-pushgateway, bpftool (only what is missing)
if [ "${1:-}" != "--no-build" ]; then
  swift build -c release --product spyglass
  swift build -c release --product spyglass-bench
fi
BENCH=.build/release/spyglass-bench
export BIN=.build/release/spyglass BENCH
# Cap every part; a part that fails or times out is reported and the run goes on.
part() {
  local name=$1 limit=$2; shift 2
  echo; echo "=== $name ==="
  if ! timeout --kill-after=10 "$limit" "$@"; then echo "RESULT $name FAILED (exit status or timeout after ${limit}s)"; fi
}
{
  echo "Spyglass benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  part "1 datapath overhead" 240 bench/datapath.sh 3 5
  part "1b tc program cost under BPF_PROG_TEST_RUN" 60 "$BENCH" tc-cost
  part "2 nothing unaccounted" 120 bench/accounting.sh 5 500
  part "3 user-space pipeline" 120 "$BENCH" pipeline --seconds 5
  part "4 exposition" 400 bench/exposition.sh 20
  part "5 export" 240 "$BENCH" export --flows 400000
  part "6 memory" 120 bench/memory.sh 10 100000
  part "7 L7 cost" 180 bench/l7.sh 3 5 16
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
} | tee -a "$OUT.summary"
cat "$OUT.summary" >> "$OUT"; rm -f "$OUT.summary"
