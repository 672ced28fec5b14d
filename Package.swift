// swift-tools-version:6.1
import PackageDescription

// Spyglass: eBPF-fed, Hubble-compatible network observability agent.
// One target per pipeline stage (docs/architecture.md describes the stages).
let package = Package(
    name: "Spyglass",
    products: [
        .executable(name: "spyglass", targets: ["spyglass"]),
        .executable(name: "spyglass-bench", targets: ["SpyglassBench"]),
        // The parsers, for the fuzzing package in Fuzz/ (a path dependency sees only products).
        .library(name: "SpyglassSupport", targets: ["SpyglassSupport"]),
        .library(name: "SpyglassFlow", targets: ["SpyglassFlow"]),
        .library(name: "SpyglassMetrics", targets: ["SpyglassMetrics"]),
        .library(name: "SpyglassExport", targets: ["SpyglassExport"]),
        .library(name: "SpyglassEndpoints", targets: ["SpyglassEndpoints"]),
        .library(name: "SpyglassPipeline", targets: ["SpyglassPipeline"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // TLS (and mTLS) for the metrics server (--hubble-metrics-server-enable-tls).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Hubble's gRPC API (observer.Observer, peer.Peer): code generated once from Protos/ (scripts/gen-proto.sh).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0")
    ],
    targets: [
        // libbpf from Debian's libbpf-dev.
        .systemLibrary(
            name: "CLibBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),
        // The kernel<->user contract (spyglass_events.h) and libbpf shims Swift cannot express.
        // zlib (a libbpf dependency) reads /proc/config.gz for CONFIG_HZ.
        .target(name: "CSpyglassBPF", dependencies: ["CLibBPF"], linkerSettings: [.linkedLibrary("z")]),
        // Host tool run by the plugin: compiles bpf/*.bpf.c with the toolchain's clang and embeds the object.
        .executableTarget(name: "BPFEmbedTool"),
        .plugin(
            name: "BPFEmbedPlugin",
            capability: .buildTool(),
            dependencies: ["BPFEmbedTool"]
        ),
        // Foundation-level helpers every stage shares (lock, durations, JSON values, the YAML document loader): one
        // copy instead of one per stage.
        .target(name: "SpyglassSupport", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "SpyglassFlow", dependencies: ["SpyglassSupport"]),
        .target(
            name: "SpyglassDatapath",
            dependencies: ["CSpyglassBPF", "CLibBPF", "SpyglassFlow", "SpyglassSupport"],
            plugins: ["BPFEmbedPlugin"]
        ),
        // Yams: the dynamic metrics file (--hubble-dynamic-metrics-config-path) is parsed, validated and reloaded here.
        .target(
            name: "SpyglassMetrics",
            dependencies: ["SpyglassFlow", "SpyglassSupport", .product(name: "Yams", package: "Yams")]
        ),
        // The per-event step of the flow pipeline (decode → L7 → enrich → metrics/export), without threads or BPF.
        .target(name: "SpyglassPipeline", dependencies: ["SpyglassFlow", "SpyglassMetrics"]),
        // Who is behind an IP: static endpoints file, Kubernetes API, the node itself.
        .target(
            name: "SpyglassEndpoints",
            dependencies: [
                "SpyglassFlow", "SpyglassSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio")
            ]
        ),
        // Hubble JSON-lines flow logs: encoder, field mask, aggregation, rotating gzip writer, exporters.
        .target(
            name: "SpyglassExport",
            dependencies: [
                "SpyglassFlow", "SpyglassSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "CompressNIO", package: "compress-nio"),
                // CompressNIO's streaming API works on NIOCore's ByteBuffer.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // Benchmarks that print figures (`spyglass-bench metrics|pipeline|exposition|export|memory`, bench/all.sh);
        // not part of the test suite. CSpyglassBench: the minimal C ring-buffer consumer (the pipeline's ceiling).
        .target(name: "CSpyglassBench", dependencies: ["CLibBPF"]),
        .executableTarget(
            name: "SpyglassBench",
            dependencies: [
                "SpyglassMetrics", "SpyglassFlow", "SpyglassAgent", "SpyglassDatapath", "SpyglassServer",
                "SpyglassExport",
                "SpyglassTesting", "SpyglassLab", "CSpyglassBench", "CSpyglassBPF",
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        .target(
            name: "SpyglassServer",
            dependencies: [
                "SpyglassSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // Generated Swift for Protos/ (Hubble's flow/observer/peer/relay contract and grpc.health.v1); committed.
        .target(
            name: "SpyglassAPI",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
            ]
        ),
        // Hubble's API server: the event ring, GetFlows/ServerStatus/GetNodes, Peer.Notify, the observe printers.
        .target(
            name: "SpyglassObserver",
            dependencies: [
                "SpyglassAPI", "SpyglassFlow", "SpyglassExport", "SpyglassServer", "SpyglassEndpoints",
                "SpyglassSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // TLS 1.3-only listener (see TLS13Listener.swift).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl")
            ]
        ),
        .target(
            name: "SpyglassAgent",
            dependencies: [
                "SpyglassFlow", "SpyglassDatapath", "SpyglassMetrics", "SpyglassServer", "SpyglassEndpoints",
                "SpyglassExport", "SpyglassObserver", "SpyglassPipeline", "SpyglassSupport",
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // The namespace lab (network namespaces, veths, pods, node-shaped topologies, processes inside them) and the
        // Star Wars demo built on it: for the end-to-end tests, the benchmarks and `spyglass demo`; not the agent.
        .target(name: "SpyglassLab", dependencies: ["SpyglassSupport"]),
        .executableTarget(
            name: "spyglass",
            dependencies: [
                "SpyglassAgent", "SpyglassLab", "SpyglassObserver", "SpyglassAPI", "SpyglassSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        .target(name: "SpyglassTesting", dependencies: ["SpyglassFlow"]),
        .testTarget(name: "SpyglassSupportTests", dependencies: ["SpyglassSupport"]),
        .testTarget(name: "SpyglassFlowTests", dependencies: ["SpyglassFlow", "SpyglassTesting"]),
        .testTarget(
            name: "SpyglassMetricsTests", dependencies: ["SpyglassMetrics", "SpyglassSupport", "SpyglassTesting"],
            exclude: ["Golden"]
        ),
        .testTarget(name: "SpyglassServerTests", dependencies: ["SpyglassServer", "SpyglassTesting"]),
        .testTarget(
            name: "SpyglassEndpointsTests",
            dependencies: [
                "SpyglassEndpoints", "SpyglassSupport", "SpyglassTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        .testTarget(name: "SpyglassExportTests", dependencies: ["SpyglassExport", "SpyglassTesting"]),
        .testTarget(
            name: "SpyglassObserverTests",
            dependencies: [
                "SpyglassObserver", "SpyglassAPI", "SpyglassFlow", "SpyglassExport", "SpyglassTesting",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
            ],
            exclude: ["Scripts"]
        ),
        .testTarget(
            name: "SpyglassDatapathTests",
            dependencies: ["SpyglassDatapath", "SpyglassTesting", "SpyglassFlow"]
        ),
        .testTarget(
            name: "SpyglassAgentTests",
            dependencies: [
                "SpyglassPipeline", "SpyglassAgent", "SpyglassDatapath", "SpyglassMetrics", "SpyglassFlow",
                "SpyglassTesting"
            ]
        ),
        .testTarget(
            name: "SpyglassEndToEndTests",
            dependencies: ["SpyglassAgent", "SpyglassLab", "SpyglassTesting"],
            exclude: ["Scripts"]
        )
    ],
    swiftLanguageModes: [.v6]
)
