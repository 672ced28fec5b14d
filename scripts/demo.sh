#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the agent on its built-in demo network, serving
# metrics on :9965. Run as root on Debian 12:  ./scripts/demo.sh [spyglass demo options, e.g. --duration 5m]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/demo.sh: run as root (loading eBPF and creating namespaces need it)"; exit 1; }
./scripts/install-deps.sh --demo
export TMPDIR="$PWD/.build/tmp"
mkdir -p "$TMPDIR"
swift build -c release --product spyglass
exec .build/release/spyglass demo "$@"
