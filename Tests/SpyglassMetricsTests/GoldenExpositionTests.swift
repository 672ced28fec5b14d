import Foundation
import Testing
import SpyglassFlow
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
