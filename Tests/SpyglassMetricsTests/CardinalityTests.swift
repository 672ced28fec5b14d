import Foundation
import SpyglassFlow
import SpyglassTesting
import Synchronization
import Testing

@testable import SpyglassMetrics

/// The series budget (docs/hubble-compatibility.md §11.5): series caps with a refused count, idle expiry, removal by
/// endpoint.
@Suite struct CardinalityTests {
    struct XorShift: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    /// VmRSS of this process, in bytes.
    static func residentBytes() -> Int { (residentKiB() ?? 0) * 1024 }

    @Test func millionRandomFlowsStayWithinTheCap() throws {
        let cap = 1_000
        let (config, _) = try MetricsConfig.parse("port-distribution:labelsContext=source_ip,destination_ip")
        let e = MetricsEngine(config: config, options: MetricsEngineOptions(defaultSeriesLimit: cap))
        var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        var seen = Set<[UInt32]>()
        var template = Fixtures.tcpSyn
        var rssAfterFirst = 0
        for i in 0..<1_000_000 {
            let src = UInt32(truncatingIfNeeded: rng.next()), dst = UInt32(truncatingIfNeeded: rng.next())
            let port = UInt16(truncatingIfNeeded: rng.next())
            template.ip = IPHeader(
                source: IPAddress(high: UInt64(src) << 32, low: 0, isIPv6: false),
                destination: IPAddress(high: UInt64(dst) << 32, low: 0, isIPv6: false), ipVersion: .ipv4)
            template.l4 = .tcp(TCP(sourcePort: 40000, destinationPort: port, flags: [.syn]))
            e.process(template)
            // Distinctness is sampled on the first 100k only, so the test's own set does not blur the memory figure.
            if i < 100_000 { seen.insert([src, dst, UInt32(port)]) }
            if i == 100_000 { rssAfterFirst = Self.residentBytes() }
        }
        // Resident memory is flat once the cap is reached: 900k more refused label sets cost (almost) nothing.
        let rssAtEnd = Self.residentBytes()
        print(
            "budget: resident \(rssAfterFirst / 1024) KiB after 100k flows, \(rssAtEnd / 1024) KiB after 1M (cap \(cap) series)"
        )
        // (Not under a sanitizer: AddressSanitizer's quarantine keeps freed memory resident on purpose.)
        if Sanitizers.inactive {
            #expect(
                rssAtEnd - rssAfterFirst < 8 << 20, "resident memory grew by \((rssAtEnd - rssAfterFirst) / 1024) KiB")
        }
        let family = try #require(e.handlerFamilies.first)
        #expect(family.liveSeries == cap)
        // Every flow whose label set is not among the first `cap` distinct ones was refused once.
        let accepted = family.snapshot().reduce(0.0) { $0 + $1.value }
        #expect(Double(family.refusedSeries) + accepted == 1_000_000)
        #expect(seen.count > 99_900)  // random label sets are (almost) all distinct
        let text = TestSupport.text(e, .prometheusText)
        #expect(text.contains("spyglass_metrics_series{metric=\"hubble_port_distribution_total\"} 1000\n"))
        #expect(
            text.contains(
                "spyglass_metrics_series_refused_total{metric=\"hubble_port_distribution_total\"} \(GoFloat.text(Double(family.refusedSeries)))\n"
            ))
    }

    @Test func perFamilyLimitOverride() throws {
        let opts = MetricsEngineOptions(defaultSeriesLimit: 100, seriesLimits: ["hubble_tcp_flags_total": 2])
        let e = try TestSupport.engine("tcp flow", opts)
        let tcp = try #require(e.handlerFamilies.first { $0.name == "hubble_tcp_flags_total" })
        #expect(tcp.liveSeries == 2)
        #expect(tcp.refusedSeries == 2)  // fixture order: SYN and SYN-ACK are created, FIN and RST refused
        let flow = try #require(e.handlerFamilies.first { $0.name == "hubble_flows_processed_total" })
        #expect(flow.refusedSeries == 0)
        // Existing series keep counting at the cap.
        e.process(Fixtures.tcpSyn)
        #expect(tcp.snapshot().first { $0.labels == ["SYN", "IPv4"] }?.value == 2)
    }

    final class FakeClock: Sendable {
        let nanos = Atomic<Int64>(1_000_000_000)
        func advance(seconds: Int64) { nanos.wrappingAdd(seconds * 1_000_000_000, ordering: .relaxed) }
        func now() -> Int64 { nanos.load(ordering: .relaxed) }
    }

    @Test func idleSeriesExpireOnRenderOrSweep() throws {
        let clock = FakeClock()
        let opts = MetricsEngineOptions(
            idleSeriesTTL: .seconds(300), selfMetrics: false, monotonicClock: { clock.now() })
        let e = try TestSupport.engine("tcp", opts, flows: [Fixtures.tcpSyn, Fixtures.tcpFin])
        let fam = try #require(e.handlerFamilies.first)
        #expect(fam.liveSeries == 2)
        clock.advance(seconds: 200)
        e.process(Fixtures.tcpSyn)  // refreshes SYN only
        clock.advance(seconds: 200)  // FIN idle 400 s, SYN idle 200 s
        #expect(fam.liveSeries == 2)  // nothing expires on the hot path
        e.process(Fixtures.tcpRst)
        #expect(fam.liveSeries == 3)
        let text = TestSupport.text(e, .prometheusText)
        #expect(!text.contains("flag=\"FIN\""))
        #expect(text.contains("flag=\"SYN\"} 2") && text.contains("flag=\"RST\"} 1"))
        #expect(fam.liveSeries == 2)
        clock.advance(seconds: 301)
        #expect(e.sweepIdleSeries() == 2)
        #expect(TestSupport.text(e, .prometheusText) == "")
        // A re-created series starts from zero.
        e.process(Fixtures.tcpSyn)
        #expect(fam.snapshot().map(\.value) == [1])
    }

    @Test func noExpiryWithoutTTL() throws {
        let e = try TestSupport.engine("tcp", MetricsEngineOptions(selfMetrics: false))
        #expect(e.sweepIdleSeries() == 0)
        #expect(e.handlerFamilies[0].liveSeries == 4)
    }

    @Test func removeSeriesMatchesEveryEndpointContext() throws {
        let spec = [
            "flow:sourceContext=pod;destinationContext=pod-name",
            "tcp:sourceContext=ip;destinationContext=workload",
            "icmp:sourceContext=workload-name;destinationContext=namespace",
            "drop:labelsContext=source_pod,source_namespace,destination_ip",
            "port-distribution:labelsContext=destination_pod,destination_workload",
            "httpV2:sourceContext=pod;labelsContext=source_ip",
            "dns:sourceContext=namespace;destinationContext=identity"
        ].joined(separator: " ")
        let e = try TestSupport.engine(spec, MetricsEngineOptions(selfMetrics: false))
        func live() -> [String: Int] {
            Dictionary(uniqueKeysWithValues: e.handlerFamilies.map { ($0.name, $0.liveSeries) })
        }
        let before = live()
        // The client pod goes away (its workload stays: other replicas).
        let client = EndpointRef(
            namespace: "default", podName: "client-7d9f8b6c5-abcde",
            ips: [Fixtures.clientIP, Fixtures.client6])
        let removed = e.removeSeries(matching: client)
        #expect(removed > 0)
        let after = live()
        #expect(removed == before.values.reduce(0, +) - after.values.reduce(0, +))
        for fam in e.handlerFamilies {
            for s in fam.snapshot() {
                let joined = s.labels.joined(separator: " ")
                // No label that names the client pod or its IPs survives, except in contexts that are not
                // endpoint-specific (namespace, identity) or in workload labels (workload still exists).
                #expect(!joined.contains("client-7d9f8b6c5-abcde"), "\(fam.name): \(s.labels)")
                if fam.name != "hubble_dns_queries_total" && fam.name != "hubble_dns_responses_total" {
                    #expect(!s.labels.contains("10.0.0.1") && !s.labels.contains("fd00::1"), "\(fam.name): \(s.labels)")
                }
            }
        }
        // Workload-based series survive a pod removal…
        let icmp = try #require(e.handlerFamilies.first { $0.name == "hubble_icmp_total" })
        #expect(icmp.snapshot().contains { $0.labels.contains("client") })
        // …and go when the workload is gone.
        e.removeSeries(
            matching: EndpointRef(namespace: "default", podName: "client-7d9f8b6c5-abcde", workloadName: "client"))
        #expect(!icmp.snapshot().contains { $0.labels.contains("client") })
        // Namespace and identity contexts are never matched.
        let dns = try #require(e.handlerFamilies.first { $0.name == "hubble_dns_responses_total" })
        #expect(dns.liveSeries == before["hubble_dns_responses_total"])
        // labelsContext pod matching needs the namespace too when the family has it.
        let drop = try #require(e.handlerFamilies.first { $0.name == "hubble_drop_total" })
        e.process(Fixtures.dropPolicy)
        #expect(e.removeSeries(matching: EndpointRef(namespace: "other", podName: "client-7d9f8b6c5-abcde")) == 0)
        #expect(drop.liveSeries == 1)
        // Removed series are re-created from zero by new flows.
        #expect(drop.snapshot().map(\.value) == [1])
    }

    @Test func removalCorrectnessUnderSlotReuse() {
        let fam = MetricFamily(
            name: "x_total", help: "h", type: .counter, labelNames: ["a"], limit: 3,
            endpointRules: [.ip(position: 0)])
        for i in 0..<3 { fam.add(1, labels: ["a": "10.0.0.\(i)"], now: 0) }
        #expect(fam.removeSeries(matching: EndpointRef(namespace: "", podName: "", ips: [IPAddress("10.0.0.1")!])) == 1)
        fam.add(5, labels: ["a": "10.0.0.9"], now: 0)
        fam.add(1, labels: ["a": "10.0.0.0"], now: 0)
        fam.add(1, labels: ["a": "10.0.0.7"], now: 0)  // refused: at the cap again
        #expect(fam.snapshot().map(\.labels) == [["10.0.0.0"], ["10.0.0.2"], ["10.0.0.9"]])
        #expect(fam.snapshot().map(\.value) == [2, 1, 5])
        #expect(fam.refusedSeries == 1)
    }
}

/// `process` on one thread, `render` on others, `addLost` on a third, all at once.
@Suite struct ConcurrencyTests {
    @Test func concurrentProcessRenderAndLost() async throws {
        let (config, _) = try MetricsConfig.parse(MetricsConfig.defaultSpec + " flows-to-world:port")
        let e = MetricsEngine(config: config, options: MetricsEngineOptions(idleSeriesTTL: .seconds(3600)))
        let rounds = 2_000
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<rounds { for f in Fixtures.all { e.process(f) } }
            }
            for _ in 0..<2 {
                group.addTask {
                    for _ in 0..<50 {
                        _ = e.render(.openMetrics)
                        _ = e.render(.prometheusText)
                        e.recordScrape(code: 200, seconds: 0.001)
                    }
                }
            }
            group.addTask {
                for _ in 0..<rounds { e.addLost(source: "perf_event_ring_buffer", count: 1) }
            }
        }
        let text = TestSupport.text(e, .prometheusText)
        #expect(text.contains("hubble_lost_events_total{source=\"perf_event_ring_buffer\"} 2000\n"))
        #expect(text.contains("hubble_metrics_http_handler_requests_total{code=\"200\"} 100\n"))
        #expect(text.contains("hubble_tcp_flags_total{family=\"IPv4\",flag=\"SYN\"} 2000\n"))
        #expect(
            text.contains(
                "hubble_flows_processed_total{protocol=\"TCP\",subtype=\"to-endpoint\",type=\"Trace\",verdict=\"FORWARDED\"} 8000\n"
            ))
    }
}
