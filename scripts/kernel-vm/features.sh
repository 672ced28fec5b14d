#!/usr/bin/env bash
# Prints what the running kernel offers Spyglass, one "key: value" a line, probed rather than assumed.
# Needs root, bpftool (path in $BPFTOOL, default: on PATH) and iproute2. Used inside the kernel VM and on the host.
set -uo pipefail
bpftool=${BPFTOOL:-bpftool}
tmp=$(mktemp -d)
trap 'ip link del spyfeat0 2>/dev/null; rm -rf "$tmp"' EXIT
yn() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }

echo "kernel: $(uname -r)"
echo "btf: $(yn test -r /sys/kernel/btf/vmlinux)"
"$bpftool" feature probe kernel >"$tmp/probe" 2>/dev/null
echo "ring buffer map: $(yn grep -q 'map_type ringbuf is available' "$tmp/probe")"
echo "sched_cls programs: $(yn grep -q 'program_type sched_cls is available' "$tmp/probe")"
echo "bpf_stats (kernel.bpf_stats_enabled): $(yn test -e /proc/sys/kernel/bpf_stats_enabled)"
clsact=no
if ip link add spyfeat0 type veth peer name spyfeat1 2>/dev/null; then
  tc qdisc add dev spyfeat0 clsact 2>/dev/null && clsact=yes
fi
echo "tc clsact: $clsact"
if [ -r /sys/kernel/btf/vmlinux ] && "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c >"$tmp/vmlinux.h" 2>/dev/null; then
  proto=$(grep -m1 'btf_trace_kfree_skb)' "$tmp/vmlinux.h" | sed 's/^typedef //')
  echo "kfree_skb tracepoint: ${proto:-absent}"
  awk '/^enum skb_drop_reason \{/ { on = 1; next } on && /^\};/ { exit } on { gsub(/[ \t,]/, ""); print }' "$tmp/vmlinux.h" >"$tmp/reasons"
  if [ -s "$tmp/reasons" ]; then
    echo "skb_drop_reason values: $(wc -l <"$tmp/reasons")"
    echo "skb_drop_reason: $(sed 's/^SKB_DROP_REASON_//; s/^SKB_//' "$tmp/reasons" | tr '\n' ' ')"
  else
    echo "skb_drop_reason: absent (drops are reported with reason UNKNOWN)"
  fi
else
  echo "kfree_skb tracepoint: unknown (no BTF or bpftool failed)"
fi
