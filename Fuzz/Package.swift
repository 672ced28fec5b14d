// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for Spyglass's parsers (issue #10). A separate package so the main build never sees the
// sanitizer flags. Build and run with ../scripts/fuzz.sh; see README.md here.
//
// Each executable is one fuzz target: a file defining `LLVMFuzzerTestOneInput` and `<Target>_main` (the name
// SwiftPM aliases `main` to), which starts libFuzzer's driver (linked by `-sanitize=fuzzer`).
let fuzzTargets = [
    "FuzzEventDecoder", "FuzzDNS", "FuzzHTTP", "FuzzFlowFilterJSON", "FuzzMetricsGrammar", "FuzzDynamicMetricsYAML",
    "FuzzFlowLogConfig", "FuzzEndpointsFile", "FuzzAcceptNegotiation", "FuzzKubeconfig", "FuzzFlowLogEncoder",
    "FuzzExpositionLabels", "FuzzKubeWatch"
]

// The target file defines `<Target>_main` itself; without this, SwiftPM would also generate one from the file.
// (Passing -parse-as-library on the command line instead would break the main package's own executables.)
let libraryMode: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "SpyglassFuzz",
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        // `name:` fixes the identity: a plain path dependency would be named after the checkout's directory.
        .package(name: "Spyglass", path: "..")
    ],
    targets: [
        // Frames, event records, a byte reader and a driver of the agent's pipeline step, shared by the targets.
        .target(name: "CFuzzerDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CFuzzerDriver", .product(name: "SpyglassFlow", package: "Spyglass"),
                .product(name: "SpyglassPipeline", package: "Spyglass")
            ]),
        .executableTarget(
            name: "FuzzEventDecoder",
            dependencies: ["FuzzSupport", .product(name: "SpyglassFlow", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzDNS", dependencies: ["FuzzSupport", .product(name: "SpyglassFlow", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzHTTP", dependencies: ["FuzzSupport", .product(name: "SpyglassFlow", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzFlowFilterJSON",
            dependencies: [
                "FuzzSupport", .product(name: "SpyglassFlow", package: "Spyglass"),
                .product(name: "SpyglassSupport", package: "Spyglass")
            ], swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzMetricsGrammar",
            dependencies: ["FuzzSupport", .product(name: "SpyglassMetrics", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzDynamicMetricsYAML",
            dependencies: ["FuzzSupport", .product(name: "SpyglassMetrics", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzFlowLogConfig",
            dependencies: ["FuzzSupport", .product(name: "SpyglassExport", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzAcceptNegotiation",
            dependencies: ["FuzzSupport", .product(name: "SpyglassMetrics", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzKubeconfig",
            dependencies: ["FuzzSupport", .product(name: "SpyglassEndpoints", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzFlowLogEncoder",
            dependencies: ["FuzzSupport", .product(name: "SpyglassExport", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzExpositionLabels",
            dependencies: ["FuzzSupport", .product(name: "SpyglassMetrics", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzKubeWatch",
            dependencies: ["FuzzSupport", .product(name: "SpyglassEndpoints", package: "Spyglass")],
            swiftSettings: libraryMode),
        .executableTarget(
            name: "FuzzEndpointsFile",
            dependencies: ["FuzzSupport", .product(name: "SpyglassEndpoints", package: "Spyglass")],
            swiftSettings: libraryMode)
    ],
    swiftLanguageModes: [.v6]
)
