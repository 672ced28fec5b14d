import SpyglassFlow
import SpyglassSupport
import Testing

@testable import SpyglassMetrics

@Suite struct GoFloatTests {
    @Test(arguments: [
        (1.0, "1", "1.0"), (0.0, "0", "0.0"), (-0.0, "0", "0.0"), (-1.0, "-1", "-1.0"), (2.0, "2", "2.0"),
        (0.005, "0.005", "0.005"), (0.01, "0.01", "0.01"), (0.025, "0.025", "0.025"), (2.5, "2.5", "2.5"),
        (10.0, "10", "10.0"), (123456.0, "123456", "123456.0"), (999999.0, "999999", "999999.0"),
        (1e6, "1e+06", "1e+06"), (1234567.0, "1.234567e+06", "1.234567e+06"), (1e21, "1e+21", "1e+21"),
        (0.0001, "0.0001", "0.0001"), (0.00001, "1e-05", "1e-05"), (1.5e-7, "1.5e-07", "1.5e-07"),
        (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"), (-2.5, "-2.5", "-2.5"),
        (1_700_000_000.0, "1.7e+09", "1.7e+09"), (1_700_000_001.5, "1.7000000015e+09", "1.7000000015e+09"),
        (1e100, "1e+100", "1e+100"), (5e-324, "5e-324", "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"),
        (Double.infinity, "+Inf", "+Inf"), (-Double.infinity, "-Inf", "-Inf"), (Double.nan, "NaN", "NaN"),
        (100.5, "100.5", "100.5"), (4503599627370496.0, "4.503599627370496e+15", "4.503599627370496e+15")
    ])
    func formatsLikeGo(_ v: Double, _ text: String, _ om: String) {
        #expect(GoFloat.text(v) == text)
        #expect(GoFloat.openMetrics(v) == om)
    }
}

@Suite struct NegotiationTests {
    static let text = ExpositionFormat.prometheusText
    static let om = ExpositionFormat.openMetrics

    @Test func contentTypes() {
        #expect(Self.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(Self.om.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test(
        arguments: [
            (nil, true, text), ("", true, text), ("*/*", true, text), ("text/plain", true, text),
            ("application/openmetrics-text", true, om), ("application/openmetrics-text", false, text),
            ("application/openmetrics-text; version=1.0.0", true, om),
            ("application/openmetrics-text;version=0.0.1", true, om),
            ("application/openmetrics-text; version=2.0.0", true, text), ("text/plain;version=0.0.5", true, text),
            // Prometheus' scrape Accept header.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                true, om
            ),
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                false, text
            ),
            // q-values decide order, not position.
            ("text/plain;q=0.5,application/openmetrics-text;q=0.9", true, om),
            ("application/openmetrics-text;q=0.4,text/plain;q=0.5", true, text),
            ("text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.2", true, text),
            // Protobuf is not served: fall through to the next range.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;q=0.5",
                true, om
            ),
            // Case-sensitive type match, as in Go.
            ("Application/OpenMetrics-Text", true, text),
            // Unparsable q is 0 (ordered last), like strconv.ParseFloat errors in goautoneg.
            ("application/openmetrics-text;q=abc,text/plain", true, text),
            ("invalid, application/openmetrics-text", true, om)
        ] as [(String?, Bool, ExpositionFormat)])
    func negotiates(_ accept: String?, _ enabled: Bool, _ expected: ExpositionFormat) {
        #expect(negotiateExposition(accept: accept, openMetricsEnabled: enabled) == expected)
    }
}

@Suite struct StoreTests {
    @Test func familiesWithoutSeriesAreOmitted() throws {
        let e = try TestSupport.engine("dns drop", flows: [Fixtures.tcpSyn])
        #expect(TestSupport.text(e, .prometheusText).isEmpty == false)  // self-metrics still present
        let quiet = try TestSupport.engine(
            "dns drop", MetricsEngineOptions(selfMetrics: false), flows: [Fixtures.tcpSyn])
        #expect(TestSupport.text(quiet, .prometheusText) == "")
        #expect(TestSupport.text(quiet, .openMetrics) == "# EOF\n")
    }

    @Test func lostEventsAndScrapes() throws {
        let e = try TestSupport.engine("icmp", MetricsEngineOptions(selfMetrics: false), flows: [])
        e.addLost(source: "perf_event_ring_buffer", count: 5)
        e.addLost(source: "observer_events_queue", count: 1)
        e.addLost(source: "perf_event_ring_buffer", count: 2)
        e.recordScrape(code: 200, seconds: 0.003)
        e.recordScrape(code: 200, seconds: 0.02)
        e.recordScrape(code: 503, seconds: 12)
        let text = TestSupport.text(e, .prometheusText)
        #expect(
            text.contains(
                """
                # HELP hubble_lost_events_total Number of lost events
                # TYPE hubble_lost_events_total counter
                hubble_lost_events_total{source="observer_events_queue"} 1
                hubble_lost_events_total{source="perf_event_ring_buffer"} 7
                # HELP hubble_metrics_http_handler_request_duration_seconds A histogram of latencies for Hubble metrics handler.
                # TYPE hubble_metrics_http_handler_request_duration_seconds histogram
                hubble_metrics_http_handler_request_duration_seconds_bucket{code="200",le="0.005"} 1
                hubble_metrics_http_handler_request_duration_seconds_bucket{code="200",le="0.01"} 1
                hubble_metrics_http_handler_request_duration_seconds_bucket{code="200",le="0.025"} 2
                """))
        #expect(
            text.contains(
                """
                hubble_metrics_http_handler_request_duration_seconds_bucket{code="503",le="10"} 0
                hubble_metrics_http_handler_request_duration_seconds_bucket{code="503",le="+Inf"} 1
                hubble_metrics_http_handler_request_duration_seconds_sum{code="503"} 12
                hubble_metrics_http_handler_request_duration_seconds_count{code="503"} 1
                # HELP hubble_metrics_http_handler_requests_total A counter for requests to the wrapped handler.
                # TYPE hubble_metrics_http_handler_requests_total counter
                hubble_metrics_http_handler_requests_total{code="200"} 2
                hubble_metrics_http_handler_requests_total{code="503"} 1

                """))
        #expect(text.hasSuffix("hubble_metrics_http_handler_requests_total{code=\"503\"} 1\n"))
    }

    @Test func collectorsAreSortedEscapedAndValidated() throws {
        let e = try TestSupport.engine("icmp", MetricsEngineOptions(selfMetrics: false), flows: [Fixtures.icmpEcho4])
        try e.registerCollector(
            name: "spyglass_datapath_events_total", help: "Events read\nfrom the ring \\ buffer", type: .counter
        ) {
            [
                MetricSample(labels: ["program": "tc", "dir": "ingress"], value: 1e6),
                MetricSample(labels: ["program": "tc", "dir": "egress"], value: 3)
            ]
        }
        try e.registerCollector(name: "aaa_gauge", help: "First", type: .gauge) { [MetricSample(value: 0.5)] }
        try e.registerCollector(name: "zzz_empty", help: "Never shown", type: .gauge) { [] }
        #expect(throws: MetricsRegistrationError.duplicateName("hubble_icmp_total")) {
            try e.registerCollector(name: "hubble_icmp_total", help: "", type: .counter) { [] }
        }
        #expect(throws: MetricsRegistrationError.duplicateName("aaa_gauge")) {
            try e.registerCollector(name: "aaa_gauge", help: "", type: .gauge) { [] }
        }
        #expect(throws: MetricsRegistrationError.invalidName("1bad")) {
            try e.registerCollector(name: "1bad", help: "", type: .gauge) { [] }
        }
        #expect(throws: MetricsRegistrationError.unsupportedType(name: "h", type: .histogram)) {
            try e.registerCollector(name: "h", help: "", type: .histogram) { [] }
        }
        #expect(
            TestSupport.text(e, .prometheusText) == """
                # HELP aaa_gauge First
                # TYPE aaa_gauge gauge
                aaa_gauge 0.5
                # HELP hubble_icmp_total Number of ICMP messages
                # TYPE hubble_icmp_total counter
                hubble_icmp_total{family="IPv4",type="EchoRequest"} 1
                # HELP spyglass_datapath_events_total Events read\\nfrom the ring \\\\ buffer
                # TYPE spyglass_datapath_events_total counter
                spyglass_datapath_events_total{dir="egress",program="tc"} 3
                spyglass_datapath_events_total{dir="ingress",program="tc"} 1e+06

                """)
        #expect(
            TestSupport.text(e, .openMetrics).hasSuffix(
                """
                # HELP spyglass_datapath_events Events read\\nfrom the ring \\\\ buffer
                # TYPE spyglass_datapath_events counter
                spyglass_datapath_events_total{dir="egress",program="tc"} 3.0
                spyglass_datapath_events_total{dir="ingress",program="tc"} 1e+06
                # EOF

                """))
    }

    @Test func labelValuesAreEscaped() throws {
        let odd = Endpoint(namespace: "a\"b\\c\nd")
        let f = Flow(verdict: .dropped, source: odd, eventType: CiliumEventType(type: 1, subType: 0))
        let e = try TestSupport.engine(
            "drop:sourceContext=namespace", MetricsEngineOptions(selfMetrics: false), flows: [f])
        #expect(
            TestSupport.text(e, .prometheusText).contains(
                #"hubble_drop_total{protocol="Unknown L4",reason="DROP_REASON_UNKNOWN",source="a\"b\\c\nd"} 1"#))
    }

    @Test func sameLabelSetIsOneSeriesWhateverTheOrder() {
        let fam = MetricFamily(name: "x_total", help: "h", type: .counter, labelNames: ["b", "a", "c"])
        fam.add(1, labels: ["a": "1", "b": "2", "c": "3"], now: 0)
        fam.add(1, labels: ["c": "3", "b": "2", "a": "1"], now: 0)
        fam.add(1, labels: ["b": "2", "c": "3", "a": "1"], now: 0)
        #expect(fam.liveSeries == 1)
        var out: [UInt8] = []
        fam.render(.prometheusText, into: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"1\",b=\"2\",c=\"3\"} 3\n")
    }

    @Test func emptyVersusAbsentValuesAndSeparatorsDoNotCollide() {
        let fam = MetricFamily(name: "x_total", help: "h", type: .counter, labelNames: ["a", "b"])
        fam.add(1, labels: ["a": "xy", "b": ""], now: 0)
        fam.add(1, labels: ["a": "x", "b": "y"], now: 0)
        fam.add(1, labels: ["a": "", "b": "xy"], now: 0)
        #expect(fam.liveSeries == 3)
        #expect(fam.snapshot().map(\.labels) == [["", "xy"], ["x", "y"], ["xy", ""]])
    }

    @Test func exemplarLimitAndLatestWins() throws {
        #expect(Exemplar(traceID: String(repeating: "a", count: 121), value: 1, timestampNanos: 0) != nil)
        #expect(Exemplar(traceID: String(repeating: "a", count: 122), value: 1, timestampNanos: 0) == nil)
        #expect(Exemplar(traceID: "", value: 1, timestampNanos: 0) == nil)
        func resp(_ id: String?, _ secs: Int64) -> Flow {
            var f = Fixtures.httpResponse200
            f.traceContext = id.map { TraceContext(traceID: $0) }
            f.time = Timestamp(seconds: secs, nanos: 0)
            return f
        }
        let tooLong = String(repeating: "f", count: 200)
        let e = try TestSupport.engine(
            "httpV2:exemplars=true", MetricsEngineOptions(selfMetrics: false),
            flows: [
                resp(Fixtures.trace1, 100), resp(Fixtures.trace2, 200), resp(nil, 300), resp(tooLong, 400)
            ])
        let om = TestSupport.text(e, .openMetrics)
        #expect(om.contains(#"status="200"} 4.0 # {traceID="0af7651916cd43dd8448eb211c80319c"} 1.0 200.0"#))
        #expect(om.contains(#"le="0.025"} 4 # {traceID="0af7651916cd43dd8448eb211c80319c"} 0.012 200.0"#))
        #expect(!TestSupport.text(e, .prometheusText).contains("traceID"))
        // Without exemplars=true nothing is recorded.
        let off = try TestSupport.engine(
            "httpV2", MetricsEngineOptions(selfMetrics: false), flows: [resp(Fixtures.trace1, 1)])
        #expect(!TestSupport.text(off, .openMetrics).contains("traceID"))
    }

    @Test func exemplarBeyondLastBucketGoesToInf() throws {
        var f = Fixtures.httpResponse200
        f.l7?.latencyNs = 20_000_000_000
        let e = try TestSupport.engine("httpV2:exemplars=true", MetricsEngineOptions(selfMetrics: false), flows: [f])
        #expect(
            TestSupport.text(e, .openMetrics).contains(
                #"le="+Inf"} 1 # {traceID="4bf92f3577b34da6a3ce929d0e0e4736"} 20.0 1.7000000015e+09"#))
    }

    @Test func customBuckets() throws {
        let opts = MetricsEngineOptions(
            histogramBuckets: ["hubble_http_request_duration_seconds": [0.5, 0.1, 1, 60, .infinity]], selfMetrics: false
        )
        let e = try TestSupport.engine("httpV2", opts, flows: [Fixtures.httpResponse503])
        let text = TestSupport.text(e, .prometheusText)
        let les = text.split(separator: "\n").filter { $0.contains("_bucket") }.map {
            $0.split(separator: "le=\"")[1].split(separator: "\"")[0]
        }
        #expect(les == ["0.5", "1", "60", "+Inf"])  // non-increasing 0.1 and the explicit +Inf are dropped
    }

    @Test func largeCountsUseGoFloatInTextAndIntegersInOpenMetrics() {
        let fam = MetricFamily(name: "h_seconds", help: "h", type: .histogram, labelNames: [], buckets: [1])
        for _ in 0..<1_000_000 { fam.observe(0.5, labels: [:], now: 0) }
        var text: [UInt8] = [], om: [UInt8] = []
        fam.render(.prometheusText, into: &text)
        fam.render(.openMetrics, into: &om)
        #expect(
            String(decoding: text, as: UTF8.self) == """
                # HELP h_seconds h
                # TYPE h_seconds histogram
                h_seconds_bucket{le="1"} 1e+06
                h_seconds_bucket{le="+Inf"} 1e+06
                h_seconds_sum 500000
                h_seconds_count 1e+06

                """)
        #expect(
            String(decoding: om, as: UTF8.self).contains(
                "h_seconds_bucket{le=\"1.0\"} 1000000\nh_seconds_bucket{le=\"+Inf\"} 1000000\nh_seconds_sum 500000.0\nh_seconds_count 1000000\n"
            ))
    }
}
