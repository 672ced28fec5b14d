import SpyglassFlow
import SpyglassMetrics
import SpyglassPipeline
import SpyglassTesting
import Testing

/// The agent's per-event path, driven with hand-built ring-buffer records: what reaches the metrics engine and the
/// export sink, and what the step counts, for each branch of `FlowPipelineStep.process`.
@Suite("Flow pipeline step")
struct FlowPipelineStepTests {
    typealias H = StepHarness
    let t0: UInt64 = 5_000_000_000

    @Test func traceFlowReachesMetricsAndExportEnriched() throws {
        let h = try H()
        h.step.process(
            H.trace(
                H.tcp(from: H.client, to: H.server, sport: 40000, dport: 80, flags: [.syn], seq: 1), timeNs: t0,
                isReply: false))

        let flows = h.exported
        try #require(flows.count == 1)
        let f = flows[0]
        #expect(f.type == .l3L4 && f.verdict == .forwarded)
        #expect(f.traceObservationPoint == .fromEndpoint)
        #expect(f.nodeName == "lab/node-1" && f.interface == NetworkInterface(index: 2, name: "lxc1"))
        #expect(f.l4 == .tcp(TCP(sourcePort: 40000, destinationPort: 80, flags: [.syn])))
        #expect(f.isReply == false)
        #expect(f.source?.podName == "client-1" && f.destination?.podName == "server-1", "enriched before export")
        #expect(f.time == Timestamp(seconds: 5, nanos: 0))

        let m = h.exposition()
        #expect(
            m.value(
                "hubble_flows_processed_total",
                [
                    "type": "Trace", "subtype": "from-endpoint", "verdict": "FORWARDED", "protocol": "TCP",
                    "source": "default/client-1", "destination": "default/server-1"
                ]) == 1, "enriched before the metric handlers")
        #expect(m.value("hubble_flows_processed_total") == 1)
        #expect(m.value("hubble_tcp_flags_total", ["flag": "SYN", "family": "IPv4"]) == 1)
        #expect(m.value("hubble_port_distribution_total", ["port": "80", "protocol": "TCP"]) == 1)
        #expect(h.step.counters == counters(flows: 1))
        #expect(h.step.decodeErrors.isEmpty)
    }

    @Test func dropRecordIsADroppedFlowWithItsReason() throws {
        let h = try H()
        h.step.process(
            H.drop(H.tcp(from: H.client, to: H.server, sport: 40001, dport: 80, flags: [.syn], seq: 1), timeNs: t0))

        let flows = h.exported
        try #require(flows.count == 1)
        #expect(flows[0].verdict == .dropped && flows[0].type == .l3L4)
        #expect(flows[0].dropReasonDesc == .policyDenied && flows[0].kernelDropReason == "NETFILTER_DROP")
        #expect(flows[0].source?.podName == "client-1")

        let m = h.exposition()
        #expect(m.value("hubble_drop_total", ["reason": "POLICY_DENIED", "protocol": "TCP"]) == 1)
        #expect(m.value("hubble_drop_total") == 1)
        #expect(m.value("hubble_flows_processed_total", ["type": "Drop", "verdict": "DROPPED"]) == 1)
        #expect(h.step.counters == counters(flows: 1))
    }

    @Test func dnsQueryAndResponseMakeOnePairAndNameTheAnsweredAddress() throws {
        let h = try H()
        let name = "deathstar.default.svc.cluster.local"
        h.step.process(
            H.trace(
                H.udp(from: H.client, to: H.dnsServer, sport: 40002, dport: 53, DNSWire.query(id: 0x4242, name)),
                timeNs: t0, l7: true))
        h.step.process(
            H.trace(
                H.udp(
                    from: H.dnsServer, to: H.client, sport: 53, dport: 40002,
                    DNSWire.aResponse(id: 0x4242, name, ip: [10, 0, 0, 2])),
                obs: SpyEventLayout.ObservationCode.toEndpoint, timeNs: t0 + 2_000_000, l7: true))
        // The client then connects to the answered address: that flow carries the name.
        h.step.process(
            H.trace(
                H.tcp(from: H.client, to: H.server, sport: 40003, dport: 80, flags: [.syn], seq: 1),
                timeNs: t0 + 3_000_000))

        let flows = h.exported
        // Per record, the L7 flow is handed on before the packet's own trace flow.
        try #require(flows.map(\.type) == [.l7, .l3L4, .l7, .l3L4, .l3L4])
        let request = flows[0], response = flows[2]
        #expect(request.l7?.type == .request && request.isReply == false)
        #expect(request.dns?.query == "\(name).")
        #expect(response.l7?.type == .response && response.isReply == true)
        #expect(response.l7?.latencyNs == 2_000_000)
        #expect(response.dns?.query == "\(name).")
        #expect(response.dns?.ips == ["10.0.0.2"] && response.dns?.rcode == 0)
        #expect(
            response.source?.podName == nil && response.destination?.podName == "client-1", "L7 flows are enriched too")
        #expect(flows[4].destinationNames == ["\(name)."], "a later flow to the answered address is named")
        #expect(flows[1].destinationNames.isEmpty, "the DNS server's own address was not answered")

        let m = h.exposition()
        #expect(m.value("hubble_dns_queries_total", ["rcode": "", "qtypes": "A"]) == 1)
        #expect(m.value("hubble_dns_queries_total") == 1)
        #expect(m.value("hubble_dns_responses_total", ["rcode": "No Error", "qtypes": "A", "ips_returned": "1"]) == 1)
        #expect(m.value("hubble_dns_responses_total") == 1)
        #expect(m.value("hubble_flows_processed_total", ["type": "L7", "subtype": "DNS"]) == 2)
        #expect(m.value("hubble_flows_processed_total", ["type": "Trace"]) == 3)
        #expect(h.step.counters == counters(flows: 3, l7Flows: 2))
        let stats = try #require(h.step.expire(nowNs: t0 + 3_000_000))
        #expect(stats.dnsQueries == 1 && stats.dnsResponses == 1 && stats.dnsUnmatchedResponses == 0)
        #expect(stats.entries[.names] == 1)
    }

    @Test func httpRequestAndResponsePairWithLatencyAndReporter() throws {
        let h = try H()
        let request = Array("GET /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nShip landed\n".utf8)
        h.step.process(
            H.trace(
                H.tcp(
                    from: H.client, to: H.server, sport: 40004, dport: 80, flags: [.ack, .psh], seq: 1000, ack: 5000,
                    request),
                timeNs: t0, l7: true))
        h.step.process(
            H.trace(
                H.tcp(
                    from: H.server, to: H.client, sport: 80, dport: 40004, flags: [.ack, .psh], seq: 5000,
                    ack: 1000 + UInt32(request.count), response),
                obs: SpyEventLayout.ObservationCode.toEndpoint, timeNs: t0 + 5_000_000, l7: true))

        let l7 = h.exported.filter { $0.type == .l7 }
        try #require(l7.count == 2)
        #expect(l7[0].l7?.type == .request && l7[0].http?.method == "GET")
        #expect(l7[0].http?.url == "http://deathstar/v1/request-landing")
        #expect(l7[1].l7?.type == .response && l7[1].http?.code == 200 && l7[1].http?.method == "GET")
        #expect(l7[1].l7?.latencyNs == 5_000_000)
        #expect(l7.allSatisfy { $0.trafficDirection == .egress }, "seen where the client pod sends: the client reports")
        #expect(h.exported.filter { $0.type == .l3L4 }.count == 2)

        let m = h.exposition()
        // httpV2 counts the response (with its request's method) as the request, with its status.
        #expect(
            m.value(
                "hubble_http_requests_total",
                ["method": "GET", "protocol": "HTTP/1.1", "status": "200", "reporter": "client"]) == 1)
        #expect(m.value("hubble_http_requests_total") == 1)
        #expect(m.value("hubble_http_request_duration_seconds_count", ["method": "GET", "reporter": "client"]) == 1)
        #expect(
            abs(m.value("hubble_http_request_duration_seconds_sum", ["method": "GET", "reporter": "client"]) - 0.005)
                < 1e-9)
        #expect(m.value("hubble_http_request_duration_seconds_bucket", ["reporter": "client", "le": "0.005"]) == 1)
        #expect(m.value("hubble_http_request_duration_seconds_bucket", ["reporter": "client", "le": "0.0025"]) == 0)
        #expect(h.step.counters == counters(flows: 2, l7Flows: 2))
    }

    @Test func droppedDNSQueryIsADroppedDNSRequest() throws {
        let h = try H()
        let query = DNSWire.query(id: 7, "deathstar.default.svc.cluster.local")
        h.step.process(
            H.drop(H.udp(from: H.client, to: H.dnsServer, sport: 40005, dport: 53, query), timeNs: t0, l7: true))

        let flows = h.exported
        try #require(flows.count == 2)
        let l7 = flows[0]
        #expect(l7.type == .l7 && l7.verdict == .dropped)
        #expect(l7.eventType == CiliumEventType(type: CiliumEventType.accessLog, subType: 0))
        #expect(l7.l7?.type == .request && l7.isReply == false)
        #expect(l7.dns == DNS(query: "deathstar.default.svc.cluster.local.", observationSource: "proxy", qtypes: ["A"]))
        #expect(l7.source?.podName == "client-1")
        #expect(flows[1].type == .l3L4 && flows[1].verdict == .dropped, "the drop itself follows")

        let m = h.exposition()
        #expect(m.value("hubble_dns_queries_total", ["rcode": "Policy denied", "qtypes": "A"]) == 1)
        #expect(m.value("hubble_dns_queries_total") == 1)
        #expect(m.value("hubble_drop_total", ["reason": "POLICY_DENIED", "protocol": "UDP"]) == 1)
        #expect(h.step.counters == counters(flows: 1, l7Flows: 1))
    }

    @Test func droppedPacketsThatAreNotDNSQueriesMakeNoL7Flow() throws {
        let h = try H()
        let name = "deathstar.default.svc.cluster.local"
        // A response (not a query), a query the kernel did not mark as an L7 candidate, a query to another port.
        h.step.process(
            H.drop(
                H.udp(
                    from: H.dnsServer, to: H.client, sport: 53, dport: 40006,
                    DNSWire.aResponse(id: 8, name, ip: [10, 0, 0, 2])),
                timeNs: t0, l7: true))
        h.step.process(
            H.drop(
                H.udp(from: H.client, to: H.dnsServer, sport: 40007, dport: 53, DNSWire.query(id: 9, name)), timeNs: t0)
        )
        h.step.process(
            H.drop(
                H.udp(from: H.client, to: H.dnsServer, sport: 40008, dport: 5353, DNSWire.query(id: 10, name)),
                timeNs: t0, l7: true))

        #expect(h.exported.map(\.type) == [.l3L4, .l3L4, .l3L4])
        #expect(h.exposition().value("hubble_dns_queries_total") == 0)
        #expect(h.exposition().value("hubble_drop_total") == 3)
        #expect(h.step.counters == counters(flows: 3))
    }

    @Test func l7OnlyEventMakesItsL7FlowButNoTraceFlow() throws {
        let h = try H()
        let request = Array("GET /v1 HTTP/1.1\r\nHost: deathstar\r\n\r\n".utf8)
        h.step.process(
            H.trace(
                H.tcp(
                    from: H.client, to: H.server, sport: 40009, dport: 80, flags: [.ack, .psh], seq: 1, ack: 1, request),
                timeNs: t0, l7: true, l7Only: true))

        let flows = h.exported
        try #require(flows.count == 1)
        #expect(flows[0].type == .l7 && flows[0].http?.method == "GET")
        let m = h.exposition()
        #expect(m.value("hubble_flows_processed_total", ["type": "Trace"]) == 0)
        #expect(m.value("hubble_flows_processed_total", ["type": "L7"]) == 1)
        #expect(m.value("hubble_tcp_flags_total") == 0)
        #expect(h.step.counters == counters(flows: 0, l7Flows: 1, l7OnlyEvents: 1))
    }

    @Test func badRecordsAreCountedByReasonAndEmitNothing() throws {
        let h = try H()
        let good = H.trace(
            H.tcp(from: H.client, to: H.server, sport: 40010, dport: 80, flags: [.syn], seq: 1), timeNs: t0)
        h.step.process(Array(good.prefix(40)))  // cut inside the fixed part
        h.step.process([])  // nothing at all
        var badVersion = good
        badVersion[SpyEventLayout.Offset.version] &+= 1
        h.step.process(badVersion)
        var badKind = good
        badKind[SpyEventLayout.Offset.kind] = 0x7f
        h.step.process(badKind)
        h.step.process(Array(good.dropLast(10)))  // snapshot shorter than snap_len says
        var garbage = [UInt8](repeating: 0xa5, count: 300)
        garbage[0] = 0xff
        h.step.process(garbage)

        #expect(h.exported.isEmpty)
        #expect(h.exposition().value("hubble_flows_processed_total") == 0)
        #expect(h.step.decodeErrors == ["short": 2, "version": 2, "kind": 1, "snap_len": 1])
        #expect(h.step.counters == counters(flows: 0, decodeErrors: 6))

        h.step.process(good)
        #expect(h.exported.count == 1, "a good record after bad ones decodes")
        #expect(h.step.counters == counters(flows: 1, decodeErrors: 6))
    }

    @Test func withoutL7OnlyTraceFlowsAndNoNames() throws {
        let h = try H(l7: nil)
        let name = "deathstar.default.svc.cluster.local"
        h.step.process(
            H.trace(
                H.udp(from: H.client, to: H.dnsServer, sport: 40011, dport: 53, DNSWire.query(id: 1, name)), timeNs: t0,
                l7: true))
        h.step.process(
            H.trace(
                H.udp(
                    from: H.dnsServer, to: H.client, sport: 53, dport: 40011,
                    DNSWire.aResponse(id: 1, name, ip: [10, 0, 0, 2])),
                obs: SpyEventLayout.ObservationCode.toEndpoint, timeNs: t0 + 1_000_000, l7: true))
        h.step.process(
            H.trace(
                H.tcp(from: H.client, to: H.server, sport: 40012, dport: 80, flags: [.syn], seq: 1),
                timeNs: t0 + 2_000_000))

        #expect(!h.step.l7Enabled)
        #expect(h.exported.map(\.type) == [.l3L4, .l3L4, .l3L4])
        #expect(h.exported.allSatisfy { $0.destinationNames.isEmpty })
        #expect(h.exposition().value("hubble_dns_queries_total") == 0)
        #expect(h.step.counters == counters(flows: 3))
        #expect(h.step.expire(nowNs: t0 + 60_000_000_000) == nil)
    }

    @Test func expiryAtAGivenTimeCountsUnansweredRequests() throws {
        let h = try H()
        let request = Array("GET /v1 HTTP/1.1\r\nHost: deathstar\r\n\r\n".utf8)
        h.step.process(
            H.trace(
                H.tcp(
                    from: H.client, to: H.server, sport: 40013, dport: 80, flags: [.ack, .psh], seq: 1, ack: 1, request),
                timeNs: t0, l7: true))
        h.step.process(
            H.trace(
                H.udp(from: H.client, to: H.dnsServer, sport: 40014, dport: 53, DNSWire.query(id: 2, "a.example")),
                timeNs: t0, l7: true))

        let early = try #require(h.step.expire(nowNs: t0 + 1_000_000))
        #expect(early.entries[.httpPending] == 1 && early.entries[.dnsPending] == 1)
        #expect(early.unansweredHTTP == 0 && early.unansweredDNS == 0)
        let late = try #require(h.step.expire(nowNs: t0 + 3_600_000_000_000))
        #expect(late.entries[.httpPending] == 0 && late.entries[.dnsPending] == 0)
        #expect(late.unansweredHTTP == 1 && late.unansweredDNS == 1)
        #expect(h.step.counters == counters(flows: 2, l7Flows: 2), "expiry hands nothing on")
    }

    private func counters(flows: UInt64, l7Flows: UInt64 = 0, l7OnlyEvents: UInt64 = 0, decodeErrors: UInt64 = 0)
        -> FlowPipelineStep.Counters
    {
        var c = FlowPipelineStep.Counters()
        c.flows = flows
        c.l7Flows = l7Flows
        c.l7OnlyEvents = l7OnlyEvents
        c.decodeErrors = decodeErrors
        return c
    }
}
