#!/usr/bin/env bash
# Style check of every hand-written Swift file against .swift-format (the toolchain's swift-format); generated
# protobuf code is left as protoc writes it. `scripts/lint.sh --fix` rewrites the files instead of reporting.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.swift' | grep -v '/Generated/')
if [ "${1:-}" = "--fix" ]; then
  swift format format --in-place --parallel --configuration .swift-format "${files[@]}"
else
  swift format lint --strict --parallel --configuration .swift-format "${files[@]}"
fi
