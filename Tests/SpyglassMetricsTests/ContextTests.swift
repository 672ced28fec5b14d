import SpyglassFlow
import Testing

@testable import SpyglassMetrics

@Suite struct ContextTests {
    func values(_ ctx: ContextOptions, _ flow: Flow, invert: Bool = false) -> [String] {
        var w = LabelWriter()
        ctx.write(flow, invert: invert, to: &w)
        #expect(w.valueCount == ctx.labelNames.count)
        return w.values()
    }
    func source(_ ids: [ContextIdentifier], _ flow: Flow) -> String {
        values(ContextOptions(sourceContext: ids), flow)[0]
    }
    func destination(_ ids: [ContextIdentifier], _ flow: Flow) -> String {
        values(ContextOptions(destinationContext: ids), flow)[0]
    }
    func flow(source: Endpoint? = nil, destination: Endpoint? = nil, direction: TrafficDirection = .egress) -> Flow {
        Flow(
            ip: Fixtures.v4(Fixtures.clientIP, Fixtures.serverIP), source: source, destination: destination,
            sourceNames: ["a.example.", "b.example."], trafficDirection: direction)
    }

    @Test func everyIdentifier() {
        let f = flow(source: Fixtures.server, destination: Fixtures.world)
        #expect(
            source([.identity], f)
                == "k8s:app.kubernetes.io/name=web,k8s:app=web-legacy,k8s:io.kubernetes.pod.namespace=shop")
        #expect(source([.namespace], f) == "shop")
        #expect(source([.pod], f) == "shop/web-5c6d7f8b9-xyz12")
        #expect(source([.podName], f) == "web-5c6d7f8b9-xyz12")
        #expect(source([.dns], f) == "a.example.,b.example.")
        #expect(destination([.dns], f) == "")
        #expect(source([.ip], f) == "10.0.0.1")
        #expect(destination([.ip], f) == "10.0.1.2")
        #expect(destination([.reservedIdentity], f) == "reserved:world")
        #expect(source([.reservedIdentity], f) == "")
        #expect(source([.workload], f) == "shop/web")
        #expect(source([.workloadName], f) == "web")
        #expect(source([.app], f) == "web")
    }

    @Test func fallbackTakesFirstNonEmpty() {
        let f = flow(source: Fixtures.world, destination: Fixtures.server)
        #expect(source([.workloadName, .reservedIdentity], f) == "reserved:world")
        #expect(source([.namespace, .podName], f) == "")
        #expect(source([.namespace, .ip], f) == "10.0.0.1")
    }

    @Test func unknownEndpointGivesPresentEmptyLabels() {
        let ctx = ContextOptions(
            sourceContext: [.pod], destinationContext: [.workload],
            labelsContext: LabelsContextLabel.allCases)
        let v = values(ctx, Flow())
        #expect(v.count == 15)
        #expect(v == Array(repeating: "", count: 12) + ["unknown", "", ""])
    }

    @Test func podQuirkAndWorkloadNamespaceRules() {
        let nsOnly = Endpoint(namespace: "ns")
        #expect(source([.pod, .ip], flow(source: nsOnly)) == "ns/")  // "ns/" counts as non-empty
        let podNoNS = Endpoint(podName: "p")
        #expect(source([.pod], flow(source: podNoNS)) == "p")
        let wlNoNS = Endpoint(workloads: [Workload(name: "w", kind: "DaemonSet"), Workload(name: "x", kind: "Job")])
        #expect(source([.workload], flow(source: wlNoNS)) == "w")
        #expect(source([.workload, .ip], flow(source: nsOnly)) == "10.0.0.1")  // no workload: ""
    }

    @Test func reservedIdentityPrefersKubeAPIServer() {
        let ep = Endpoint(labels: ["reserved:host", "reserved:kube-apiserver", "reserved:remote-node"])
        #expect(source([.reservedIdentity], flow(source: ep)) == "reserved:kube-apiserver")
        let ep2 = Endpoint(labels: ["k8s:app=x", "reserved:remote-node", "reserved:host"])
        #expect(source([.reservedIdentity], flow(source: ep2)) == "reserved:remote-node")
    }

    @Test func appLabelFollowsLabelListOrder() {
        let sorted = Endpoint(labels: ["k8s:app.kubernetes.io/name=", "k8s:app=plain", "k8s:k8s-app=kube"])
        #expect(source([.app], flow(source: sorted)) == "plain")  // empty value skipped, then list order
        let unsorted = Endpoint(labels: ["k8s:k8s-app=kube", "k8s:app=plain", "k8s:app.kubernetes.io/name=named"])
        #expect(source([.app], flow(source: unsorted)) == "kube")
        #expect(source([.app], flow(source: Endpoint(labels: ["k8s:application=no"]))) == "")
    }

    @Test func directionSpecificLists() {
        let ctx = ContextOptions(
            sourceContext: [.namespace], sourceEgressContext: [.pod], sourceIngressContext: [.ip],
            destinationIngressContext: [.workloadName])
        #expect(ctx.labelNames == ["source", "destination"])
        let egress = flow(source: Fixtures.client, destination: Fixtures.server, direction: .egress)
        let ingress = flow(source: Fixtures.client, destination: Fixtures.server, direction: .ingress)
        let unknown = flow(source: Fixtures.client, destination: Fixtures.server, direction: .unknown)
        #expect(values(ctx, egress) == ["default/client-7d9f8b6c5-abcde", ""])
        #expect(values(ctx, ingress) == ["10.0.0.1", "web"])
        #expect(values(ctx, unknown) == ["default", ""])
    }

    @Test func labelsContextCanonicalOrderAndValues() {
        let ctx = ContextOptions(labelsContext: LabelsContextLabel.allCases.reversed())
        #expect(ctx.labelNames == LabelsContextLabel.allCases.map(\.rawValue))
        let v = values(ctx, flow(source: Fixtures.client, destination: Fixtures.server, direction: .ingress))
        #expect(
            v == [
                "10.0.0.1", "client-7d9f8b6c5-abcde", "default", "client", "Deployment", "client",
                "10.0.1.2", "web-5c6d7f8b9-xyz12", "shop", "web", "Deployment", "web", "ingress"
            ])
        let withAll = ContextOptions(
            sourceContext: [.pod], destinationContext: [.pod], labelsContext: [.trafficDirection, .sourceIP])
        #expect(withAll.labelNames == ["source_ip", "traffic_direction", "source", "destination"])
    }

    @Test func httpV2InversionSwapsEndpointsButNotDirection() {
        let ctx = ContextOptions(
            sourceContext: [.pod], destinationContext: [.workloadName],
            labelsContext: [.sourceIP, .sourcePod, .destinationIP, .destinationWorkload, .trafficDirection])
        let response = Fixtures.httpResponse200  // server -> client
        #expect(
            values(ctx, response) == [
                "10.0.1.2", "web-5c6d7f8b9-xyz12", "10.0.0.1", "client", "egress",
                "shop/web-5c6d7f8b9-xyz12", "client"
            ])
        // Inverted: labelsContext reads the other side; computed source/destination values are swapped.
        #expect(
            values(ctx, response, invert: true) == [
                "10.0.0.1", "client-7d9f8b6c5-abcde", "10.0.1.2", "web", "egress",
                "client", "shop/web-5c6d7f8b9-xyz12"
            ])
        // Only a source list: after the swap `source` holds the (unset, so empty) destination value.
        #expect(values(ContextOptions(sourceContext: [.pod]), response, invert: true) == [""])
    }
}

@Suite struct HandlerRuleTests {
    func engine(_ spec: String, _ flows: [Flow]) throws -> MetricsEngine {
        try TestSupport.engine(spec, MetricsEngineOptions(selfMetrics: false), flows: flows)
    }
    func series(_ e: MetricsEngine, _ family: String) -> [[String]: Double] {
        var out: [[String]: Double] = [:]
        for f in e.allFamilies where f.name == family { for s in f.snapshot() { out[s.labels] = s.value } }
        return out
    }
    func with(_ f: Flow, _ change: (inout Flow) -> Void) -> Flow {
        var f = f
        change(&f)
        return f
    }

    @Test func dnsBranchesAndIgnoreAAAA() throws {
        let droppedQuery = with(Fixtures.dnsQueryA) { $0.verdict = .dropped }
        let unknownReply = with(Fixtures.dnsQueryA) { $0.isReply = nil }
        let badRcode = with(Fixtures.dnsResponseA) { f in
            f.l7 = Layer7(type: .response, record: .dns(DNS(query: "x.", rcode: 12, qtypes: ["A", "AAAA"])))
        }
        let aaaaQuery = with(Fixtures.dnsQueryA) {
            $0.l7 = Layer7(type: .request, record: .dns(DNS(query: "x.", qtypes: ["AAAA"])))
        }
        let e = try engine(
            "dns:ignoreAAAA", [droppedQuery, unknownReply, badRcode, aaaaQuery, Fixtures.dnsResponseAAAA])
        #expect(series(e, "hubble_dns_queries_total") == [["Policy denied", "A", "0"]: 1, ["", "A", "0"]: 1])
        #expect(series(e, "hubble_dns_responses_total") == [["", "A,AAAA", "0"]: 1])
        #expect(series(e, "hubble_dns_response_types_total").isEmpty)
        #expect(DNSRCode.name(23) == "Bad/missing Server Cookie" && DNSRCode.name(16) == "Bad OPT Version")
    }

    @Test func flowTypesAndSubtypes() throws {
        let sock = with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 7, subType: 1) }
        let capture = with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 3, subType: 0) }
        let pv = with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 5, subType: 0) }
        let badPoint = with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 4, subType: 99) }
        let wrapped = with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 4, subType: 256 + 10) }
        let l7NoRecord = with(Fixtures.httpRequest) { $0.l7 = Layer7(type: .request) }
        let e = try engine("flow", [sock, capture, pv, badPoint, wrapped, l7NoRecord, Flow()])
        #expect(
            series(e, "hubble_flows_processed_total") == [
                ["Unknown flow", "Unknown", "7", "FORWARDED"]: 1, ["TCP", "Capture", "", "FORWARDED"]: 1,
                ["TCP", "PolicyVerdict", "", "FORWARDED"]: 1, ["TCP", "Trace", "", "FORWARDED"]: 1,
                ["TCP", "Trace", "from-network", "FORWARDED"]: 1, ["Unknown L7", "L7", "", "FORWARDED"]: 1,
                ["Unknown flow", "Unknown", "0", "VERDICT_UNKNOWN"]: 1
            ])
    }

    @Test func flowsToWorldRules() throws {
        let worldV4 = Endpoint(labels: ["reserved:world-ipv4"])
        let fwd = with(Fixtures.udpToWorld) { $0.destination = worldV4 }
        let reply = with(Fixtures.udpToWorld) { $0.isReply = true }
        let unknownReply = with(Fixtures.icmpEcho4) { $0.isReply = nil }
        let otherDrop = with(Fixtures.dropPolicy) { $0.dropReasonDesc = .ttlExceeded }
        let droppedReply = with(Fixtures.dropPolicy) { $0.isReply = true }
        let flows = [fwd, reply, unknownReply, otherDrop, droppedReply, Fixtures.dropPolicy]
        let plain = try engine("flows-to-world", flows)
        #expect(
            series(plain, "hubble_flows_to_world_total") == [
                ["UDP", "FORWARDED"]: 1, ["ICMPv4", "FORWARDED"]: 1, ["TCP", "DROPPED"]: 2
            ])
        let any = try engine("flows-to-world:any-drop;port", flows)
        #expect(
            series(any, "hubble_flows_to_world_total") == [
                ["UDP", "FORWARDED", "443"]: 1, ["ICMPv4", "FORWARDED", ""]: 1, ["TCP", "DROPPED", "25"]: 3
            ])
        let syn = try engine("flows-to-world:any-drop;syn-only", flows)
        #expect(series(syn, "hubble_flows_to_world_total") == [["TCP", "DROPPED"]: 2])  // the dropped reply is excluded
    }

    @Test func httpV1CountsRequestsAndResponses() throws {
        let e = try engine(
            "http",
            [
                Fixtures.httpRequest, Fixtures.httpResponse200,
                with(Fixtures.httpResponse200) { $0.trafficDirection = .ingress }
            ])
        #expect(series(e, "hubble_http_requests_total") == [["GET", "HTTP/1.1", "client"]: 1])
        #expect(
            series(e, "hubble_http_responses_total") == [
                ["GET", "HTTP/1.1", "200", "client"]: 1, ["GET", "HTTP/1.1", "200", "server"]: 1
            ])
        #expect(series(e, "hubble_http_request_duration_seconds") == [["GET", "client"]: 1, ["GET", "server"]: 1])
    }

    @Test func policyVerdictEventsAndL7() throws {
        let pv = with(Fixtures.tcpSyn) {
            $0.eventType = CiliumEventType(type: CiliumEventType.policyVerdict, subType: 0)
            $0.verdict = .dropped
            $0.trafficDirection = .unknown
        }
        let l3l4 = with(pv) {
            $0.policyMatchType = 2; $0.trafficDirection = .ingress; $0.verdict = .forwarded
        }
        let odd = with(pv) { $0.policyMatchType = 9 }
        let e = try engine(
            "policy",
            [
                pv, l3l4, odd, Fixtures.dnsQueryA, Fixtures.httpRequest,
                with(Fixtures.httpRequest) { $0.l7 = Layer7(type: .request) }
            ])
        #expect(
            series(e, "hubble_policy_verdicts_total") == [
                ["traffic_direction_unknown", "none", "dropped"]: 1, ["ingress", "l3-l4", "forwarded"]: 1,
                ["traffic_direction_unknown", "unknown", "dropped"]: 1, ["egress", "l7/dns", "forwarded"]: 1,
                ["egress", "l7/http", "forwarded"]: 1, ["egress", "l7/", "forwarded"]: 1
            ])
        #expect(PolicyMatchName.name(5) == "l3-proto" && PolicyMatchName.name(9) == "unknown")
    }

    @Test func portDistributionL4Kinds() throws {
        func f(_ l4: Layer4) -> Flow { with(Fixtures.tcpSyn) { $0.l4 = l4 } }
        let e = try engine(
            "port-distribution",
            [
                f(.sctp(SCTP(sourcePort: 1, destinationPort: 3868))), f(.vrrp(VRRP(type: 1, vrid: 1, priority: 100))),
                f(.igmp(IGMP(type: 0x16, groupAddress: nil))), f(.icmpv6(ICMP(type: 128, code: 0)))
            ])
        #expect(
            series(e, "hubble_port_distribution_total") == [
                ["SCTP", "3868"]: 1, ["VRRP", "0"]: 1, ["IGMP", "0"]: 1, ["ICMPv6", "0"]: 1
            ])
    }

    @Test func tcpFlagCombinations() throws {
        let all = with(Fixtures.tcpSyn) {
            $0.l4 = .tcp(TCP(sourcePort: 1, destinationPort: 2, flags: [.fin, .syn, .rst, .ack]))
        }
        let v6 = with(Fixtures.tcpSyn) { $0.ip = Fixtures.v6(Fixtures.client6, Fixtures.server6) }
        let e = try engine("tcp", [all, v6, with(Fixtures.tcpSyn) { $0.verdict = .redirected }])
        #expect(
            series(e, "hubble_tcp_flags_total") == [
                ["FIN", "IPv4"]: 1, ["SYN-ACK", "IPv4"]: 1, ["RST", "IPv4"]: 1, ["SYN", "IPv6"]: 1, ["SYN", "IPv4"]: 1
            ])
    }

    @Test func dropReasonFallsBackToKernelName() throws {
        let numeric = with(Fixtures.dropPolicy) { $0.dropReasonDesc = DropReason(rawValue: 206) }
        let nothing = with(Fixtures.dropKernel) { $0.kernelDropReason = nil }
        let e = try engine("drop", [numeric, nothing, Fixtures.dropKernel])
        #expect(
            series(e, "hubble_drop_total") == [
                ["206", "TCP"]: 1, ["DROP_REASON_UNKNOWN", "UDP"]: 1, ["NO_SOCKET", "UDP"]: 1
            ])
    }
}
