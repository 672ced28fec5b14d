#!/usr/bin/env bash
# Installs every system package Spyglass needs to build, run and test, on Debian 12 as root. Idempotent:
# apt-get runs only when something is missing. `--bench` adds the benchmarks' tools.
set -euo pipefail

packages=(
  libbpf-dev libelf-dev zlib1g-dev pkg-config   # build: libbpf and its link dependencies
  iproute2 nftables iputils-ping curl dnsutils   # demo and namespace tests
  python3 python3-prometheus-client              # strict OpenMetrics parser used by the tests
  prometheus                                     # promtool and a real Prometheus for scrape tests
  python3-yaml python3-jsonschema systemd binutils # dashboard and deployment checks (systemd-analyze, readelf)
  dnsmasq-base                                   # a real DNS server for the L7 tests and the demo
  openssl util-linux                             # TLS tests (test certificates, s_client); setpriv for capability tests
  python3-grpcio python3-protobuf protobuf-compiler # the independent Python gRPC client of the Hubble API tests
)
# `--bench`: also what bench/all.sh measures with and against.
if [ "${1:-}" = "--bench" ]; then
  packages+=(iperf3 wrk nginx-light prometheus-pushgateway bpftool linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian prometheus package starts a system service on :9090; the tests start their own instances.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

# BPF filesystem (for bpftool users; Spyglass itself pins nothing).
mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
command -v swift >/dev/null || { echo "swift is not on PATH (expected the Swift 6.3 toolchain at /opt/swift)"; exit 1; }
