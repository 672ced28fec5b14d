#!/usr/bin/env bash
# Runs Spyglass on Debian 12's own kernel (6.1): boots it under QEMU (TCG: no KVM needed) on a small debootstrap
# root file system and runs there the BPF load/attach tests (SpyglassDatapathTests: the tc programs load and
# test-run; the kfree_skb drop program loads, attaches and reports a real drop) and one end-to-end flow (the agent
# attaches to a veth pair; TCP/UDP exchanges; exact /metrics counts). Prints a PASS/FAIL line per step and test;
# exits non-zero on failure.
#
#   ./scripts/kernel-vm.sh          (root, after `swift build --build-tests`; scripts/test.sh runs it)
#
# The root file system, kernel and initramfs are cached in .build/kernel-vm/ (delete it to rebuild). The VM shares
# the worktree, /opt/swift and a results folder read-only/read-write over 9p and has no network of its own.
# Environment: KERNEL_VM_PACKAGE (default linux-image-amd64, Debian 12's 6.1), KERNEL_VM_TIMEOUT (seconds the VM
# may run, default 900), KERNEL_VM_MIRROR, KERNEL_VM_CPUS (default 2), KERNEL_VM_BUILD (default .build/debug),
# KERNEL_VM_ONLY (comma-separated steps: features, datapath-tests, agent-e2e, libbpf-log).
# It skips (exit 0, saying why) only when it cannot boot a VM: QEMU cannot start a machine at all, or (outside
# CI=true, where these fail) not root or a tool missing. A missing build always fails.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
cache=$src/.build/kernel-vm
package=${KERNEL_VM_PACKAGE:-linux-image-amd64}
vm_timeout=${KERNEL_VM_TIMEOUT:-900}
mirror=${KERNEL_VM_MIRROR:-http://deb.debian.org/debian}
cpus=${KERNEL_VM_CPUS:-2}
build=${KERNEL_VM_BUILD:-$src/.build/debug}
# What the guest needs: modules tooling, iproute2/tc, the e2e tools, bpftool for the feature probe, the shared
# libraries of spyglass and the Swift runtime, and busybox for the initramfs.
guest_packages=busybox-static,kmod,iproute2,curl,netcat-openbsd,procps,bpftool,libbpf1,libelf1,zlib1g,libcurl4,libxml2
started=$SECONDS

say() { echo "kernel-vm: $*"; }
fail() { say "FAIL: $*" >&2; exit 1; }
# A reason not to run that is not "no virtualisation possible" must not pass silently in CI.
cannot_run() {
  if [ "${CI:-}" = true ]; then fail "$* (CI=true: this is not a reason to skip)"; fi
  say "SKIP: $*"; exit 0
}

[ "$(id -u)" = 0 ] || cannot_run "needs root (debootstrap, 9p passthrough of root-owned files)"
for tool in qemu-system-x86_64 debootstrap apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || cannot_run "$tool is not installed (scripts/install-deps.sh installs it)"
done
for f in "$build/spyglass" "$build/SpyglassPackageTests.xctest"; do
  [ -x "$f" ] || fail "$f is missing (run: swift build --build-tests)"
done
# The one allowed skip: QEMU cannot start even an empty TCG machine here (e.g. a sandbox without the memory or
# syscalls it needs). Checked for real rather than guessed from the environment.
if ! probe=$(echo quit | timeout 60 qemu-system-x86_64 -accel tcg -machine none -nodefaults -display none -monitor stdio 2>&1); then
  say "SKIP: no virtualisation possible: qemu-system-x86_64 cannot start a TCG machine: $(echo "$probe" | tail -1)"
  exit 0
fi
mkdir -p "$cache"

# --- the kernel: Debian's package, unpacked (its modules go into the root file system)
kdir=$cache/kernel-$package
if [ ! -e "$kdir/.complete" ]; then
  say "downloading $package"
  rm -rf "$kdir" "$kdir.tmp" && mkdir -p "$kdir.tmp/debs"
  fetch() { (cd "$kdir.tmp/debs" && apt-get download "$1" 2>&1 | grep -v 'unsandboxed' || true; ls "$kdir.tmp/debs/$1"_*.deb >/dev/null 2>&1); }
  fetch "$package" || { apt-get update -qq; fetch "$package"; } || fail "apt-get download $package failed"
  deb=$(ls "$kdir.tmp/debs/$package"_*.deb)
  # A meta package (linux-image-amd64) names the versioned image in its Depends.
  if ! dpkg-deb -c "$deb" | grep -q '/boot/vmlinuz-'; then
    image=$(dpkg-deb -f "$deb" Depends | grep -o 'linux-image-[^ ,]*' | head -1)
    [ -n "$image" ] || fail "$package contains no kernel and depends on no linux-image package"
    fetch "$image" || fail "apt-get download $image failed"
    deb=$(ls "$kdir.tmp/debs/$image"_*.deb)
  fi
  dpkg-deb -x "$deb" "$kdir.tmp/root"
  rm -rf "$kdir.tmp/debs"
  mv "$kdir.tmp" "$kdir" && touch "$kdir/.complete"
fi
kver=$(ls "$kdir/root/lib/modules" | head -1)
vmlinuz=$kdir/root/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || fail "no vmlinuz in $kdir"

# --- the root file system: debootstrap once, re-made when the package list changes
rootfs=$cache/rootfs
stamp="bookworm $guest_packages"
if [ "$(cat "$rootfs/.spyglass-stamp" 2>/dev/null)" != "$stamp" ]; then
  say "debootstrap bookworm (minbase + $guest_packages)"
  t=$SECONDS
  rm -rf "$rootfs" "$rootfs.tmp"
  debootstrap --variant=minbase --include="$guest_packages" bookworm "$rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log"; fail "debootstrap failed (log: $cache/debootstrap.log)"; }
  rm -rf "$rootfs.tmp/var/cache/apt/archives/"*.deb
  echo "$stamp" >"$rootfs.tmp/.spyglass-stamp"
  mv "$rootfs.tmp" "$rootfs"
  say "debootstrap took $((SECONDS - t)) s"
fi
if [ ! -e "$rootfs/lib/modules/$kver/modules.dep" ]; then
  rm -rf "$rootfs/lib/modules/$kver"
  mkdir -p "$rootfs/lib/modules"
  cp -a "$kdir/root/lib/modules/$kver" "$rootfs/lib/modules/"
  chroot "$rootfs" /sbin/depmod "$kver" || fail "depmod $kver failed"
fi
# As an installed kernel package would: its config (CONFIG_HZ is read from it; guest.sh hides it for the e2e run).
mkdir -p "$rootfs/boot" && cp "$kdir/root/boot/config-$kver" "$rootfs/boot/"
# Mount points of the shares (the root is mounted read-only in the guest).
mkdir -p "$rootfs$src" "$rootfs/opt/swift" "$rootfs/kernel-vm-out"

# --- the initramfs: busybox, the modules that reach the 9p shares, and /init
initrd=$cache/initrd-$kver.gz
if [ ! -e "$initrd" ] || [ "$src/scripts/kernel-vm/init" -nt "$initrd" ]; then
  stage=$cache/initramfs-stage
  rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/modules.d"
  cp "$rootfs/bin/busybox" "$stage/bin/busybox"
  cp "$src/scripts/kernel-vm/init" "$stage/init" && chmod +x "$stage/init"
  # Load order from modules.dep: every module after its dependencies.
  declare -A seen=()
  order=()
  add() {
    local path=$1 dep
    [ -n "${seen[$path]:-}" ] && return
    seen[$path]=1
    for dep in $(awk -v m="$path:" '$1 == m { $1 = ""; print }' "$rootfs/lib/modules/$kver/modules.dep"); do add "$dep"; done
    order+=("$path")
  }
  for m in virtio_pci 9pnet_virtio 9p; do
    path=$(awk -F: -v m="/$m.ko" 'index($1, m) && substr($1, length($1) - length(m) + 1) == m { print $1; exit }' "$rootfs/lib/modules/$kver/modules.dep")
    [ -n "$path" ] || fail "kernel $kver has no module $m"
    add "$path"
  done
  : >"$stage/modules"
  for p in "${order[@]}"; do
    cp "$rootfs/lib/modules/$kver/$p" "$stage/modules.d/"
    basename "$p" >>"$stage/modules"
  done
  (cd "$stage" && find . | "$rootfs/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
fi
prepared=$((SECONDS - started))

# --- boot and run
results=$cache/out
rm -rf "$results" && mkdir -p "$results"
say "booting $kver under qemu-system-x86_64 -accel tcg -cpu max ($cpus CPUs, timeout ${vm_timeout}s)"
share() { echo "local,path=$1,mount_tag=$2,security_model=passthrough${3:+,$3}"; }
boot=$SECONDS
set +e
nice -n 10 timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg -cpu max -smp "$cpus" -m 2048 -nographic \
  -nic none -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 loglevel=4 no_timer_check spyglass.src=$src spyglass.bin=$build${KERNEL_VM_ONLY:+ spyglass.only=$KERNEL_VM_ONLY}" \
  -virtfs "$(share "$rootfs" rootfs readonly=on)" -virtfs "$(share "$src" src readonly=on)" \
  -virtfs "$(share /opt/swift swift readonly=on)" -virtfs "$(share "$results" out)" \
  </dev/null 2>&1 | tee "$cache/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
ran=$((SECONDS - boot))

# --- summary
echo
say "==== summary: kernel $kver (Debian package $package), prepared in ${prepared}s, VM ran ${ran}s"
[ "$qemu_rc" = 124 ] && say "the VM hit its ${vm_timeout}s timeout"
[ -s "$results/features" ] && sed 's/^/  feature  /' "$results/features"
status=0
[ -s "$results/results" ] || { say "FAIL: the guest reported no results (qemu exit $qemu_rc; console: $cache/console.log)"; exit 1; }
only=${KERNEL_VM_ONLY:-features,datapath-tests,agent-e2e}
for name in ${only//,/ }; do
  line=$(grep "^$name " "$results/results" || true)
  if [ -z "$line" ]; then printf '  %-16s FAIL (did not run)\n' "$name"; status=1; continue; fi
  set -- $line
  printf '  %-16s %s (%ss)\n' "$1" "$2" "$3"
  [ "$2" = PASS ] || status=1
  # Per-test lines of the Swift tests and of the e2e checks.
  if [ -f "$results/$name.log" ]; then
    grep -aoE 'Test [^ ]+\) (passed|failed|skipped)' "$results/$name.log" | sed -E 's/^Test (.*) (passed|failed|skipped)$/    \2  \1/' || true
    grep -aE '^e2e: (PASS|FAIL)' "$results/$name.log" | sed 's/^e2e: /    /' || true
  fi
done
if [ $status = 0 ]; then say "PASS (kernel $kver)"; else say "FAIL (kernel $kver; logs in $results, console in $cache/console.log)"; fi
exit $status
