#!/usr/bin/env bash
# Regenerates Sources/SpyglassAPI/Generated from Protos/ (Hubble's flow/observer/peer/relay contract and
# grpc.health.v1). The output is committed: CI never builds the protoc plugins (that build takes minutes).
#
# Needs protoc (Debian: protobuf-compiler) and two plugins built from the package copies this project depends on:
#   protoc-gen-swift         (apple/swift-protobuf, product protoc-gen-swift)
#   protoc-gen-grpc-swift-2  (grpc/grpc-swift-protobuf, product protoc-gen-grpc-swift-2)
# Set PLUGIN_DIR to the folder holding both binaries; by default they are built once into .build-protoc-plugins/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=Sources/SpyglassAPI/Generated

command -v protoc >/dev/null || { apt-get install -y protobuf-compiler >/dev/null; }

if [[ -z "${PLUGIN_DIR:-}" ]]; then
    scratch=$root/.build-protoc-plugins
    if [[ ! -x $scratch/bin/protoc-gen-swift || ! -x $scratch/bin/protoc-gen-grpc-swift-2 ]]; then
        mkdir -p "$scratch/bin"
        [[ -d $scratch/gsp ]] || git clone -q https://github.com/grpc/grpc-swift-protobuf "$scratch/gsp"
        git -C "$scratch/gsp" checkout -q 2.4.1
        swift build --package-path "$scratch/gsp" --product protoc-gen-grpc-swift-2
        swift build --package-path "$scratch/gsp" --product protoc-gen-swift
        bin=$(swift build --package-path "$scratch/gsp" --show-bin-path)
        cp "$bin/protoc-gen-swift" "$bin/protoc-gen-grpc-swift-2" "$scratch/bin/"
    fi
    PLUGIN_DIR=$scratch/bin
fi

protos=(flow/flow.proto relay/relay.proto observer/observer.proto peer/peer.proto grpc/health/v1/health.proto)
rm -rf "$out"
mkdir -p "$out"
protoc -I Protos \
    --plugin=protoc-gen-swift="$PLUGIN_DIR/protoc-gen-swift" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    "${protos[@]}"
protoc -I Protos \
    --plugin=protoc-gen-grpc-swift="$PLUGIN_DIR/protoc-gen-grpc-swift-2" \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    observer/observer.proto peer/peer.proto grpc/health/v1/health.proto
echo "generated: $(ls "$out" | tr '\n' ' ')"
