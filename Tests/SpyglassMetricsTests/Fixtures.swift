import SpyglassFlow

/// Fixture endpoints and flows shared by the golden, conformance and budget tests.
enum Fixtures {
    static let t0 = Timestamp(seconds: 1_700_000_000, nanos: 0)

    static let client = Endpoint(
        id: 101, identity: 12345, namespace: "default",
        labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"],
        podName: "client-7d9f8b6c5-abcde", workloads: [Workload(name: "client", kind: "Deployment")])
    static let server = Endpoint(
        id: 202, identity: 23456, namespace: "shop",
        labels: ["k8s:app.kubernetes.io/name=web", "k8s:app=web-legacy", "k8s:io.kubernetes.pod.namespace=shop"],
        podName: "web-5c6d7f8b9-xyz12", workloads: [Workload(name: "web", kind: "Deployment")])
    static let coredns = Endpoint(
        id: 303, identity: 102, namespace: "kube-system",
        labels: ["k8s:io.kubernetes.pod.namespace=kube-system", "k8s:k8s-app=kube-dns"],
        podName: "coredns-6f6b679f8f-q7x2z", workloads: [Workload(name: "coredns", kind: "Deployment")])
    static let world = Endpoint(identity: 2, labels: ["reserved:world"])

    static let clientIP = IPAddress("10.0.0.1")!
    static let serverIP = IPAddress("10.0.1.2")!
    static let corednsIP = IPAddress("10.0.2.10")!
    static let worldIP = IPAddress("93.184.216.34")!
    static let client6 = IPAddress("fd00::1")!
    static let server6 = IPAddress("fd00::2")!

    static let trace1 = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let trace2 = "0af7651916cd43dd8448eb211c80319c"

    static func v4(_ s: IPAddress, _ d: IPAddress) -> IPHeader { IPHeader(source: s, destination: d, ipVersion: .ipv4) }
    static func v6(_ s: IPAddress, _ d: IPAddress) -> IPHeader { IPHeader(source: s, destination: d, ipVersion: .ipv6) }
    static let traceToEndpoint = CiliumEventType(type: CiliumEventType.trace, subType: 0)
    static let traceToNetwork = CiliumEventType(type: CiliumEventType.trace, subType: 11)
    static let accessLog = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)

    // MARK: L3/L4

    static let tcpSyn = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, serverIP),
        l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.syn])), source: client, destination: server,
        type: .l3L4, eventType: traceToEndpoint, trafficDirection: .egress, isReply: false)
    static let tcpSynAck = Flow(
        time: t0, verdict: .forwarded, ip: v4(serverIP, clientIP),
        l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210, flags: [.syn, .ack])), source: server,
        destination: client, type: .l3L4, eventType: traceToEndpoint, trafficDirection: .egress, isReply: true)
    static let tcpFin = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, serverIP),
        l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.fin, .ack])), source: client,
        destination: server, type: .l3L4, eventType: traceToEndpoint, trafficDirection: .egress, isReply: false)
    static let tcpRst = Flow(
        time: t0, verdict: .forwarded, ip: v4(serverIP, clientIP),
        l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210, flags: [.rst])), source: server, destination: client,
        type: .l3L4, eventType: traceToEndpoint, trafficDirection: .egress, isReply: true)
    static let udpToWorld = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, worldIP),
        l4: .udp(UDP(sourcePort: 40000, destinationPort: 443)),
        source: client, destination: world, type: .l3L4, destinationNames: ["example.com"],
        eventType: traceToNetwork, trafficDirection: .egress, isReply: false)
    static let icmpEcho4 = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, worldIP), l4: .icmpv4(ICMP(type: 8, code: 0)),
        source: client, destination: world, type: .l3L4, eventType: traceToNetwork, trafficDirection: .egress,
        isReply: false)
    static let icmpEcho6 = Flow(
        time: t0, verdict: .forwarded, ip: v6(client6, server6), l4: .icmpv6(ICMP(type: 128, code: 0)),
        source: client, destination: server, type: .l3L4, eventType: traceToEndpoint, trafficDirection: .egress,
        isReply: false)
    static let icmpUnreachable6 = Flow(
        time: t0, verdict: .forwarded, ip: v6(server6, client6), l4: .icmpv6(ICMP(type: 1, code: 4)),
        source: server, destination: client, type: .l3L4, eventType: traceToEndpoint, trafficDirection: .ingress,
        isReply: nil)

    // MARK: DNS

    static func dns(_ query: String, reply: Bool, _ record: DNS) -> Flow {
        Flow(
            time: t0, verdict: .forwarded,
            ip: reply ? v4(corednsIP, clientIP) : v4(clientIP, corednsIP),
            l4: .udp(reply ? UDP(sourcePort: 53, destinationPort: 40001) : UDP(sourcePort: 40001, destinationPort: 53)),
            source: reply ? coredns : client, destination: reply ? client : coredns, type: .l7,
            l7: Layer7(type: reply ? .response : .request, latencyNs: reply ? 1_000_000 : 0, record: .dns(record)),
            eventType: accessLog, trafficDirection: .egress, isReply: reply)
    }
    static let dnsQueryA = dns("example.com.", reply: false, DNS(query: "example.com.", qtypes: ["A"]))
    static let dnsResponseA = dns(
        "example.com.", reply: true,
        DNS(
            query: "example.com.", ips: ["93.184.216.34"], ttl: 300, rcode: 0, qtypes: ["A"], rrtypes: ["A"]))
    static let dnsResponseAAAA = dns(
        "www.example.com.", reply: true,
        DNS(
            query: "www.example.com.", ips: ["2606:2800:220:1:248:1893:25c8:1946"], ttl: 300, cnames: ["example.com."],
            rcode: 0, qtypes: ["AAAA"], rrtypes: ["CNAME", "AAAA"]))
    static let dnsResponseNXDomain = dns(
        "nope.example.com.", reply: true,
        DNS(
            query: "nope.example.com.", rcode: 3, qtypes: ["A"]))

    // MARK: HTTP

    static let httpRequest = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, serverIP),
        l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080)), source: client, destination: server, type: .l7,
        l7: Layer7(type: .request, record: .http(HTTP(method: "GET", url: "http://web.shop/", protocol: "HTTP/1.1"))),
        eventType: accessLog, trafficDirection: .egress, isReply: false, traceContext: TraceContext(traceID: trace1))
    static let httpResponse200 = Flow(
        time: Timestamp(seconds: 1_700_000_001, nanos: 500_000_000), verdict: .forwarded, ip: v4(serverIP, clientIP),
        l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210)), source: server, destination: client, type: .l7,
        l7: Layer7(
            type: .response, latencyNs: 12_000_000,
            record: .http(HTTP(code: 200, method: "GET", url: "http://web.shop/", protocol: "HTTP/1.1"))),
        eventType: accessLog, trafficDirection: .egress, isReply: true, traceContext: TraceContext(traceID: trace1))
    static let httpResponse503 = Flow(
        time: Timestamp(seconds: 1_700_000_002, nanos: 250_000_000), verdict: .forwarded, ip: v4(serverIP, clientIP),
        l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43212)), source: server, destination: client, type: .l7,
        l7: Layer7(
            type: .response, latencyNs: 300_000_000,
            record: .http(HTTP(code: 503, method: "POST", url: "http://web.shop/cart", protocol: "HTTP/2"))),
        eventType: accessLog, trafficDirection: .egress, isReply: true, traceContext: TraceContext(traceID: trace2))

    // MARK: Drops

    static let dropPolicy = Flow(
        time: t0, verdict: .dropped, dropReasonDesc: .policyDenied, ip: v4(clientIP, worldIP),
        l4: .tcp(TCP(sourcePort: 43211, destinationPort: 25, flags: [.syn])), source: client, destination: world,
        type: .l3L4, eventType: CiliumEventType(type: CiliumEventType.drop, subType: 133), trafficDirection: .egress,
        isReply: false)
    static let dropKernel = Flow(
        time: t0, verdict: .dropped, dropReasonDesc: .unknown, kernelDropReason: "NO_SOCKET", ip: v4(worldIP, clientIP),
        l4: .udp(UDP(sourcePort: 53000, destinationPort: 9999)), source: world, destination: client, type: .l3L4,
        eventType: CiliumEventType(type: CiliumEventType.drop, subType: 0), trafficDirection: .ingress, isReply: nil)

    /// Every fixture, in a fixed order.
    static let all: [Flow] = [
        tcpSyn, tcpSynAck, tcpFin, tcpRst, udpToWorld, icmpEcho4, icmpEcho6, icmpUnreachable6,
        dnsQueryA, dnsResponseA, dnsResponseAAAA, dnsResponseNXDomain,
        httpRequest, httpResponse200, httpResponse503, dropPolicy, dropKernel
    ]
}
