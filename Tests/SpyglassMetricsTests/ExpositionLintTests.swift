import Foundation
import SpyglassFlow
import SpyglassSupport
import Testing

@testable import SpyglassMetrics

/// External linters on real output: `promtool check metrics` for the text format and the Python client's strict
/// OpenMetrics parser for OpenMetrics with exemplars. Without the tool the test is skipped with a printed reason,
/// except under `CI=true`, where a missing tool fails.
@Suite struct ExpositionLintTests {
    static let specs = [
        MetricsConfig.defaultSpec,
        "dns:query;ignoreAAAA http:exemplars=true;destinationContext=workload-name|ip;sourceContext=pod drop:labelsContext=source_namespace,destination_ip",
        "httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction icmp flows-to-world:port"
    ]

    func engineWithEverything(_ spec: String) throws -> MetricsEngine {
        let e = try TestSupport.engine(spec)
        e.addLost(source: "perf_event_ring_buffer", count: 3)
        e.recordScrape(code: 200, seconds: 0.0042)
        try e.registerCollector(
            name: "spyglass_datapath_decode_errors_total", help: "Events that failed \"decoding\"\nby reason",
            type: .counter
        ) {
            [MetricSample(labels: ["reason": "short\\read"], value: 2)]
        }
        try e.registerCollector(name: "spyglass_datapath_ring_fill_ratio", help: "Ring buffer fill", type: .gauge) {
            [MetricSample(value: 0.25)]
        }
        return e
    }

    func skipOrFail(_ reason: String) {
        if TestSupport.isCI {
            Issue.record("CI=true and \(reason)")
        } else {
            print("SKIPPED: \(reason)")
        }
    }

    @Test(arguments: specs)
    func promtoolAcceptsTextFormat(_ spec: String) throws {
        let body = try engineWithEverything(spec).render(.prometheusText)
        guard let promtool = TestSupport.which("promtool"),
            let r = TestSupport.run(promtool, ["check", "metrics"], stdin: Data(body))
        else {
            skipOrFail("promtool is not installed (Debian package 'prometheus')")
            return
        }
        #expect(r.status == 0, "promtool check metrics: \(r.output)")
        #expect(r.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool lint: \(r.output)")
    }

    static let pythonParser = """
        import sys
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
        text = sys.stdin.read()
        families = samples = exemplars = 0
        for family in text_string_to_metric_families(text):
            families += 1
            for s in family.samples:
                samples += 1
                if s.exemplar is not None:
                    exemplars += 1
        print(families, samples, exemplars)
        """

    @Test(arguments: specs)
    func pythonOpenMetricsParserAccepts(_ spec: String) throws {
        let e = try engineWithEverything(spec)
        let body = e.render(.openMetrics)
        // Debian's interpreter: scripts/install-deps.sh installs python3-prometheus-client for it, and the
        // `python3` first on PATH may be another installation that does not see Debian's packages.
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            skipOrFail("\(python) is not installed (Debian package 'python3')")
            return
        }
        guard let probe = TestSupport.run(python, ["-c", "import prometheus_client.openmetrics.parser"], stdin: Data()),
            probe.status == 0
        else {
            skipOrFail("\(python) cannot import prometheus_client (Debian package 'python3-prometheus-client')")
            return
        }
        let r = try #require(TestSupport.run(python, ["-c", ExpositionLintTests.pythonParser], stdin: Data(body)))
        #expect(r.status == 0, "OpenMetrics parser rejected the output: \(r.output)")
        let counts = r.output.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(counts.count == 3)
        if spec.contains("exemplars=true") {
            #expect((counts.last ?? 0) > 0, "expected exemplars in the parsed output: \(r.output)")
        }
    }

    /// Label values as hostile as a pod name or a DNS answer can make them (FuzzExpositionLabels' regression form):
    /// promtool accepts the text format, Python's OpenMetrics parser accepts OpenMetrics and gives every value back.
    static let hostileValues = [
        "quo\"te", "back\\slash", "new\nline", "tab\tand\rcr", "brace}{", "comma,eq=", "line\u{2028}sep", "emoji😀",
        "# HELP fake", "trailing\\", "\u{7f}del", "ünï"
    ]

    func hostileEngine() throws -> MetricsEngine {
        let e = try TestSupport.engine("flow:sourceContext=pod;destinationContext=dns")
        for (i, v) in Self.hostileValues.enumerated() {
            var f = Flow(verdict: .forwarded, source: Endpoint(namespace: "ns\(i)", podName: v), type: .l3L4)
            f.destinationNames = [v]
            e.process(f)
        }
        return e
    }

    @Test func hostileLabelValuesPassPromtool() throws {
        let body = try hostileEngine().render(.prometheusText)
        guard let promtool = TestSupport.which("promtool"),
            let r = TestSupport.run(promtool, ["check", "metrics"], stdin: Data(body))
        else {
            skipOrFail("promtool is not installed (Debian package 'prometheus')")
            return
        }
        #expect(r.status == 0, "promtool check metrics: \(r.output)")
    }

    @Test func hostileLabelValuesRoundTripThroughTheOpenMetricsParser() throws {
        let body = try hostileEngine().render(.openMetrics)
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python),
            let probe = TestSupport.run(python, ["-c", "import prometheus_client.openmetrics.parser"], stdin: Data()),
            probe.status == 0
        else {
            skipOrFail(
                "\(python) cannot import prometheus_client (Debian packages 'python3', 'python3-prometheus-client')")
            return
        }
        let script = """
            import sys, json
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    if s.name == "hubble_flows_processed_total":
                        out.append([s.labels.get("source", ""), s.labels.get("destination", "")])
            print(json.dumps(out))
            """
        let r = try #require(TestSupport.run(python, ["-c", script], stdin: Data(body)))
        try #require(r.status == 0, "OpenMetrics parser rejected the output: \(r.output)")
        let pairs = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [[String]])
        for (i, v) in Self.hostileValues.enumerated() {
            #expect(pairs.contains { $0 == ["ns\(i)/\(v)", v] }, "\(v.debugDescription) did not come back: \(pairs)")
        }
    }
}
