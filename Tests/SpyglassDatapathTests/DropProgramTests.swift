import Glibc
import SpyglassFlow
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// The kfree_skb drop program loads and attaches on the running kernel, and a real drop (a UDP datagram to a
/// closed port on loopback) arrives as a DROPPED flow with the kernel's own reason. scripts/kernel-vm.sh runs this
/// suite on other kernels too, so it checks what every supported kernel must do, not one kernel's numbers.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct DropProgramTests {
    func load() throws -> (TCPrograms, DropPrograms) {
        var c = DatapathConfig()
        c.ringBufferBytes = 1 << 20
        let tc = try TCPrograms(config: c)
        var d = DropConfig()
        d.ratePerReason = 0  // unlimited: other namespaces' drops must not suppress ours
        return (tc, try DropPrograms(sharing: tc, config: d))
    }

    /// A loopback port nobody listens on: bound once to learn a free number, then closed.
    static func closedUDPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var a = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")),
            sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        try #require(rc, "bind/getsockname on 127.0.0.1: errno \(errno)")
        return UInt16(bigEndian: a.sin_port)
    }

    static func sendUDP(to port: UInt16, count: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var a = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian,
            sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        let payload = Array("spyglass-drop".utf8)
        for _ in 0..<count {
            // An unconnected socket: the ICMP port-unreachable that comes back is not reported to us as an error.
            let n = withUnsafePointer(to: &a) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(n == payload.count, "sendto: errno \(errno)")
        }
    }

    @Test func kernelReasonsAreReadFromBTF() throws {
        let r = KernelDropReasons.load()
        // Every kernel since 5.17 has the reason argument and these names; older kernels are reported, not tested.
        #expect(r.hasReasonArgument, "btf_trace_kfree_skb has no reason argument on this kernel")
        let names = Set(r.names.values)
        for n in ["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "TCP_CSUM", "UDP_CSUM", "IP_INHDR"] {
            #expect(names.contains(n), "skb_drop_reason lacks \(n)")
        }
        // The two non-drops the program ignores must be exactly these names or absent (6.1 has no CONSUMED); a
        // default that lands on a real reason (1 is NOT_SPECIFIED on 6.1) would hide those drops.
        #expect(r.names[r.notDroppedYet] == "NOT_DROPPED_YET")
        if names.contains("CONSUMED") {
            #expect(r.names[r.consumed] == "CONSUMED")
        } else {
            #expect(r.consumed == KernelDropReasons.absent)
        }
    }

    @Test func loadsAttachesAndReportsAClosedPortDropWithItsKernelReason() throws {
        let (tc, drops) = try load()
        _ = try tc.drainEvents()  // whatever other namespaces dropped while loading
        let port = try Self.closedUDPPort()
        let sent = 3
        try Self.sendUDP(to: port, count: sent)
        let decoder = EventDecoder(
            nodeName: "test-node", bootToWallOffsetNs: 0, dropReasonResolver: drops.reasons.resolver())
        var ours: [Flow] = []
        // The datagrams are dropped synchronously on loopback; poll briefly for the ring buffer anyway.
        for _ in 0..<50 where ours.count < sent {
            ours += try tc.drainEvents().map { try decoder.decode($0) }.filter {
                if case .udp(let u) = $0.l4 { return u.destinationPort == port && $0.verdict == .dropped }
                return false
            }
            if ours.count < sent { usleep(20_000) }
        }
        try #require(ours.count == sent, "drop flows for UDP to closed port \(port)")
        for f in ours {
            #expect(f.kernelDropReason == "NO_SOCKET")
            #expect(f.ip?.source == IPAddress("127.0.0.1"))
            #expect(f.eventType?.type == CiliumEventType.drop)
        }
        // Counted per reason and class; a unicast datagram to a closed port is class drop.
        let seen = drops.counts()[DropCountKey(reason: "NO_SOCKET", dropClass: .drop)]?.seen ?? 0
        #expect(seen >= UInt64(sent), "kernel-side count of NO_SOCKET: \(seen)")
    }
}
