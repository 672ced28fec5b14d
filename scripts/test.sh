#!/usr/bin/env bash
# The test command: installs what is missing, checks the style, builds, and runs every test (unit, real-kernel BPF, namespaces).
# Run as root on Debian 12:  ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: run as root (the BPF and namespace tests need it)"; exit 1; }
./scripts/install-deps.sh --test
# Style first: it takes seconds and names the file and line (fix with scripts/lint.sh --fix).
./scripts/lint.sh
export TMPDIR="$PWD/.build/tmp"   # SwiftPM leaves TemporaryDirectory.* folders behind
mkdir -p "$TMPDIR"
swift build --build-tests
# Tests that build namespaces or load BPF share kernel state: run them one at a time.
swift test --skip-build --no-parallel
# The BPF load/attach tests and an end-to-end flow on Debian 12's own kernel (6.1) in a QEMU VM.
./scripts/kernel-vm.sh
# Every fuzz target briefly on its seed corpus (a debug build: the short run needs no speed, the build time counts).
FUZZ_CONFIG=debug ./scripts/fuzz.sh --short
