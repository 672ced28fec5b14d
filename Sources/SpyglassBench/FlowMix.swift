// The flows every in-process benchmark feeds: a mix that hits all seven default metric handlers, and the 7-label
// labelsContext the issue asks for.
import SpyglassFlow
import SpyglassMetrics

/// The seven-label labelsContext of issue #9.
let labels7 =
    "source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"

func endpoint(_ ns: String, _ pod: String, _ wl: String) -> Endpoint {
    Endpoint(
        namespace: ns, labels: ["k8s:app=\(wl)", "k8s:io.kubernetes.pod.namespace=\(ns)"], podName: pod,
        workloads: [Workload(name: wl, kind: "Deployment")])
}

/// A steady mix of flow kinds that together hit all seven default handlers.
func flowMix() -> [Flow] {
    let client = endpoint("default", "client-7d9f8b6c5-abcde", "client")
    let server = endpoint("shop", "web-5c6d7f8b9-xyz12", "web")
    let dnsSrv = endpoint("kube-system", "coredns-6f6b679f8f-q7x2z", "coredns")
    let c = IPAddress("10.0.0.1")!, s = IPAddress("10.0.1.2")!, d = IPAddress("10.0.2.10")!
    let v4 = { (a: IPAddress, b: IPAddress) in IPHeader(source: a, destination: b, ipVersion: .ipv4) }
    let trace = CiliumEventType(type: CiliumEventType.trace, subType: 0)
    let l7 = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)
    return [
        Flow(
            verdict: .forwarded, ip: v4(c, s), l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.syn])),
            source: client, destination: server, eventType: trace, trafficDirection: .egress, isReply: false),
        Flow(
            verdict: .forwarded, ip: v4(s, c),
            l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210, flags: [.syn, .ack])),
            source: server, destination: client, eventType: trace, trafficDirection: .egress, isReply: true),
        Flow(
            verdict: .forwarded, ip: v4(d, c), l4: .udp(UDP(sourcePort: 53, destinationPort: 40001)), source: dnsSrv,
            destination: client,
            l7: Layer7(
                type: .response,
                record: .dns(
                    DNS(
                        query: "example.com.", ips: ["93.184.216.34"], rcode: 0,
                        qtypes: ["A"], rrtypes: ["A"]))),
            eventType: l7, trafficDirection: .egress, isReply: true),
        Flow(
            time: Timestamp(seconds: 1_700_000_000, nanos: 0), verdict: .forwarded, ip: v4(s, c),
            l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210)), source: server, destination: client,
            l7: Layer7(
                type: .response, latencyNs: 12_000_000,
                record: .http(HTTP(code: 200, method: "GET", url: "/", protocol: "HTTP/1.1"))),
            eventType: l7, trafficDirection: .egress, isReply: true,
            traceContext: TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736")),
        Flow(
            verdict: .forwarded, ip: v4(c, s), l4: .icmpv4(ICMP(type: 8, code: 0)), source: client, destination: server,
            eventType: trace, trafficDirection: .egress, isReply: false),
        Flow(
            verdict: .dropped, dropReasonDesc: .policyDenied, ip: v4(c, s),
            l4: .tcp(TCP(sourcePort: 43211, destinationPort: 25, flags: [.syn])), source: client, destination: server,
            eventType: CiliumEventType(type: CiliumEventType.drop, subType: 133), trafficDirection: .egress,
            isReply: false)
    ]
}

/// The seed's metric set: the seven default families, each with the 7-label labelsContext, httpV2 with exemplars.
func sevenFamiliesSpec() -> String {
    "dns drop tcp flow port-distribution icmp httpV2".split(separator: " ")
        .map { "\($0):labelsContext=\(labels7)" + ($0 == "httpV2" ? ";exemplars=true" : "") }.joined(separator: " ")
}
