import Foundation
import SpyglassAgent
import SpyglassFlow
import SpyglassLab
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// Overload (issue #10, part 3): a burst that overflows the ring buffer, a cardinality attack, L7 floods. Every
/// loss is counted and the agent keeps serving.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct OverloadTests {
    /// Packets the kernel counted on a root-namespace interface: received (what tc ingress sees) plus transmitted
    /// and dropped at transmit (tc egress runs before the veth can drop).
    static func interfacePackets(_ name: String) -> Int {
        ["rx_packets", "tx_packets", "tx_dropped"].reduce(0) { sum, file in
            let text = (try? String(contentsOfFile: "/sys/class/net/\(name)/statistics/\(file)", encoding: .utf8)) ?? ""
            return sum + (Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
        }
    }

    /// One settled scrape and the interface's packet count at that moment: the interface counters are read before and
    /// after the scrape and the pair is kept only when no packet (an ARP or IPv6 neighbour message) crossed between.
    static func snapshot(_ port: Int, _ interface: String) throws -> (Accounting, Int) {
        var last: (Accounting, Int)?
        for _ in 0..<50 {
            let ifBefore = interfacePackets(interface)
            let accounting = Accounting(try scrapeMetrics(port) { Accounting($0).settled })
            last = (accounting, ifBefore)
            if interfacePackets(interface) == ifBefore { break }
        }
        return last!
    }

    /// The counters that account for every packet, from one scrape.
    struct Accounting: CustomStringConvertible {
        var packets = 0.0, events = 0.0, aggregated = 0.0, nonIP = 0.0, ringFull = 0.0
        var flows = 0.0, l7Only = 0.0, queueLost = 0.0, decodeErrors = 0.0, lostRing = 0.0, lostQueue = 0.0
        init(_ m: PrometheusText) {
            packets = m.value("spyglass_datapath_packets_total")
            events = m.value("spyglass_datapath_events_total")
            aggregated = m.value("spyglass_datapath_aggregated_packets_total")
            nonIP = m.value("spyglass_datapath_non_ip_packets_total")
            ringFull = m.value("spyglass_datapath_ring_buffer_full_total")
            flows = m.value("spyglass_flows_processed_total", ["kind": "l3_l4"])
            l7Only = m.value("spyglass_l7_only_events_total")
            queueLost = m.value("spyglass_event_queue_lost_total")
            decodeErrors = m.value("spyglass_decode_errors_total")
            lostRing = m.value("hubble_lost_events_total", ["source": "perf_event_ring_buffer"])
            lostQueue = m.value("hubble_lost_events_total", ["source": "observer_events_queue"])
        }
        /// Every event read is a flow, a decode error or a queue loss, and the loss counters are published.
        var settled: Bool {
            events == flows + l7Only + decodeErrors + queueLost && lostRing == ringFull && lostQueue == queueLost
        }
        var description: String {
            "packets \(Int(packets)) = events \(Int(events)) + aggregated \(Int(aggregated)) + non-IP \(Int(nonIP)) + ring full \(Int(ringFull)); "
                + "events = flows \(Int(flows)) + L7-only \(Int(l7Only)) + decode errors \(Int(decodeErrors)) + queue lost \(Int(queueLost)); "
                + "hubble_lost_events_total ring \(Int(lostRing)) queue \(Int(lostQueue))"
        }
    }

    enum Bottleneck: String, CaseIterable { case ringBuffer, slowConsumer }

    /// A UDP burst (up to 300000 datagrams in 3 s) against a 16 KiB ring buffer (reservations fail in the kernel), or
    /// against a 1 MiB ring buffer and a 2-batch queue (the flow pipeline, slower than the sender, falls behind and
    /// whole batches are refused). Either way: packets on the interface = flows + ring-buffer losses + queue losses
    /// + non-IP frames, exactly, and the agent keeps observing and serving afterwards.
    @Test(arguments: Bottleneck.allCases)
    func burstLossesAreCountedExactlyAndTheAgentRecovers(_ bottleneck: Bottleneck) async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.35.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.35.3/24")
            let http = try lab.spawn(
                in: server, ["python3", "-m", "http.server", "8080", "--bind", server.ipv4], timeout: .seconds(90))
            let sink = try lab.spawn(
                in: server, ["python3", "-c", DemoScripts.udpSink, server.ipv4, "9999"], timeout: .seconds(90))
            defer { [http, sink].forEach { _ = $0.terminate() } }
            var config = AgentConfig()
            config.interfaces = [client.hostInterface]
            config.metricsServer = "127.0.0.1:0"
            config.datapath.aggregation = .none
            switch bottleneck {
            case .ringBuffer:
                config.datapath.ringBufferBytes = 16 << 10
                config.datapath.wakeupBytes = 4 << 10  // below the ring size, or the reader is only woken by timeouts
            case .slowConsumer:
                config.datapath.ringBufferBytes = 1 << 20
                config.eventQueueBatches = 2
            }
            config.dropsEnabled = false
            config.interfaceRescanMs = 200
            try await withStartedAgent(config) { agent in
                let port = agent.serverPort
                // Settled before: the pods' own start-up chatter (IGMP reports) is in both counts.
                Thread.sleep(forTimeInterval: 0.5)
                let (before, ifBefore) = try Self.snapshot(port, client.hostInterface)

                let burst = try lab.run(
                    in: client, ["python3", "-c", OverloadScripts.udpBurst, server.ipv4, "300000", "3"],
                    timeout: .seconds(15))
                #expect(burst.succeeded, "\(burst)")
                let sent = Int(burst.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0

                let (after, ifAfter) = try Self.snapshot(port, client.hostInterface)
                let onWire = Double(ifAfter - ifBefore)
                let d = { (k: KeyPath<Accounting, Double>) in after[keyPath: k] - before[keyPath: k] }
                print("burst (\(bottleneck)): sent \(sent), on the interface \(Int(onWire)); \(after)")
                #expect(after.settled, "\(after)")
                switch bottleneck {
                case .ringBuffer: #expect(d(\.ringFull) > 0, "a 16 KiB ring buffer overflows under the burst: \(after)")
                case .slowConsumer: #expect(d(\.queueLost) > 0, "a 2-batch queue overflows under the burst: \(after)")
                }
                #expect(d(\.lostQueue) == d(\.queueLost), "hubble_lost_events_total counts every queue loss")
                #expect(d(\.lostRing) == d(\.ringFull), "hubble_lost_events_total counts every ring-buffer loss")
                #expect(d(\.packets) == onWire, "the tc programs ran on every packet of the interface")
                #expect(d(\.packets) == d(\.events) + d(\.aggregated) + d(\.nonIP) + d(\.ringFull))
                #expect(
                    onWire == d(\.flows) + d(\.ringFull) + d(\.queueLost) + d(\.nonIP) + d(\.decodeErrors),
                    "sent = seen + lost: \(Int(onWire)) on the wire")
                #expect(Double(sent) <= onWire, "every datagram sent crossed the watched interface")

                // It recovers: a normal connection afterwards is observed and /metrics answers quickly.
                let curl = try lab.run(
                    in: client,
                    [
                        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                        "http://\(server.ipv4):8080/"
                    ])
                #expect(curl.stdout == "200", "\(curl)")
                let syn = ["protocol": "TCP", "subtype": "from-endpoint"]
                let m = try scrapeMetrics(port) {
                    $0.value("hubble_flows_processed_total", syn) >= 5 && Accounting($0).settled
                }
                #expect(
                    m.value("hubble_flows_processed_total", syn) >= 5, "the HTTP exchange after the burst is observed")
                #expect(m.value("hubble_tcp_flags_total", ["flag": "SYN"]) >= 1)
                let (_, seconds) = try timedScrape(port)
                #expect(seconds < 1)
            }
        }
    }

    /// At aggregation medium, packets folded as traces but carrying HTTP are sent for the L7 parser only: they make
    /// no L3/L4 flow, and are counted apart so the books still balance.
    @Test func accountingIsExactAtMediumAggregationWithL7() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.38.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.38.3/24")
            let http = try lab.spawn(
                in: server, ["python3", "-m", "http.server", "8080", "--bind", server.ipv4, "--protocol", "HTTP/1.1"],
                timeout: .seconds(60))
            defer { _ = http.terminate() }
            var config = AgentConfig()
            config.interfaces = [client.hostInterface]
            config.metricsServer = "127.0.0.1:0"
            config.dropsEnabled = false
            try await withStartedAgent(config) { agent in
                let up = try lab.run(
                    in: client,
                    [
                        "bash", "-c",
                        "for i in $(seq 1 50); do curl -s -o /dev/null http://\(server.ipv4):8080/ && exit 0; sleep 0.1; done; exit 1"
                    ])
                #expect(up.succeeded, "\(up)")
                // Five requests on one keep-alive connection: after the first, PSH is no longer new in either
                // direction, so aggregation folds the segments and they travel as L7-only events.
                let url = "http://\(server.ipv4):8080/"
                let curl = try lab.run(
                    in: client,
                    [
                        "curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o",
                        "/dev/null", url, url, url, url, url
                    ])
                #expect(curl.succeeded, "\(curl)")
                let m = try scrapeMetrics(agent.serverPort) { m in
                    Accounting(m).settled && m.value("hubble_http_requests_total") >= 6
                }
                let a = Accounting(m)
                #expect(a.settled, "\(a)")
                #expect(a.l7Only >= 8, "4 follow-up requests and 4 responses folded as traces: \(a)")
                #expect(a.aggregated > 0)
                #expect(a.packets == a.events + a.aggregated + a.nonIP + a.ringFull, "\(a)")
                #expect(m.value("hubble_http_requests_total") == 6, "every request is parsed, folded or not")
            }
        }
    }

    /// A bounded port scan (one SYN to each of the 65535 ports, from 256 spoofed sources) against families keyed by
    /// source IP and port, with a cap of 200 series per family.
    @Test func cardinalityAttackIsHeldAtTheCaps() throws {
        try withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.36.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.36.3/24")
            let cap = 200
            let agent = try AgentProcess([
                "--interface", client.hostInterface, "--hubble-metrics-server", "127.0.0.1:0", "--monitor-aggregation",
                "none",
                "--drop-events", "false", "--hubble-metrics-max-series", "\(cap)",
                "--hubble-metrics", "port-distribution:sourceContext=ip flow:sourceContext=ip tcp:sourceContext=ip"
            ])
            let port = try #require(agent.waitForPort(), "\(agent.log)")
            _ = try timedScrape(port)
            let rssBefore = try #require(agent.residentKiB)

            let scan = try lab.spawn(
                in: client, ["python3", "-c", OverloadScripts.synScan, server.ipv4, "256", "20"], timeout: .seconds(30))
            defer { _ = scan.terminate() }
            // Scrapes during the attack: each answers within a second.
            var slowest = 0.0, largest = 0, during = 0
            while scan.isRunning && during < 200 {
                let (text, seconds) = try timedScrape(port)
                slowest = max(slowest, seconds)
                largest = max(largest, text.utf8.count)
                during += 1
                Thread.sleep(forTimeInterval: 0.1)
            }
            let result = try #require(scan.wait(timeout: .seconds(25)), "the scan did not finish")
            #expect(result.succeeded, "\(result)")
            #expect(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == 65535, "\(result)")

            let families = ["hubble_port_distribution_total", "hubble_flows_processed_total", "hubble_tcp_flags_total"]
            let m = try scrapeMetrics(port) { m in
                m.value("spyglass_metrics_series_refused_total", ["metric": "hubble_port_distribution_total"]) > 0
                    && m.value("spyglass_datapath_events_total") >= 65535
                    && m.value("spyglass_datapath_events_total") == m.value(
                        "spyglass_flows_processed_total", ["kind": "l3_l4"])
                        + m.value("spyglass_event_queue_lost_total") + m.value("spyglass_decode_errors_total")
            }
            let (text, seconds) = try timedScrape(port)
            slowest = max(slowest, seconds)
            largest = max(largest, text.utf8.count)
            let rssAfter = try #require(agent.residentKiB)
            for family in families {
                let live = m.series(family).count
                #expect(live == cap, "\(family): \(live) series exposed, held at the cap")
                #expect(m.value("spyglass_metrics_series", ["metric": family]) <= Double(cap))
                #expect(
                    m.value("spyglass_metrics_series_refused_total", ["metric": family]) > 0,
                    "\(family) reached the cap")
            }
            // Every SYN has its own port: all but the first `cap` flows were refused. The flows are what the pipeline
            // kept up with (the rest is counted in spyglass_event_queue_lost_total); besides the SYNs only the pods'
            // own IGMP reports are flows (a handful).
            let flows = m.value("spyglass_flows_processed_total", ["kind": "l3_l4"])
            let refused = m.value("spyglass_metrics_series_refused_total", ["metric": "hubble_port_distribution_total"])
            #expect(
                refused <= flows - Double(cap) && refused >= flows - Double(cap) - 16,
                "\(refused) refused of \(flows) flows")
            #expect(slowest < 1, "slowest scrape \(slowest) s")
            // Three families of at most 200 series plus Spyglass's own: well under 1 MiB.
            #expect(largest < 1 << 20, "largest scrape \(largest) bytes")
            // Refused label sets are not stored, so memory does not follow the attack: what may grow is the 8 MiB
            // ring buffer's pages, event batches touched for the first time (256 KiB each) and 600 series; 48 MiB
            // is several times that, and far below what 65535 × 256 stored label sets would take.
            #expect(rssAfter - rssBefore < 48 << 10, "RSS grew from \(rssBefore) KiB to \(rssAfter) KiB")
            print(
                "cardinality attack: \(during) scrapes during the scan, slowest \(String(format: "%.3f", slowest)) s, largest \(largest) bytes; RSS \(rssBefore) → \(rssAfter) KiB; refused port-distribution \(Int(refused)) of \(Int(flows)) flows, queue lost \(Int(m.value("spyglass_event_queue_lost_total")))"
            )
            #expect(agent.signal(SIGTERM, timeout: 5) != nil)
        }
    }

    /// The real agent under L7 floods much larger than its smallest byte budget (`--l7-memory-limit-mb 4`): the
    /// tables stay inside their byte shares, evictions for bytes are counted, and the agent's own resident memory
    /// (its process alone) stays far under the DaemonSet's 512 Mi limit and barely moves during the floods.
    @Test func l7FloodsKeepTheAgentProcessSmall() throws {
        try withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.38.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.38.3/24")
            let silent = try lab.spawn(
                in: server, ["python3", "-c", OverloadScripts.silentServer, server.ipv4, "8080"], timeout: .seconds(90))
            defer { _ = silent.terminate() }
            let agent = try AgentProcess([
                "--interface", client.hostInterface, "--hubble-metrics-server", "127.0.0.1:0",
                "--monitor-aggregation", "none", "--drop-events", "false", "--l7-memory-limit-mb", "4"
            ])
            let port = try #require(agent.waitForPort(), "\(agent.log)")
            let up = try lab.run(
                in: client,
                [
                    "bash", "-c",
                    "for i in $(seq 1 50); do (exec 3<>/dev/tcp/\(server.ipv4)/8080) 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
                ])
            #expect(up.succeeded, "\(up)")
            _ = try timedScrape(port)
            let rssBefore = try #require(agent.residentKiB)
            let queries = 20000, conns = 300
            let dns = try lab.run(
                in: client, ["python3", "-c", OverloadScripts.dnsFlood, server.ipv4, "\(queries)", "20"],
                timeout: .seconds(30))
            #expect(dns.succeeded, "\(dns)")
            let httpFlood = try lab.spawn(
                in: client, ["python3", "-c", OverloadScripts.halfOpenHTTP, server.ipv4, "8080", "\(conns)", "4"],
                timeout: .seconds(30))
            defer { _ = httpFlood.terminate() }
            let m = try scrapeMetrics(port) { m in
                m.value("spyglass_l7_messages_total", ["protocol": "dns", "type": "request"]) >= Double(queries)
                    && m.value("spyglass_l7_messages_total", ["protocol": "http", "type": "request"])
                        >= Double(2 * conns)
            }
            let rssAfter = try #require(agent.residentKiB)
            let limits = L7Limits(memoryLimit: L7Limits.minimumMemoryLimit)
            for (table, share) in [
                (L7Table.dnsPending, limits.maxPendingDNSBytes), (.httpPending, limits.maxPendingHTTPBytes),
                (.dnsClaims, limits.maxDNSClaimBytes)
            ] {
                let bytes = m.value("spyglass_l7_state_bytes", ["table": table.rawValue])
                #expect(bytes <= Double(share), "\(table.rawValue): \(bytes) bytes of its \(share)-byte share")
            }
            let evictedForBytes = m.series("spyglass_l7_evictions_total").filter { $0.labels["reason"] == "bytes" }
                .reduce(0) { $0 + $1.value }
            // Far under the 512 Mi limit: the agent at rest is a few tens of MiB; the L7 state may add its 4 MiB, the
            // ring buffer's 8 MiB of pages and event batches touched for the first time may add the rest.
            #expect(rssAfter < 160 << 10, "agent RSS \(rssAfter) KiB under the L7 floods")
            #expect(rssAfter - rssBefore < 48 << 10, "agent RSS grew from \(rssBefore) KiB to \(rssAfter) KiB")
            print(
                "L7 floods, real agent (--l7-memory-limit-mb 4): RSS \(rssBefore) → \(rssAfter) KiB; "
                    + "\(queries) DNS queries, \(conns) half-open HTTP connections; evicted for bytes \(Int(evictedForBytes))"
            )
            #expect(agent.signal(SIGTERM, timeout: 5) != nil)
        }
    }

    /// Unanswered DNS queries and never-answered, half-open HTTP requests: the pairing tables stay at their caps
    /// (entries and bytes), evictions are counted, every request is pending or counted unanswered, and the agent's
    /// resident memory stays far under the DaemonSet's 512 Mi limit.
    @Test func l7FloodsStayAtTheCaps() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.37.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.37.3/24")
            let silent = try lab.spawn(
                in: server, ["python3", "-c", OverloadScripts.silentServer, server.ipv4, "8080"], timeout: .seconds(90))
            defer { _ = silent.terminate() }
            var config = AgentConfig()
            config.interfaces = [client.hostInterface]
            config.metricsServer = "127.0.0.1:0"
            config.datapath.aggregation = .none
            config.dropsEnabled = false
            let limits = L7Limits(
                maxPendingDNSQueries: 64, maxHTTPConnections: 16, maxPendingRequestsPerConnection: 4,
                maxPendingHTTPRequests: 24, maxHTTPHeaderBytes: 1024, maxReassemblyBytes: 4096,
                memoryLimit: L7Limits.minimumMemoryLimit)
            config.l7?.limits = limits
            try await withStartedAgent(config) { agent in
                let rssBefore = try #require(residentKiB())
                // Wait (bounded) until the silent server listens.
                let up = try lab.run(
                    in: client,
                    [
                        "bash", "-c",
                        "for i in $(seq 1 50); do (exec 3<>/dev/tcp/\(server.ipv4)/8080) 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
                    ])
                #expect(up.succeeded, "\(up)")
                let dns = try lab.run(
                    in: client, ["python3", "-c", OverloadScripts.dnsFlood, server.ipv4, "3000", "10"],
                    timeout: .seconds(20))
                #expect(dns.succeeded, "\(dns)")
                let conns = 120
                let httpFlood = try lab.spawn(
                    in: client, ["python3", "-c", OverloadScripts.halfOpenHTTP, server.ipv4, "8080", "\(conns)", "4"],
                    timeout: .seconds(30))
                defer { _ = httpFlood.terminate() }
                func entries(_ m: PrometheusText, _ t: L7Table) -> Double {
                    m.value("spyglass_l7_state_entries", ["table": t.rawValue])
                }
                func evictions(_ m: PrometheusText, _ t: L7Table) -> Double {
                    m.value("spyglass_l7_evictions_total", ["table": t.rawValue])
                }
                func bytes(_ m: PrometheusText, _ t: L7Table) -> Double {
                    m.value("spyglass_l7_state_bytes", ["table": t.rawValue])
                }
                // While the connections are held open: the tables are full, never over.
                let m = try scrapeMetrics(agent.serverPort) { m in
                    m.value("spyglass_l7_messages_total", ["protocol": "dns", "type": "request"]) >= 3000
                        && m.value("spyglass_l7_messages_total", ["protocol": "http", "type": "request"])
                            >= Double(2 * conns)
                }
                let dnsQueries = m.value("spyglass_l7_messages_total", ["protocol": "dns", "type": "request"])
                let httpRequests = m.value("spyglass_l7_messages_total", ["protocol": "http", "type": "request"])
                #expect(dnsQueries == 3000, "every query parsed")
                #expect(entries(m, .dnsPending) <= 64 && entries(m, .dnsPending) > 0)
                #expect(evictions(m, .dnsPending) >= 3000 - 64)
                #expect(
                    m.value("spyglass_l7_unanswered_total", ["protocol": "dns"]) + entries(m, .dnsPending) == dnsQueries
                )
                #expect(httpRequests >= Double(2 * conns))
                #expect(entries(m, .httpConnections) <= 16 && entries(m, .httpConnections) > 0)
                #expect(entries(m, .httpPending) <= 24)
                #expect(entries(m, .reassemblyBytes) <= 4096)
                #expect(evictions(m, .httpConnections) > 0)
                #expect(
                    m.value("spyglass_l7_unanswered_total", ["protocol": "http"]) + entries(m, .httpPending)
                        == httpRequests)
                // The byte gauges are live and within their shares of the limit.
                #expect(bytes(m, .dnsPending) > 0 && bytes(m, .dnsPending) <= Double(limits.maxPendingDNSBytes))
                #expect(bytes(m, .httpPending) > 0 && bytes(m, .httpPending) <= Double(limits.maxPendingHTTPBytes))
                #expect(bytes(m, .dnsClaims) <= Double(limits.maxDNSClaimBytes))
                #expect(
                    m.series("spyglass_l7_evictions_total").allSatisfy {
                        ["entries", "bytes"].contains($0.labels["reason"] ?? "")
                    })
                // The agent runs in this process, whose resident set also holds every earlier test's leftovers: what
                // the floods add is the measure here (the real agent's own RSS is l7FloodsKeepTheAgentProcessSmall's).
                let rss = try #require(residentKiB())
                #expect(rss - rssBefore < 64 << 10, "RSS grew from \(rssBefore) KiB to \(rss) KiB under the L7 floods")
                print("L7 floods: RSS \(rssBefore) → \(rss) KiB with the agent in the test process")
                print(
                    "L7 floods: \(Int(dnsQueries)) DNS queries, \(Int(httpRequests)) HTTP requests; "
                        + L7Table.allCases.map {
                            "\($0.rawValue) \(Int(entries(m, $0))) (evicted \(Int(evictions(m, $0))))"
                        }.joined(separator: ", "))
                let (_, seconds) = try timedScrape(agent.serverPort)
                #expect(seconds < 1)
            }
        }
    }
}

/// The slow-consumer side of overload, without a kernel: when the flow pipeline falls behind, whole batches are
/// refused at the queue and every event in them is counted (drop events apart), and the queue works again as soon
/// as the consumer catches up. (The reader hands batches over with `push`, exactly as here.)
@Suite struct EventQueueOverloadTests {
    /// A batch of `trace` trace records and `drop` drop records (kind at byte 2, as in the event header).
    func batch(_ queue: EventQueue, trace: Int, drop: Int) -> EventBatch {
        let b = queue.takeEmpty()
        for kind in Array(repeating: UInt16(1), count: trace) + Array(repeating: UInt16(2), count: drop) {
            var record = [UInt8](repeating: 0, count: 64)
            record.withUnsafeMutableBytes { $0.storeBytes(of: kind, toByteOffset: 2, as: UInt16.self) }
            let fitted = record.withUnsafeBytes { b.append($0.baseAddress!, length: $0.count) }
            #expect(fitted)
        }
        return b
    }

    @Test func fullQueueCountsEveryEventAndRecovers() {
        let queue = EventQueue(capacity: 2, batchBytes: 4096)
        #expect(queue.push(batch(queue, trace: 10, drop: 0)))
        #expect(queue.push(batch(queue, trace: 10, drop: 0)))
        // The consumer is stalled: the next batches are refused and counted, with their drop events apart.
        #expect(!queue.push(batch(queue, trace: 7, drop: 3)))
        #expect(!queue.push(batch(queue, trace: 5, drop: 0)))
        #expect(queue.lost == 15 && queue.lostDrops == 3)
        #expect(queue.depth == 2)
        // The same figures as the queue's self-metric families.
        let families = queue.selfMetrics()
        #expect(families.map(\.name) == ["spyglass_event_queue_depth", "spyglass_event_queue_lost_total"])
        #expect(families.first?.samples.map(\.value) == [2])
        #expect(families.last?.samples.map { "\($0.labels["kind"] ?? "?")=\($0.value)" } == ["trace=12.0", "drop=3.0"])
        // It catches up: pushes succeed again and nothing more is lost.
        for _ in 0..<2 {
            let b = queue.pop(timeoutMs: 10)
            #expect(b?.count == 10)
            if let b { queue.recycle(b) }
        }
        #expect(queue.push(batch(queue, trace: 4, drop: 1)))
        #expect(queue.pop(timeoutMs: 10)?.count == 5)
        #expect(queue.lost == 15 && queue.lostDrops == 3)
        // The queue never holds more than its capacity, however many batches arrive.
        for _ in 0..<100 { _ = queue.push(batch(queue, trace: 1, drop: 0)) }
        #expect(queue.depth == 2 && queue.lost == 15 + 98)
    }

    /// After `close` (shutdown), late batches are counted as lost, not dropped silently.
    @Test func pushesAfterCloseAreCounted() {
        let queue = EventQueue(capacity: 4, batchBytes: 4096)
        queue.close()
        #expect(!queue.push(batch(queue, trace: 3, drop: 2)))
        #expect(queue.lost == 5 && queue.lostDrops == 2)
        #expect(queue.isClosed)
    }
}
