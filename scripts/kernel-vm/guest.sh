#!/bin/bash
# PID 1 of the kernel VM (started by the initramfs /init): probes the kernel's features, runs the BPF load/attach
# tests and the end-to-end flow, writes "NAME PASS|FAIL SECONDS" lines to /kernel-vm-out/results (a 9p share the
# host reads) and powers off. Never run on the host.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp CI=true LANG=C.UTF-8
out=/kernel-vm-out
src=$(sed -n 's/.*spyglass.src=\([^ ]*\).*/\1/p' /proc/cmdline)
bin=$(sed -n 's/.*spyglass.bin=\([^ ]*\).*/\1/p' /proc/cmdline)
off() { sync; echo o >/proc/sysrq-trigger; sleep 30; }
trap off EXIT
[ $$ = 1 ] || { echo "guest.sh runs only as PID 1 of the kernel VM"; trap - EXIT; exit 1; }

mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /run/netns /dev/shm && mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
hostname spyglass-vm
ip link set lo up
ulimit -l unlimited   # kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK

echo "kernel-vm: guest up, $(uname -r), $(nproc) CPUs"
: >"$out/results"
result() { echo "$1 $2 $3" >>"$out/results"; echo "kernel-vm: $1 $2 (${3}s)"; sync; }
step() {   # step NAME TIMEOUT COMMAND...: output to $out/NAME.log and the console
  local name=$1 limit=$2 start=$SECONDS rc; shift 2
  echo "kernel-vm: === $name"
  timeout -k 5 "$limit" "$@" 2>&1 | tee "$out/$name.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "kernel-vm: $name timed out after ${limit}s" | tee -a "$out/$name.log"
  if [ "$rc" = 0 ]; then result "$name" PASS $((SECONDS - start)); else result "$name" FAIL $((SECONDS - start)); fi
}

# KERNEL_VM_ONLY on the host (spyglass.only= here) selects steps, e.g. "libbpf-log" to see libbpf's and the
# verifier's log of loading the programs.
only=$(sed -n 's/.*spyglass.only=\([^ ]*\).*/\1/p' /proc/cmdline)
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
run() { want "$1" && step "$@"; }
[[ ",$only," == *",libbpf-log,"* ]] && step libbpf-log 120 "$bin/spyglass" run --interface lo --debug-libbpf \
  --hubble-metrics-server 127.0.0.1:0
run features 120 env BPFTOOL=/usr/sbin/bpftool bash "$src/scripts/kernel-vm/features.sh"
cp "$out/features.log" "$out/features" 2>/dev/null
# The end-to-end flow and the datapath tests run side by side (they share no counts: the e2e agent watches only
# its veth and checks drops by its addresses; the drop test filters by its own port). The agent runs as in a
# container that does not see /boot: CONFIG_HZ unknown, the tc programs' other clock; the datapath tests see it.
( run agent-e2e 400 unshare -m sh -c 'mount -t tmpfs tmpfs /boot && exec bash "$0" "$1"' \
    "$src/scripts/kernel-vm/e2e.sh" "$bin/spyglass" >"$out/agent-e2e.console" 2>&1 ) &
e2e=$!
# The BPF load/attach tests: the tc programs (load, BPF_PROG_TEST_RUN) and the kfree_skb drop program.
run datapath-tests 600 "$bin/SpyglassPackageTests.xctest" --testing-library swift-testing \
  --filter 'SpyglassDatapathTests\.(TCProgramTests|DropProgramTests|L7SkipTests)'
wait "$e2e"
cat "$out/agent-e2e.console" 2>/dev/null
echo "kernel-vm: guest done"
