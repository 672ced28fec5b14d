#!/usr/bin/env bash
# L7 cost (issue #9 part 7, issue #15): wrk in namespace a against nginx in namespace b (port 80, a 6-byte answer),
# in alternated rounds of three modes: agent off (the baseline), agent with httpV2 only on a's veth, and the seed's
# full metric set (dns drop tcp flow port-distribution icmp httpV2 with the workload labelsContext, exemplars, drop
# events, aggregation medium) on both pods' veths. Per agent run, over exactly the wrk run: requests/s, p99, requests
# completed, the agent's CPU time (all threads, user + kernel) and the kernel run time of its own BPF programs
# (kernel.bpf_stats_enabled), hence the cost per HTTP exchange.
# usage (root): bench/l7.sh [rounds] [seconds-per-run] [connections]      BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-16}
[ "$(id -u)" = 0 ] || { echo "bench/l7.sh: run as root"; exit 1; }
for t in wrk nginx bpftool; do command -v $t >/dev/null || { echo "bench/l7.sh: needs $t (scripts/install-deps.sh --bench)"; exit 1; }; done
source bench/lib.sh
[ -x "$BIN" ] || { echo "bench/l7.sh: no agent binary at $BIN"; exit 1; }
trap 'lab_cleanup; sysctl -qw kernel.bpf_stats_enabled=0 || true' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
lab_up
nginx_up $((ROUNDS * SECS * 3 + 180))

MODES="off httpV2 seed"

# one wrk run → "requests/s p99_ms requests-completed"
run_wrk() {
  ip netns exec "$LAB_A" timeout $((SECS + 20)) wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://$LAB_IP_B/" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", t).groups()
n = int(re.search(r"(\d+) requests in ", t).group(1))
print("%.0f %.3f %d" % (rps, float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit], n))'
}

declare -A RPS P99 REQS CPU BPF COUNTED LEFT
for _ in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    if [ "$mode" = off ]; then
      read -r rps p99 reqs <<<"$(run_wrk)"
    else
      l7_agent_start "$mode"
      ids=$(agent_prog_ids | tr '\n' ' '); hooks=$(hook_ids)
      # shellcheck disable=SC2086 # ids is a list of numbers
      { cpu0=$(agent_task_ns); bpf0=$(bpf_run_ns $ids); }
      read -r rps p99 reqs <<<"$(run_wrk)"
      # shellcheck disable=SC2086
      { cpu1=$(agent_task_ns); bpf1=$(bpf_run_ns $ids); }
      [ "$(hook_ids)" = "$hooks" ] || { echo "the tc programs on ${LAB_WATCH[*]} changed during the run ($hooks -> $(hook_ids)): another agent on this machine replaced them"; exit 1; }
      read -r cpu left_out <<<"$(task_ns_delta "$cpu0" "$cpu1")"
      CPU[$mode]+="$cpu "; BPF[$mode]+="$((bpf1 - bpf0)) "; LEFT[$mode]+="$left_out "
      http=$(metric hubble_http_requests_total)
      [ "$http" -gt 0 ] || { echo "agent ($mode) on but no HTTP requests counted"; exit 1; }
      COUNTED[$mode]+="$http "
      agent_stop
    fi
    RPS[$mode]+="$rps "; P99[$mode]+="$p99 "; REQS[$mode]+="$reqs "
  done
done

python3 - "$ROUNDS" "$SECS" "$CONNS" <<PY
import sys
rounds, secs, conns = sys.argv[1:4]
v = lambda s: [float(x) for x in s.split()]
avg = lambda xs: sum(xs) / len(xs)
rps = {"off": v("${RPS[off]}"), "httpV2": v("${RPS[httpV2]}"), "seed": v("${RPS[seed]}")}
p99 = {"off": v("${P99[off]}"), "httpV2": v("${P99[httpV2]}"), "seed": v("${P99[seed]}")}
reqs = {"off": v("${REQS[off]}"), "httpV2": v("${REQS[httpV2]}"), "seed": v("${REQS[seed]}")}
cpu = {"httpV2": v("${CPU[httpV2]}"), "seed": v("${CPU[seed]}")}
bpf = {"httpV2": v("${BPF[httpV2]}"), "seed": v("${BPF[seed]}")}
counted = {"httpV2": "${COUNTED[httpV2]}".split(), "seed": "${COUNTED[seed]}".split()}
left = {"httpV2": "${LEFT[httpV2]}".split(), "seed": "${LEFT[seed]}".split()}
print(f"L7 cost: wrk -t1 -c{conns} against nginx, {rounds} alternated rounds of {secs}s per mode")
print("  httpV2: --hubble-metrics httpV2, aggregation medium, a's veth; seed: all seven families with workload labelsContext,")
print("  exemplars, drop events, aggregation medium, both veths. CPU = agent threads' schedstat (user + kernel) over the wrk run;")
print("  BPF = run_time_ns of the agent's own programs over the same run; per exchange = divided by wrk's completed requests.")
hdr = ("mode", "req/s", "ratio", "p99 ms", "delta ms", "requests", "agent µs/req", "BPF µs/req", "total µs/req")
print("%-8s %9s %7s %8s %9s %10s %13s %11s %13s" % hdr)
base_r, base_p = avg(rps["off"]), avg(p99["off"])
print("%-8s %9.0f %7s %8.3f %9s %10.0f %13s %11s %13s" % ("off", base_r, "-", base_p, "-", avg(reqs["off"]), "-", "-", "-"))
results = []
for mode in ("httpV2", "seed"):
    r, p = avg(rps[mode]), avg(p99[mode])
    n = sum(reqs[mode])
    a_us, b_us = sum(cpu[mode]) / n / 1e3, sum(bpf[mode]) / n / 1e3
    print("%-8s %9.0f %7.3f %8.3f %+9.3f %10.0f %13.3f %11.3f %13.3f" % (mode, r, r / base_r, p, p - base_p, avg(reqs[mode]), a_us, b_us, a_us + b_us))
    ok = r / base_r >= 0.90 and p - base_p <= 0.2 and a_us + b_us <= 1.5
    results.append(f"RESULT l7_{mode.lower()} rps_off={base_r:.0f} rps_on={r:.0f} rps_ratio={r/base_r:.3f} p99_off_ms={base_p:.3f} p99_on_ms={p:.3f} p99_delta_ms={p-base_p:+.3f} agent_us_per_exchange={a_us:.3f} bpf_us_per_exchange={b_us:.3f} cpu_us_per_exchange={a_us+b_us:.3f} {'MET' if ok else 'MISSED'}")
print("  raw per round (req/s | p99 ms | agent CPU ms | BPF ms | hubble_http_requests_total | agent threads not in both CPU reads):")
for mode in ("off", "httpV2", "seed"):
    extra = "" if mode == "off" else " | %s | %s | %s | %s" % (" ".join("%.1f" % (x / 1e6) for x in cpu[mode]), " ".join("%.1f" % (x / 1e6) for x in bpf[mode]), " ".join(counted[mode]), " ".join(left[mode]))
    print("    %-7s %s | %s%s" % (mode, " ".join("%.0f" % x for x in rps[mode]), " ".join("%.3f" % x for x in p99[mode]), extra))
print("  targets (issue 15, seed): req/s ratio >= 0.90, p99 delta <= +0.2 ms, agent + BPF per exchange <= 1.5 µs")
print("\n".join(results))
PY
