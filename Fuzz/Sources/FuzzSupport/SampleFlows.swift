import SpyglassFlow

/// A few realistic flows for evaluating parsed filters: L3/L4 traces and the L7 flows of one DNS and one HTTP
/// exchange, all produced by the agent's pipeline step (decoder, names, L7 assembler), with endpoints as the enricher would set them.
public enum SampleFlows {
    public static let all: [Flow] = {
        let pipeline = StepDriver()
        var out: [Flow] = []
        func record(_ frame: [UInt8], _ obs: UInt8, _ t: UInt64) {
            out += pipeline.process(record: EventRecord.trace(frame: frame, obsPoint: obs, timestampNs: t))
        }
        let query: [UInt8] =
            [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [
                0, 0, 1, 0, 1
            ]
        let answer: [UInt8] =
            [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0] + query[12...] + [
                0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 93, 184, 216, 34
            ]
        record(
            Frames.udp(from: Frames.client, to: Frames.server, sport: 40001, dport: 53, payload: query[...]),
            SpyEventLayout.ObservationCode.fromEndpoint, 1_000)
        record(
            Frames.udp(from: Frames.server, to: Frames.client, sport: 53, dport: 40001, payload: answer[...]),
            SpyEventLayout.ObservationCode.toEndpoint, 2_000)
        let req = Array(
            "GET /api/v1?x=1 HTTP/1.1\r\nHost: web\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"
                .utf8)
        let resp = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)
        record(
            Frames.tcp(
                from: Frames.client, to: Frames.server, sport: 40002, dport: 80, seq: 1, ack: 1, flags: TCPBits.syn,
                payload: []), SpyEventLayout.ObservationCode.fromEndpoint, 3_000)
        record(
            Frames.tcp(
                from: Frames.client, to: Frames.server, sport: 40002, dport: 80, seq: 2, ack: 1,
                flags: TCPBits.ack | TCPBits.psh, payload: req[...]), SpyEventLayout.ObservationCode.fromEndpoint, 4_000
        )
        record(
            Frames.tcp(
                from: Frames.server, to: Frames.client, sport: 80, dport: 40002, seq: 1, ack: 2,
                flags: TCPBits.ack | TCPBits.psh, payload: resp[...]), SpyEventLayout.ObservationCode.toEndpoint, 5_000)
        let client = Endpoint(
            id: 7, identity: 1234, clusterName: "default", namespace: "shop", labels: ["k8s:app=web", "k8s:tier=front"],
            podName: "web-1", workloads: [Workload(name: "web", kind: "Deployment")])
        let server = Endpoint(identity: 2, labels: ["reserved:world"])
        for i in out.indices {
            out[i].source = i % 2 == 0 ? client : server
            out[i].destination = i % 2 == 0 ? server : client
            out[i].sourceService = Service(name: "web", namespace: "shop")
        }
        var dropped = Flow(
            verdict: .dropped, dropReasonDesc: DropReason(rawValue: 133), type: .l3L4, nodeName: "node-1")
        dropped.ip = IPHeader(source: IPAddress("fd00::1")!, destination: IPAddress("fd00::2")!, ipVersion: .ipv6)
        out.append(dropped)
        return out
    }()
}
