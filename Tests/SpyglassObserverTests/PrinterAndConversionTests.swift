import Foundation
import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SpyglassObserver
import SwiftProtobuf
import Testing

/// Hubble's printer output and the conversions between Spyglass's model and the protobuf messages.
struct PrinterAndConversionTests {
    static func response(_ i: Int) throws -> Observer_GetFlowsResponse {
        try FlowResponseEncoder().response(for: SeedFlows.flow(i))
    }

    @Test func compactLinesAreHubbles() throws {
        var p = FlowPrinter(format: .compact, utc: true)
        // The seed's lines: an L3/L4 trace, a policy drop, an HTTP request, a DNS answer (a reply: arrow flipped).
        #expect(
            p.render(try Self.response(0))
                == "Dec  5 08:00:00.000: default/tiefighter:51000 (ID:62396) -> default/deathstar-6c94dcc57b-7xwq6:80 (ID:50122) to-endpoint FORWARDED (TCP Flags: SYN)\n"
        )
        #expect(
            p.render(try Self.response(1))
                == "Dec  5 08:00:00.001: default/xwing:38552 (ID:6009) -> default/deathstar-6c94dcc57b-7xwq6:80 (ID:50122) Policy denied DROPPED (TCP Flags: SYN)\n"
        )
        #expect(
            p.render(try Self.response(2))
                == "Dec  5 08:00:00.002: default/tiefighter:51000 (ID:62396) -> default/deathstar-6c94dcc57b-7xwq6:80 (ID:50122) http-request FORWARDED (HTTP/1.1 POST http://deathstar.default.svc.cluster.local/v1/request-landing)\n"
        )
        #expect(
            p.render(try Self.response(3))
                == "Dec  5 08:00:00.003: default/tiefighter:40001 (ID:62396) <- kube-system/kube-dns:53 (ID:102) dns-response FORWARDED (DNS Answer \"10.199.0.10\" TTL: 30 (Proxy deathstar.default.svc.cluster.local. A))\n"
        )
        var unknownReply = SeedFlows.flow(0)
        unknownReply.isReply = nil
        unknownReply.destination = Endpoint(identity: 2, labels: ["reserved:world"])
        #expect(
            p.render(try FlowResponseEncoder().response(for: unknownReply)).contains(
                "(ID:62396) <> 10.199.0.10:80 (world) to-endpoint"))
        let lost = FlowResponseEncoder.lost(source: "HUBBLE_RING_BUFFER", count: 7, nodeName: "n", time: .now)
        #expect(p.render(lost) == "EVENTS LOST: HUBBLE_RING_BUFFER 7\n")
    }

    /// Hubble's L7 summaries; L3/L4 summaries only for L3/L4 flows.
    @Test func summaries() {
        var f = SeedFlows.flow(2)
        f.l7 = Layer7(
            type: .response, latencyNs: 12_400_000,
            record: .http(
                HTTP(
                    code: 200, method: "POST", url: "http://deathstar.default.svc.cluster.local/v1/request-landing",
                    protocol: "HTTP/1.1")))
        #expect(f.summary == "HTTP/1.1 200 12ms (POST http://deathstar.default.svc.cluster.local/v1/request-landing)")
        f.l7 = Layer7(
            type: .request,
            record: .dns(
                DNS(query: "deathstar.default.svc.cluster.local.", observationSource: "proxy", qtypes: ["A", "AAAA"])))
        #expect(f.summary == "DNS Query deathstar.default.svc.cluster.local. A,AAAA")
        f.l7 = Layer7(
            type: .response,
            record: .dns(DNS(query: "nope.example.", ttl: 5, observationSource: "proxy", rcode: 3, qtypes: ["A"])))
        #expect(f.summary == "DNS Answer RCode: Non-Existent Domain TTL: 5 (Proxy nope.example. A)")
        f.type = .l3L4
        f.l7 = nil
        f.l4 = .tcp(TCP(sourcePort: 1, destinationPort: 80, flags: [.syn, .ack]))
        #expect(f.summary == "TCP Flags: SYN, ACK")
    }

    @Test func otherFormats() throws {
        var json = FlowPrinter(format: .json)
        let line = json.render(try Self.response(1))
        #expect(line.hasPrefix("{\"time\":") && line.contains("\"verdict\":\"DROPPED\""))
        var jsonpb = FlowPrinter(format: .jsonpb)
        #expect(jsonpb.render(try Self.response(1)).hasPrefix("{\"flow\":{"))
        var dict = FlowPrinter(format: .dict, utc: true)
        let d = dict.render(try Self.response(0)) + dict.render(try Self.response(1))
        #expect(d.contains("  TIMESTAMP: Dec  5 08:00:00.000\n"))
        #expect(d.contains("    VERDICT: DROPPED\n"))
        #expect(d.contains("------------\n"))
        var table = FlowPrinter(format: .table, utc: true)
        for i in 0..<4 { #expect(table.render(try Self.response(i)).isEmpty) }
        let t = table.finish().split(separator: "\n")
        #expect(t.count == 5)
        #expect(t[0].hasPrefix("TIMESTAMP") && t[0].contains("SOURCE") && t[0].hasSuffix("SUMMARY"))
        #expect(t[2].contains("Policy denied") && t[2].contains("DROPPED"))
    }

    /// What the API sends, read back into Spyglass's model, is the flow that went in (for every field the model and
    /// Hubble share), so `observe --input-file` filters exactly as the server does.
    @Test func protoRoundTrip() throws {
        for i in 0..<4 {
            var flow = SeedFlows.flow(i)
            let back = Flow(proto: try FlowResponseEncoder().response(for: flow).flow)
            flow.kernelDropReason = nil  // carried in `extensions`, not in the model's fields
            #expect(back == flow, "flow \(i)")
        }
    }

    /// The kernel's drop reason travels in `extensions` (a google.protobuf.Struct) through the API too.
    @Test func kernelDropReasonInExtensions() throws {
        let f = try Self.response(1).flow
        let s = try Google_Protobuf_Struct(unpackingAny: f.extensions)
        #expect(s.fields["kernel_drop_reason"]?.stringValue == "NETFILTER_DROP")
    }

    @Test func protobufFiltersMatchTheirJSONForm() throws {
        var f = Flow_FlowFilter()
        f.sourcePod = ["default/xwing"]
        f.verdict = [.dropped]
        f.destinationPort = ["80"]
        var tcp = Flow_TCPFlags()
        tcp.syn = true
        f.tcpFlags = [tcp]
        var e = Flow_EventTypeFilter()
        e.type = 1
        f.eventType = [e]
        let fromProto = try FlowFilter(proto: f)
        let fromJSON = try FlowFilter.parseList(
            #"{"source_pod":["default/xwing"],"verdict":["DROPPED"],"destination_port":["80"],"tcp_flags":[{"SYN":true}],"event_type":[{"type":1}]}"#
        )
        #expect([fromProto] == fromJSON)
        var cel = Flow_FlowFilter()
        cel.experimental.celExpression = ["true"]
        #expect(throws: FlowFilterError.self) { _ = try FlowFilter(proto: cel) }
    }

    @Test func observeFlagsBuildHubblesFilterPairs() throws {
        var b = ObserveFilterBuilder()
        try b.add(.pod, "default/xwing")
        try b.add(.verdict, "dropped")
        try b.add(.toPort, "80")
        let fs = b.filters
        #expect(fs.count == 2)
        #expect(fs[0].sourcePod == ["default/xwing"] && fs[0].destinationPod.isEmpty)
        #expect(fs[1].destinationPod == ["default/xwing"] && fs[1].sourcePod.isEmpty)
        #expect(fs.allSatisfy { $0.verdict == [.dropped] && $0.destinationPort == ["80"] })
        var only = ObserveFilterBuilder()
        try only.add(.fromNamespace, "kube-system")
        try only.add(.type, "trace:to-endpoint")
        #expect(only.filters.count == 1)
        #expect(only.filters[0].sourcePod == ["kube-system/"])
        #expect(only.filters[0].eventType.first?.type == 4 && only.filters[0].eventType.first?.matchSubType == true)
        var bad = ObserveFilterBuilder()
        #expect(throws: ObserveFilterBuilder.FilterError.self) { try bad.add(.verdict, "MAYBE") }
        #expect(throws: ObserveFilterBuilder.FilterError.self) { try bad.add(.type, "carrier") }
    }

    @Test func ringCapacityAndOverwrite() {
        #expect(EventRing.isValidCapacity(4095) && EventRing.isValidCapacity(1) && EventRing.isValidCapacity(65535))
        #expect(!EventRing.isValidCapacity(4096) && !EventRing.isValidCapacity(0) && !EventRing.isValidCapacity(131071))
        let ring = EventRing(capacity: 7)
        for i in 0..<20 { ring.append(SeedFlows.flow(i)) }
        let (held, seen) = ring.counts
        #expect(held == 7 && seen == 20)
        let r = ring.read(from: 5)
        #expect(r.missed == 8)  // 5..<13 were overwritten
        #expect(r.events.count == 7 && r.next == 20)
    }
}
