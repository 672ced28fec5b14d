import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassMetrics

/// Fixture flows through the real handlers, rendered in both formats and compared byte for byte with hand-written
/// files under Golden/. On a mismatch the actual output is written to /tmp/spyglass-golden/ for review.
@Suite struct GoldenExpositionTests {
    struct Scenario: CustomTestStringConvertible, Sendable {
        let file: String
        let spec: String
        let selfMetrics: Bool
        var testDescription: String { file }
    }

    static let scenarios: [Scenario] = [
        Scenario(file: "default", spec: MetricsConfig.defaultSpec, selfMetrics: true),
        // The docs' Helm example, as Helm renders the list (one item per line).
        Scenario(
            file: "helm-example",
            spec: """
                dns
                drop
                tcp
                flow
                port-distribution
                icmp
                httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction
                """,
            selfMetrics: false),
        Scenario(
            file: "dns-query-http-v1", spec: "dns:query;ignoreAAAA http:destinationContext=workload-name",
            selfMetrics: false),
        Scenario(
            file: "flow-contexts", spec: "flow:sourceContext=workload-name|reserved-identity;destinationContext=dns|ip",
            selfMetrics: false),
        Scenario(
            file: "world-policy",
            spec: "flows-to-world:any-drop;port;syn-only;sourceEgressContext=pod;destinationContext=dns|ip "
                + "policy:sourceContext=app|pod;destinationContext=namespace",
            selfMetrics: false),
        Scenario(
            file: "http-v1-exemplars-icmp",
            spec: "http:exemplars=true;sourceContext=pod icmp:sourceIngressContext=pod-name;sourceContext=ip;"
                + "labelsContext=source_app,destination_app,source_workload_kind,traffic_direction",
            selfMetrics: false)
    ]

    @Test(arguments: scenarios, ExpositionFormat.allCases)
    func golden(_ s: Scenario, _ format: ExpositionFormat) throws {
        let e = try TestSupport.engine(s.spec, MetricsEngineOptions(selfMetrics: s.selfMetrics))
        let actual = TestSupport.text(e, format)
        let ext = format == .openMetrics ? "openmetrics" : "prom"
        let url = TestSupport.goldenDir.appendingPathComponent("\(s.file).\(ext)")
        let expected = try String(contentsOf: url, encoding: .utf8)
        if actual != expected {
            let dir = URL(fileURLWithPath: "/tmp/spyglass-golden")
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try? actual.write(to: dir.appendingPathComponent("\(s.file).\(ext)"), atomically: true, encoding: .utf8)
        }
        #expect(actual == expected, "\(s.file).\(ext): \(TestSupport.firstDifference(expected, actual))")
    }
}
