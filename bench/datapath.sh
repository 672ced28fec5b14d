#!/usr/bin/env bash
# Datapath overhead (issue #9, part 1): TCP throughput and small-packet UDP rate between two network namespaces over
# veths and a bridge — no agent, an empty tc program, agent at aggregation medium, agent at none — in alternated
# rounds, plus the tc programs' own cost per packet from the kernel's BPF run-time statistics
# (kernel.bpf_stats_enabled: run_time_ns / run_cnt of this agent's own programs, found by id). The empty program
# (returns at once, attached the same way) is the floor of that measurement under the same traffic: what bpf_stats
# and the hook cost before any program work. Throughput is measured with bpf_stats off (it adds two clock reads to
# every program run); the cost per packet comes from a shorter run of the same traffic right after, with it on.
# Everything runs in namespaces this script creates and removes; every run is bounded.
#
# usage (root): bench/datapath.sh [rounds] [seconds-per-run]      BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
COST_SECS=$(( SECS > 2 ? 2 : SECS ))  # per protocol, for the programs' cost with bpf_stats on
BIN=${BIN:-.build/release/spyglass}
[ "$(id -u)" = 0 ] || { echo "bench/datapath.sh: run as root"; exit 1; }
command -v iperf3 >/dev/null || { echo "bench/datapath.sh: needs iperf3 (apt-get install iperf3)"; exit 1; }
[ -x "$BIN" ] || { echo "bench/datapath.sh: no agent binary at $BIN (swift build -c release --product spyglass)"; exit 1; }
CLANG=${CLANG:-$(command -v clang || echo /opt/swift/usr/bin/clang)}

P=spyb$((RANDOM % 900 + 100))
A=$P-a; B=$P-b; BR=${P}br
AGENT=""
WORK=$(mktemp -d)
cleanup() {
  rm -rf "$WORK"
  [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true
  ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true
  ip link del "${P}ha" 2>/dev/null || true; ip link del "${P}hb" 2>/dev/null || true; ip link del "$BR" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled=0 || true
}
trap cleanup EXIT

ip link add "$BR" type bridge; ip link set "$BR" up
for side in a b; do
  ns=$P-$side
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip link add "${P}h$side" type veth peer name eth0 netns "$ns"
  ip link set "${P}h$side" master "$BR" up
  ip -n "$ns" addr add 10.199.90.$([ $side = a ] && echo 2 || echo 3)/24 dev eth0
  ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
done
# The empty tc program: returns TC_ACT_UNSPEC at once.
cat >"$WORK/empty_tc.bpf.c" <<'C'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int nop_tc_ingress(struct __sk_buff *skb) { return TC_ACT_UNSPEC; }
SEC("tc") int nop_tc_egress(struct __sk_buff *skb) { return TC_ACT_UNSPEC; }
char LICENSE[] SEC("license") = "GPL";
C
"$CLANG" -target bpf -O2 -g -idirafter /usr/include/"$(uname -m)"-linux-gnu -idirafter /usr/include \
  -c "$WORK/empty_tc.bpf.c" -o "$WORK/empty_tc.o"
ip netns exec "$B" iperf3 -s -D -1 >/dev/null 2>&1 || true
nsb() { ip netns exec "$B" "$@"; }
serve() { nsb pkill -x iperf3 2>/dev/null || true; nsb iperf3 -s -D >/dev/null; sleep 0.3; }

tcp_gbps() { ip netns exec "$A" iperf3 -c 10.199.90.3 -t "$SECS" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
udp_kpps() { ip netns exec "$A" iperf3 -c 10.199.90.3 -u -b 0 -l 64 -t "$SECS" -J | python3 -c 'import json,sys
d=json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((d["packets"]-d["lost_packets"])/d["seconds"]/1e3))'; }

start_agent() {
  "$BIN" run --interface "${P}ha" --hubble-metrics-server 127.0.0.1:0 --monitor-aggregation "$1" >/tmp/$P-agent.log 2>&1 &
  AGENT=$!
  for _ in $(seq 1 50); do tc filter show dev "${P}ha" ingress | grep -q spy_tc && return; sleep 0.1; done
  echo "agent did not attach"; cat /tmp/$P-agent.log; exit 1
}
stop_agent() { kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=""; }
start_empty() {
  tc qdisc del dev "${P}ha" clsact 2>/dev/null || true  # an agent that ran before may leave its (empty) qdisc
  tc qdisc add dev "${P}ha" clsact
  tc filter add dev "${P}ha" ingress bpf da obj "$WORK/empty_tc.o" sec tc program nop_tc_ingress
  tc filter add dev "${P}ha" egress bpf da obj "$WORK/empty_tc.o" sec tc program nop_tc_egress
}
stop_empty() { tc qdisc del dev "${P}ha" clsact; }
# The agent's own programs only: the tc programs attached to the watched veth (by id, from tc) and the drop program
# this agent loaded (by the agent's pid holding it), so other agents or programs on the machine do not count.
agent_prog_ids() {
  { tc filter show dev "${P}ha" ingress; tc filter show dev "${P}ha" egress; } | grep -o ' id [0-9]*' | awk '{print $2}'
  [ -n "$AGENT" ] && for fd in /proc/"$AGENT"/fdinfo/*; do awk '$1 == "prog_id:" {print $2}' "$fd" 2>/dev/null; done
  true
}
prog_ns() { # per program: run_time_ns / run_cnt — tc (both directions together), tc ingress, tc egress, kfree_skb
  local ids; ids=$(agent_prog_ids | sort -un | tr '\n' ' ')
  bpftool prog show -j | python3 -c 'import json,sys
ids={int(i) for i in sys.argv[1].split()}
ps=[p for p in json.load(sys.stdin) if p.get("id") in ids]
def cost(pred):
    sel=[p for p in ps if pred(p.get("name",""))]
    t=sum(p.get("run_time_ns",0) for p in sel); c=sum(p.get("run_cnt",0) for p in sel)
    return "%.1f" % (t/c if c else 0), c
tc=cost(lambda n: n.endswith("tc_ingress") or n.endswith("tc_egress"))
i=cost(lambda n: n.endswith("tc_ingress")); e=cost(lambda n: n.endswith("tc_egress"))
d=cost(lambda n: n.startswith("spy_kfree") or n.startswith("spy_drop"))
print(tc[0], i[0], e[0], d[0], d[1])' "$ids"; }
serve
declare -A TCP UDP NS NSI NSE NSD CNTD
for r in $(seq 1 "$ROUNDS"); do
  for mode in off empty medium none; do
    case $mode in off) ;; empty) start_empty ;; *) start_agent "$mode" ;; esac
    # Throughput with bpf_stats off: its two clock reads per program run would be charged to every mode with a program.
    TCP[$mode]+="$(tcp_gbps) "
    UDP[$mode]+="$(udp_kpps) "
    if [ "$mode" != off ]; then
      # The programs' cost from a separate, shorter run of the same traffic with bpf_stats on (counters start at 0:
      # run_time_ns and run_cnt only count while it is enabled, and these programs were loaded for this mode).
      sysctl -qw kernel.bpf_stats_enabled=1
      SECS=$COST_SECS tcp_gbps >/dev/null; SECS=$COST_SECS udp_kpps >/dev/null
      read -r ns nsi nse nsd cntd <<<"$(prog_ns)"
      sysctl -qw kernel.bpf_stats_enabled=0
      NS[$mode]+="$ns "; NSI[$mode]+="$nsi "; NSE[$mode]+="$nse "; NSD[$mode]+="$nsd "; CNTD[$mode]+="$cntd "
      if [ "$mode" = empty ]; then stop_empty; else stop_agent; fi
    fi
  done
done

avg() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print("%.2f" % (sum(v)/len(v)))' $1; }
echo
echo "Datapath overhead, $ROUNDS alternated rounds of ${SECS}s per run (veth + bridge, $(nproc) cores, $(uname -r))"
printf "%-14s %14s %10s %16s %10s %18s\n" mode "TCP Gbit/s" ratio "UDP 64B kpps" ratio "tc ns/packet"
b_t=$(avg "${TCP[off]}"); b_u=$(avg "${UDP[off]}")
for mode in off empty medium none; do
  t=$(avg "${TCP[$mode]}"); u=$(avg "${UDP[$mode]}")
  n=$([ "$mode" = off ] && echo "-" || avg "${NS[$mode]}")
  label=$(case $mode in off) echo 'no agent' ;; empty) echo 'empty tc prog' ;; *) echo "agent $mode" ;; esac)
  printf "%-14s %14s %10s %16s %10s %18s\n" "$label" "$t" \
    "$(python3 -c "print('%.3f' % ($t/$b_t))")" "$u" "$(python3 -c "print('%.3f' % ($u/$b_u))")" "$n"
done
echo
echo "Kernel cost per run of each program (kernel.bpf_stats_enabled: run_time_ns / run_cnt, averaged over rounds)"
printf "%-14s %14s %14s %18s %18s\n" mode "tc ingress" "tc egress" "kfree_skb (drops)" "kfree_skb runs"
for mode in empty medium none; do
  printf "%-14s %14s %14s %18s %18s\n" "cost $mode" "$(avg "${NSI[$mode]}")" "$(avg "${NSE[$mode]}")" "$(avg "${NSD[$mode]}")" "${CNTD[$mode]}"
done
echo "(the empty program's figures are the floor of the measurement: bpf_stats' clock reads and the hook's call)"
echo "(raw TCP: off ${TCP[off]}| empty ${TCP[empty]}| medium ${TCP[medium]}| none ${TCP[none]}; raw UDP: off ${UDP[off]}| empty ${UDP[empty]}| medium ${UDP[medium]}| none ${UDP[none]})"
