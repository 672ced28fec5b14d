import SpyglassFlow

/// Fixture flows of every kind the encoder, filters and exporters are tested with.
enum Fx {
    static let t0 = Timestamp(seconds: 1_700_000_000, nanos: 123_456_789)
    static let node = "kind-kind/kind-worker"

    static let client = Endpoint(
        id: 101, identity: 12345, namespace: "default",
        labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"],
        podName: "client-7d9f8b6c5-abcde", workloads: [Workload(name: "client", kind: "Deployment")])
    static let server = Endpoint(
        id: 202, identity: 23456, clusterName: "prod", namespace: "shop",
        labels: ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop", "k8s:tier=front"],
        podName: "web-5c6d7f8b9-xyz12", workloads: [Workload(name: "web", kind: "Deployment")])
    static let coredns = Endpoint(
        id: 303, identity: 102, namespace: "kube-system",
        labels: ["k8s:io.kubernetes.pod.namespace=kube-system", "k8s:k8s-app=kube-dns"],
        podName: "coredns-6f6b679f8f-q7x2z")
    static let world = Endpoint(identity: 2, labels: ["reserved:world"])

    static let clientIP = IPAddress("10.0.0.1")!
    static let serverIP = IPAddress("10.0.1.2")!
    static let corednsIP = IPAddress("10.0.2.10")!
    static let worldIP = IPAddress("93.184.216.34")!
    static let client6 = IPAddress("fd00::1")!
    static let server6 = IPAddress("fd00::2")!
    static let mac = Ethernet(
        source: MACAddress((0x02, 0x42, 0xac, 0x11, 0x00, 0x02)),
        destination: MACAddress((0x02, 0x42, 0xac, 0x11, 0x00, 0x03)))
    static let eth0 = NetworkInterface(index: 7, name: "veth1a2b")

    static func v4(_ s: IPAddress, _ d: IPAddress) -> IPHeader { IPHeader(source: s, destination: d, ipVersion: .ipv4) }
    static func v6(_ s: IPAddress, _ d: IPAddress) -> IPHeader { IPHeader(source: s, destination: d, ipVersion: .ipv6) }
    static let toEndpoint = CiliumEventType(type: 4, subType: 0)
    static let toNetwork = CiliumEventType(type: 4, subType: 11)
    static let accessLog = CiliumEventType(type: 129, subType: 0)

    static let tcp = Flow(
        time: t0, verdict: .forwarded, ethernet: mac, ip: v4(clientIP, serverIP),
        l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.syn, .ack])), source: client,
        destination: server,
        type: .l3L4, nodeName: node, eventType: toEndpoint, trafficDirection: .ingress,
        traceObservationPoint: .toEndpoint,
        isReply: false, interface: eth0)
    static let udp = Flow(
        time: Timestamp(seconds: 1_700_000_001, nanos: 500_000_000), verdict: .forwarded, ip: v4(clientIP, worldIP),
        l4: .udp(UDP(sourcePort: 40000, destinationPort: 443)), source: client, destination: world, type: .l3L4,
        nodeName: node, destinationNames: ["example.com"], eventType: toNetwork, trafficDirection: .egress,
        traceObservationPoint: .toNetwork, isReply: true)
    static let icmp4 = Flow(
        time: Timestamp(seconds: 1_700_000_002, nanos: 0), verdict: .forwarded, ip: v4(clientIP, worldIP),
        l4: .icmpv4(ICMP(type: 8, code: 0)), source: client, destination: world, type: .l3L4, nodeName: node,
        eventType: toNetwork, trafficDirection: .egress, traceObservationPoint: .toNetwork, isReply: false)
    static let icmp6 = Flow(
        time: Timestamp(seconds: 1_700_000_003, nanos: 1000), verdict: .forwarded, ip: v6(server6, client6),
        l4: .icmpv6(ICMP(type: 1, code: 4)), source: server, destination: client, type: .l3L4, nodeName: node,
        eventType: toEndpoint, trafficDirection: .ingress, traceObservationPoint: .toEndpoint)
    static let dnsRequest = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, corednsIP),
        l4: .udp(UDP(sourcePort: 40001, destinationPort: 53)),
        source: client, destination: coredns, type: .l7, nodeName: node,
        l7: Layer7(
            type: .request, record: .dns(DNS(query: "example.com.", observationSource: "spyglass", qtypes: ["A"]))),
        eventType: accessLog, trafficDirection: .egress, isReply: false)
    static let dnsResponse = Flow(
        time: t0, verdict: .forwarded, ip: v4(corednsIP, clientIP),
        l4: .udp(UDP(sourcePort: 53, destinationPort: 40001)),
        source: coredns, destination: client, type: .l7, nodeName: node, sourceNames: ["example.com"],
        l7: Layer7(
            type: .response, latencyNs: 1_500_000,
            record: .dns(
                DNS(
                    query: "example.com.", ips: ["93.184.216.34"], ttl: 300, cnames: ["edge.example.net."],
                    observationSource: "spyglass", rcode: 0, qtypes: ["A"], rrtypes: ["A", "CNAME"]))),
        eventType: accessLog, trafficDirection: .egress, isReply: true)
    static let httpRequest = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, serverIP),
        l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080)),
        source: client, destination: server, type: .l7, nodeName: node,
        l7: Layer7(
            type: .request,
            record: .http(
                HTTP(
                    method: "GET", url: "http://web.shop/api/items?id=1&sort=<asc>", protocol: "HTTP/1.1",
                    headers: [
                        HTTPHeader(
                            key: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                        HTTPHeader(key: "User-Agent", value: "curl/8.5.0")
                    ]))),
        eventType: accessLog, sourceService: Service(name: "client", namespace: "default"),
        destinationService: Service(name: "web", namespace: "shop"), trafficDirection: .egress, isReply: false,
        traceContext: TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736"))
    static let httpResponse = Flow(
        time: t0, verdict: .forwarded, ip: v4(serverIP, clientIP),
        l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210)),
        source: server, destination: client, type: .l7, nodeName: node,
        l7: Layer7(
            type: .response, latencyNs: 12_345_678_901,
            record: .http(
                HTTP(
                    code: 503, method: "GET", url: "http://web.shop/api/items?id=1&sort=<asc>", protocol: "HTTP/1.1",
                    headers: [HTTPHeader(key: "Content-Type", value: "text/html; charset=\"utf-8\"")]))),
        eventType: accessLog, trafficDirection: .egress, isReply: true,
        traceContext: TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736"))
    static let drop = Flow(
        time: t0, verdict: .dropped, dropReasonDesc: .policyDenied, kernelDropReason: "NETFILTER_DROP",
        ip: v4(worldIP, serverIP), l4: .tcp(TCP(sourcePort: 51000, destinationPort: 22, flags: [.syn])), source: world,
        destination: server, type: .l3L4, nodeName: node, eventType: CiliumEventType(type: 1, subType: 133),
        trafficDirection: .ingress, interface: eth0)
    static let dropUnmapped = Flow(
        time: t0, verdict: .dropped, kernelDropReason: "NO_SOCKET", ip: v6(client6, server6),
        l4: .udp(UDP(sourcePort: 5353, destinationPort: 9)), type: .l3L4, nodeName: node,
        eventType: CiliumEventType(type: 1, subType: 0))
    static let igmp = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, IPAddress("224.0.0.22")!),
        l4: .igmp(IGMP(type: 0x22, groupAddress: nil)), source: client, type: .l3L4, nodeName: node,
        eventType: toNetwork, trafficDirection: .egress, traceObservationPoint: .toNetwork, isReply: false)
    static let igmpGroup = Flow(
        time: t0, verdict: .forwarded, ip: v4(clientIP, IPAddress("239.1.2.3")!),
        l4: .igmp(IGMP(type: 0x16, groupAddress: IPAddress("239.1.2.3")!)), type: .l3L4, nodeName: node,
        eventType: toNetwork)
    static let minimal = Flow(time: Timestamp(seconds: 1, nanos: 0), nodeName: "my-node")

    static let all: [(String, Flow)] = [
        ("tcp", tcp), ("udp", udp), ("icmp4", icmp4), ("icmp6", icmp6), ("dnsRequest", dnsRequest),
        ("dnsResponse", dnsResponse), ("httpRequest", httpRequest), ("httpResponse", httpResponse), ("drop", drop),
        ("dropUnmapped", dropUnmapped), ("igmp", igmp), ("igmpGroup", igmpGroup), ("minimal", minimal)
    ]
}
