#!/bin/bash
# usage (root): bench/counting.sh        BIN=path/to/spyglass (default .build/debug/spyglass). Uses metrics port 19966.
# Trace flows and DNS queries per window of a running demo: default (the lab bridge as device: receive-side
# suppressed) vs only the pod veths watched (no device: every hook reports, as before issue 14).
BIN=${BIN:-.build/debug/spyglass}
cd "$(dirname "$0")/.."
for mode in default podsonly; do
  extra=()
  [ $mode = podsonly ] && extra=(--interface spydemot0 --interface spydemox1 --interface spydemod2 --interface spydemod3 --interface spydemok4)
  $BIN demo --duration 30s --traffic-period 0.25 --hubble-metrics-server 127.0.0.1:19966 "${extra[@]}" > /tmp/roles_demo3.log 2>&1 &
  PID=$!
  t() { curl -s http://127.0.0.1:19966/metrics | awk '/^hubble_flows_processed_total.*type="Trace"/{s+=$NF} END {print s+0}'; }
  f() { curl -s http://127.0.0.1:19966/metrics | awk '/^hubble_flows_processed_total.*subtype="from-endpoint"/{s+=$NF} END {print s+0}'; }
  q() { curl -s http://127.0.0.1:19966/metrics | awk '/^hubble_dns_queries_total/{s+=$NF} END {print s+0}'; }
  u() { ip netns exec spydemo-kube-dns awk '/^Udp:/{getline; print $2; exit}' /proc/net/snmp; }
  sleep 10; T1=$(t); F1=$(f); Q1=$(q); U1=$(u)
  sleep 12; T2=$(t); F2=$(f); Q2=$(q); U2=$(u)
  echo "$mode: 12 s window: trace flows $((T2-T1)) (from-endpoint $((F2-F1))), dns queries counted $((Q2-Q1)) / received by kube-dns $((U2-U1))"
  wait $PID
done
