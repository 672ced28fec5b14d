#!/usr/bin/env bash
# Installs the system packages a Spyglass task needs, on Debian 12 as root. Idempotent: apt-get runs only when
# something is missing. It never starts, stops or reconfigures a system service.
#   scripts/install-deps.sh --demo    build and run `spyglass demo` (what ./scripts/demo.sh uses)
#   scripts/install-deps.sh --test    also every tool the test suite runs (what ./scripts/test.sh uses; the default)
#   scripts/install-deps.sh --bench   also what bench/all.sh measures with and against
set -euo pipefail

mode="${1:---test}"
packages=(
  libbpf-dev libelf-dev zlib1g-dev pkg-config   # build: libbpf and its link dependencies
  libc6-dev-arm64-cross linux-libc-dev-arm64-cross # build: arm64 headers for the arm64 BPF objects
  iproute2 nftables util-linux procps          # the demo's namespaces (ip, nsenter, sysctl) and its policy
  iputils-ping curl dnsutils python3            # its traffic: ping, HTTP clients, DNS lookups, the HTTP server
  dnsmasq-base                                  # its kube-dns (the dnsmasq binary only: no service)
)
case "$mode" in
  --demo) ;;
  --test|--bench)
    packages+=(
      python3-prometheus-client                     # strict OpenMetrics parser used by the tests
      prometheus                                    # promtool and a real Prometheus for scrape and rule tests
      python3-yaml python3-jsonschema systemd binutils # dashboard and deployment checks (systemd-analyze, readelf)
      openssl                                       # TLS tests (test certificates, s_client)
      python3-grpcio python3-protobuf protobuf-compiler # the independent Python gRPC client of the Hubble API tests
      qemu-system-x86 debootstrap                   # scripts/kernel-vm.sh: Debian 12's kernel in a VM (it downloads the kernel)
    )
    if [ "$mode" = --bench ]; then
      packages+=(iperf3 wrk nginx-light prometheus-pushgateway bpftool linux-perf)
    fi
    ;;
  *) echo "scripts/install-deps.sh: unknown option '$mode' (--demo, --test or --bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101: packages that ship a service (prometheus, nginx) are installed without starting it, so
  # installing test tools never puts a second Prometheus on :9090 or touches one that runs. Removed afterwards.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bench/all.sh profiles with bpftool, which wants the BPF file system (Spyglass itself pins nothing).
if [ "$mode" = --bench ]; then
  mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi

command -v swift >/dev/null || {
  echo "swift is not on PATH: install the Swift 6.3 toolchain for Debian 12 from https://www.swift.org/install/linux/ (e.g. to /opt/swift) and add its usr/bin to PATH" >&2
  exit 1
}
