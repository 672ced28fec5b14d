import Foundation
import SpyglassTesting
import Testing

@testable import SpyglassFlow

/// Not a timed test: prints messages/s when `SPYGLASS_THROUGHPUT=1` is set. For a meaningful figure run it in
/// release mode:
///     SPYGLASS_THROUGHPUT=1 swift test -c release -Xswiftc -enable-testing --filter L7Throughput
@Suite("L7 throughput", .enabled(if: EnvFlag.throughput))
struct L7Throughput {
    static func rate(_ n: Int, _ body: () -> Int) -> (Double, Int) {
        let clock = ContinuousClock()
        var check = 0
        let d = clock.measure { check = body() }
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return (Double(n) / s, check)
    }

    @Test func parsers() {
        let dns = DNSWire.aResponse("www.example.com", ips: [[93, 184, 216, 34], [93, 184, 216, 35]])
        let head = bytes(
            "GET /api/v1/items?id=42 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n"
                + "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nAuthorization: Bearer x\r\n\r\n"
        )
        let n = 1_000_000
        let (d, c1) = Self.rate(n) {
            dns.withUnsafeBytes { raw in
                var k = 0
                for _ in 0..<n { k &+= (try? DNSParser.parse(raw))?.answers.count ?? 0 }
                return k
            }
        }
        let (h, c2) = Self.rate(n) {
            head.withUnsafeBytes { raw in
                var k = 0
                for _ in 0..<n { k &+= (try? HTTPParser.parseHead(raw, isRequest: true))?.headers.count ?? 0 }
                return k
            }
        }
        print(
            "L7: DNS response parse \(Int(d)) msg/s (check \(c1)); HTTP request head parse \(Int(h)) msg/s (check \(c2))"
        )
    }

    @Test func assembler() {
        let obs = Observer()
        // 1000 keep-alive exchanges on one connection, fed to a fresh assembler per round.
        var tcp = TCPConversation()
        var packets: [(Flow, [UInt8], UInt64)] = []
        for i in 0..<1000 {
            let t = UInt64(i) * 2_000 + 1
            let q = tcp.fromClient(
                "GET /items/\(i) HTTP/1.1\r\nHost: shop\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n"
            )
            let r = tcp.fromServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            let a = obs.packet(q, obs: Obs.fromEndpoint, timeNs: t)
            let b = obs.packet(r, obs: Obs.toEndpoint, timeNs: t + 1_000)
            packets.append((a.flow, a.snapshot, t))
            packets.append((b.flow, b.snapshot, t + 1_000))
        }
        let rounds = 200
        let (httpRate, c1) = Self.rate(rounds * 1000) {
            var k = 0
            for _ in 0..<rounds {
                let asm = L7Assembler()
                for (f, s, t) in packets { k &+= asm.process(flow: f, frame: s, monotonicNs: t).count }
            }
            return k
        }
        var dnsPackets: [(Flow, [UInt8], UInt64)] = []
        for i in 0..<1000 {
            let q = DNSWire.query(id: UInt16(i), "svc\(i % 50).ns.svc.cluster.local")
            let r = DNSWire.aResponse(
                id: UInt16(i), "svc\(i % 50).ns.svc.cluster.local", ips: [[10, 96, UInt8(i >> 8), UInt8(i & 0xff)]])
            let qf = Frames.eth().ipv4(src: "10.0.0.1", dst: "10.96.0.10").udp(sport: 40000, dport: 53).payload(q)
                .build()
            let rf = Frames.eth().ipv4(src: "10.96.0.10", dst: "10.0.0.1").udp(sport: 53, dport: 40000).payload(r)
                .build()
            let a = obs.packet(qf, obs: Obs.fromEndpoint, timeNs: UInt64(i) * 10)
            let b = obs.packet(rf, obs: Obs.toEndpoint, timeNs: UInt64(i) * 10 + 5)
            dnsPackets.append((a.flow, a.snapshot, UInt64(i) * 10))
            dnsPackets.append((b.flow, b.snapshot, UInt64(i) * 10 + 5))
        }
        let asm = L7Assembler()
        let (dnsRate, c2) = Self.rate(rounds * 1000) {
            var k = 0
            for _ in 0..<rounds {
                for (f, s, t) in dnsPackets { k &+= asm.process(flow: f, frame: s, monotonicNs: t).count }
            }
            return k
        }
        // Packets on other ports: the cost every non-L7 packet pays.
        let other = obs.packet(Frames.v4().tcp(sport: 40000, dport: 443, flags: [.ack]).payload(bytes("x")).build())
        let (skipRate, c3) = Self.rate(5_000_000) {
            var k = 0
            for _ in 0..<5_000_000 { k &+= asm.process(flow: other.flow, frame: other.snapshot, monotonicNs: 1).count }
            return k + 1
        }
        print(
            "L7Assembler: HTTP \(Int(httpRate)) exchanges/s (\(c1) flows); DNS \(Int(dnsRate)) exchanges/s (\(c2) flows); non-L7 packets \(Int(skipRate))/s (\(c3))"
        )
        #expect(c1 == rounds * 2000 && c2 == rounds * 2000)
    }
}
