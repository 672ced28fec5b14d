# shellcheck shell=bash
# Shared helpers of the bench scripts (sourced): a two-namespace lab joined by veths and a bridge, the agent, and
# reading its /metrics. Every name carries a random prefix; `lab_cleanup` (run from the caller's EXIT trap)
# removes processes, namespaces and links whatever happened.
LAB_P=spyb$((RANDOM % 9000 + 1000))
LAB_A=$LAB_P-a; LAB_B=$LAB_P-b; LAB_BR=${LAB_P}br
AGENT_PID=""; AGENT_LOG=/tmp/$LAB_P-agent.log
# The host-side veths agent_start watches (one --interface each); add "${LAB_P}hb" to watch both pods.
LAB_WATCH=("${LAB_P}ha")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BIN=${BIN:-.build/release/spyglass}

lab_up() { # creates namespaces a (10.199.x.2) and b (10.199.x.3); the agent watches a's host-side veth ${LAB_P}ha
  local net=$((RANDOM % 200 + 20))
  LAB_IP_A=10.$net.77.2; LAB_IP_B=10.$net.77.3
  ip link add "$LAB_BR" type bridge; ip link set "$LAB_BR" up
  for side in a b; do
    local ns=$LAB_P-$side
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip link add "${LAB_P}h$side" type veth peer name eth0 netns "$ns"
    sysctl -qw "net.ipv6.conf.${LAB_P}h$side.disable_ipv6=1" || true
    ip link set "${LAB_P}h$side" master "$LAB_BR" up
    ip -n "$ns" addr add "$([ $side = a ] && echo "$LAB_IP_A" || echo "$LAB_IP_B")/24" dev eth0
    ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
  done
}

lab_cleanup() {
  agent_stop
  for ns in "$LAB_A" "$LAB_B"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "${LAB_P}ha" 2>/dev/null || true; ip link del "${LAB_P}hb" 2>/dev/null || true
  ip link del "$LAB_BR" 2>/dev/null || true
  rm -f "$AGENT_LOG"; rm -rf "/tmp/$LAB_P-nginx"
}

agent_start() { # agent_start <extra args...>: the release agent on the LAB_WATCH veths, metrics on 127.0.0.1:$AGENT_PORT
  AGENT_PORT=$(free_port)
  local ifs=() i
  for i in "${LAB_WATCH[@]}"; do ifs+=(--interface "$i"); done
  "$BIN" run "${ifs[@]}" --hubble-metrics-server "127.0.0.1:$AGENT_PORT" "$@" >"$AGENT_LOG" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$AGENT_PORT/metrics" && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "agent did not start:"; cat "$AGENT_LOG"; return 1
}

agent_stop() {
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
  AGENT_PID=""
}

# metric <name> [label-substring]: sum of the samples of one family on the agent's /metrics (text format)
metric() {
  curl -sf -H 'Accept: text/plain;version=0.0.4' "http://127.0.0.1:$AGENT_PORT/metrics" | python3 -c '
import sys
name, sub = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
t = 0.0
for line in sys.stdin:
    if line.startswith("#"): continue
    key, _, val = line.rstrip("\n").rpartition(" ")
    if (key == name or key.startswith(name + "{")) and sub in key: t += float(val)
print(int(t))' "$@"
}

# hook_ids: the BPF program ids on the watched veths' tc ingress and egress. Another Spyglass agent on the machine
# (e.g. a test run with no --interface, which takes every new veth and removes "stale" Spyglass hooks) can replace
# ours; comparing the ids before and after a measurement tells.
hook_ids() {
  local i dir
  for i in "${LAB_WATCH[@]}"; do
    for dir in ingress egress; do tc filter show dev "$i" $dir | grep -o ' id [0-9]*' | tr -d ' id' | tr '\n' ' '; done
  done
}

# agent_prog_ids: the running agent's own BPF programs, one id a line — the tc programs on the veths it watches and
# every program the agent process holds a descriptor of (/proc/PID/fdinfo "prog_id:"), so programs of other agents
# or tests on the machine are not counted. One program attached to several veths is listed once.
agent_prog_ids() {
  { hook_ids | tr ' ' '\n'
    [ -n "$AGENT_PID" ] && cat /proc/"$AGENT_PID"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" {print $2}'
  } | grep -E '^[0-9]+$' | sort -un
}

# bpf_run_ns <id...>: total kernel run time in ns of those programs (run_time_ns; needs kernel.bpf_stats_enabled=1).
bpf_run_ns() {
  bpftool prog show -j | python3 -c 'import json, sys
ids = {int(i) for i in sys.argv[1:]}
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin) if p.get("id") in ids))' "$@"
}

# agent_task_ns: "tid:ns" for every thread of the agent, ns on a CPU (user and kernel) from /proc/PID/task/TID/schedstat.
agent_task_ns() {
  local f ns _
  for f in /proc/"$AGENT_PID"/task/*/schedstat; do
    read -r ns _ 2>/dev/null <"$f" && { f=${f%/schedstat}; echo -n "${f##*/}:$ns "; }
  done
  echo
}

# task_ns_delta "<before>" "<after>" → "ns threads-left-out": CPU ns the agent spent between two agent_task_ns reads,
# summed over the threads present at both. A thread that started or ended in between is left out (its time is not
# seen) and counted in the second field, so a reader can tell; the agent's workers live as long as the agent.
task_ns_delta() {
  python3 -c 'import sys
b, a = (dict(x.split(":") for x in s.split()) for s in sys.argv[1:3])
print(sum(int(a[t]) - int(b[t]) for t in a.keys() & b.keys()), len(a.keys() ^ b.keys()))' "$1" "$2"
}

# link_packets <ifname>: rx + tx packets of a root-namespace interface
link_packets() {
  ip -s -j link show "$1" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'
}

# nginx_up <seconds>: nginx (one worker, `return 200 "hello\n"` on port 80, no access log) in namespace b for at most
# that long, answering before this returns; its files live in /tmp/$LAB_P-nginx (lab_cleanup removes them).
nginx_up() {
  local conf=/tmp/$LAB_P-nginx
  mkdir -p "$conf"
  cat >"$conf/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $conf/nginx.pid;
error_log $conf/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $conf; proxy_temp_path $conf; fastcgi_temp_path $conf; uwsgi_temp_path $conf; scgi_temp_path $conf;
  server { listen $LAB_IP_B:80; location / { return 200 "hello\n"; } }
}
NGINX
  ip netns exec "$LAB_B" timeout "$1" nginx -c "$conf/nginx.conf" &
  for _ in $(seq 1 50); do
    ip netns exec "$LAB_A" curl -sf -o /dev/null "http://$LAB_IP_B/" && return 0
    sleep 0.1
  done
  echo "nginx did not answer"; cat "$conf/error.log"; return 1
}

# The seed's metric set: all seven families, workload context on both ends, exemplars on httpV2.
SEED_CTX="labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"
SEED_METRICS="dns:$SEED_CTX drop:$SEED_CTX tcp:$SEED_CTX flow:$SEED_CTX port-distribution:$SEED_CTX icmp:$SEED_CTX httpV2:exemplars=true;$SEED_CTX"

# l7_agent_start httpV2|seed: the agent of one L7 bench mode, once its tc programs are on every watched veth.
# httpV2: --hubble-metrics httpV2 on a's veth; seed: the seed's metric set, drop events, both pods' veths.
l7_agent_start() {
  case $1 in
    httpV2) LAB_WATCH=("${LAB_P}ha")
            agent_start --monitor-aggregation medium --drop-events false --hubble-metrics httpV2 --http-port 80 ;;
    seed)   LAB_WATCH=("${LAB_P}ha" "${LAB_P}hb")
            agent_start --monitor-aggregation medium --drop-events true --hubble-metrics "$SEED_METRICS" --http-port 80 ;;
    *) echo "l7_agent_start: unknown mode '$1' (httpV2 or seed)"; return 1 ;;
  esac
  for _ in $(seq 1 50); do
    # attached; a second more lets its start-up work end before the measured run
    [ "$(hook_ids | wc -w)" -ge $((2 * ${#LAB_WATCH[@]})) ] && { sleep 1; return 0; }
    sleep 0.1
  done
  echo "agent ($1) did not attach to ${LAB_WATCH[*]}"; cat "$AGENT_LOG"; return 1
}
