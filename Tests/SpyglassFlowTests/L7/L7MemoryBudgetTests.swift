import SpyglassTesting
import Testing

@testable import SpyglassFlow

/// The L7 tables stay under their byte budgets (`L7Limits.setMemoryLimit`, `--l7-memory-limit-mb`) however long the
/// strings hostile clients put in them, and every eviction is counted.
@Suite("L7 memory budget")
struct L7MemoryBudgetTests {
    typealias W = DNSWire
    let obs = Observer()

    func udp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ payload: [UInt8]) -> [UInt8] {
        Frames.eth().ipv4(src: src, dst: dst).udp(sport: sport, dport: dport).payload(payload).build()
    }

    /// A DNS name of more than 200 characters (four 50-byte labels), unique by `i`.
    func longName(_ i: Int) -> String {
        "q\(i)." + Array(repeating: String(repeating: "n", count: 50), count: 4).joined(separator: ".") + ".test"
    }

    @Test func theLimitIsSharedAmongTheTables() {
        let d = L7Limits()
        #expect(d.memoryLimit == L7Limits.defaultMemoryLimit)
        #expect(d.maxReassemblyBytes == 8 << 20, "the default reassembly budget is unchanged")
        var l = L7Limits(maxReassemblyBytes: 4096)
        #expect(l.maxReassemblyBytes == 4096, "an explicit reassembly bound wins")
        l.setMemoryLimit(16 << 20)
        #expect(l.memoryLimit <= 16 << 20 && l.memoryLimit > 15 << 20)
        #expect(l.maxPendingHTTPBytes == 6 << 20 && l.maxNameBytes == 6 << 20 && l.maxReassemblyBytes == 2 << 20)
        #expect(l.maxPendingDNSBytes + l.maxDNSClaimBytes == 2 << 20)
    }

    @Test func lruTableEvictsOldestOverBudgetButNeverTheKeptEntry() {
        var t = LRUTable<Int, String>(capacity: 100, byteBudget: 1000)
        for i in 0..<5 { t.insert(i, "v\(i)", stamp: UInt64(i), cost: 300) }
        #expect(t.bytes == 1500 && t.isOverBudget)
        var evicted: [Int] = []
        t.evictOverBudget(keeping: t.slot(of: 0)!) { k, _ in evicted.append(k) }
        // 0 is the oldest but kept: 1 and 2 go.
        #expect(evicted == [1, 2] && t.bytes == 900 && t.count == 3)
        t.setCost(t.slot(of: 4)!, 50)
        #expect(t.bytes == 650)
        t.remove(0)
        t.removeOlder(than: .max) { _, _ in }
        #expect(t.bytes == 0 && t.isEmpty)
    }

    /// Requests with 1.5 KiB URLs on connections that never answer: the pending requests' bytes stay under their
    /// share while the count bounds (65,536 requests, 16,384 connections) are never reached.
    @Test func floodOfLongURLsStaysUnderTheBudget() throws {
        var limits = L7Limits()
        limits.setMemoryLimit(L7Limits.minimumMemoryLimit)
        let budget = limits.maxPendingHTTPBytes
        let a = L7Assembler(config: L7Config(limits: limits))
        let path = "/" + String(repeating: "u", count: 1500)
        var peak = 0
        for i in 0..<3_000 {
            var c = TCPConversation(client: "10.0.\(i / 250).\(i % 250 + 1)", clientPort: UInt16(10_000 + i))
            _ = obs.feed(
                a, c.fromClient("GET \(path)?\(i) HTTP/1.1\r\nHost: h\r\n\r\n"), timeNs: UInt64(i + 1) * 1_000_000)
            let s = a.stats
            let bytes = try #require(s.bytes[.httpPending])
            #expect(bytes <= budget, "request \(i): \(bytes) bytes pending, budget \(budget)")
            peak = max(peak, bytes)
        }
        let s = a.stats
        let pending = try #require(s.entries[.httpPending])
        #expect(s.httpRequests == 3_000)
        // The accounting is not too kind to itself: each pending request owns at least its URL.
        #expect(s.bytes[.httpPending]! >= pending * 1500)
        #expect(peak > budget * 9 / 10, "the budget is used, not undercut")
        #expect(pending < 3_000 && pending > 0)
        #expect(s.byteEvictions[.httpConnections] == UInt64(3_000 - pending), "one connection per request")
        #expect(s.evictions[.httpConnections] == nil, "no count bound was reached")
        #expect(UInt64(pending) + s.unansweredHTTP == s.httpRequests)
        a.expire(nowNs: 10_000_000_000_000)
        #expect(a.stats.bytes[.httpPending] == 0)
    }

    /// Answers naming 16 long names for each of many addresses: the names memory stays under its share, the
    /// newest answers are remembered and the evicted IPs are counted.
    @Test func floodOfLongNamesStaysUnderTheBudget() throws {
        var limits = L7Limits()
        limits.setMemoryLimit(L7Limits.minimumMemoryLimit)
        let budget = limits.maxNameBytes
        let a = L7Assembler(config: L7Config(limits: limits))
        var id: UInt16 = 0
        var last = ""
        for ip in 0..<400 {
            for n in 0..<16 {
                id &+= 1
                let name = longName(ip * 16 + n)
                let port = UInt16(2000 + ip % 1000)
                let t = UInt64(ip * 16 + n + 1) * 1_000
                _ = obs.feed(a, udp("10.0.0.1", "10.0.0.53", port, 53, W.query(id: id, name)), timeNs: t)
                _ = obs.feed(
                    a,
                    udp(
                        "10.0.0.53", "10.0.0.1", 53, port,
                        W.aResponse(id: id, name, ips: [[10, 7, UInt8(ip / 200), UInt8(ip % 200)]])),
                    obs: Obs.toEndpoint, timeNs: t)
                last = name
            }
            let bytes = try #require(a.stats.bytes[.names])
            #expect(bytes <= budget, "after IP \(ip): \(bytes) bytes of names, budget \(budget)")
        }
        let s = a.stats
        let ips = try #require(s.entries[.names])
        #expect(s.dnsResponses == 6_400 && s.dnsUnmatchedResponses == 0)
        #expect(ips < 400 && ips > 0)
        #expect(s.byteEvictions[.names] == UInt64(400 - ips))
        #expect(s.bytes[.names]! >= ips * 16 * 200, "each IP owns its 16 names")
        var f = obs.packet(Frames.eth().ipv4(src: "10.0.0.1", dst: "10.7.1.199").udp(sport: 1, dport: 2).build()).flow
        a.annotateNames(&f)
        #expect(f.destinationNames.count == 16 && f.destinationNames.contains(last + "."))
    }

    /// Unanswered queries for long names: the pending queries stay under their share, each one evicted for bytes is
    /// counted there and as unanswered.
    @Test func floodOfLongQueriesStaysUnderTheBudget() throws {
        var limits = L7Limits()
        limits.setMemoryLimit(L7Limits.minimumMemoryLimit)
        let budget = limits.maxPendingDNSBytes
        let a = L7Assembler(config: L7Config(limits: limits))
        for i in 0..<5_000 {
            let q = udp("10.0.0.1", "10.0.0.53", UInt16(1024 + i), 53, W.query(id: UInt16(i & 0xffff), longName(i)))
            _ = obs.feed(a, q, timeNs: UInt64(i + 1) * 1_000)
            #expect(a.stats.bytes[.dnsPending]! <= budget)
            #expect(a.stats.bytes[.dnsClaims]! <= limits.maxDNSClaimBytes)
        }
        let s = a.stats
        let pending = try #require(s.entries[.dnsPending])
        #expect(pending < 5_000 && pending > 0)
        #expect(s.byteEvictions[.dnsPending] == UInt64(5_000 - pending))
        #expect(s.evictions[.dnsPending] == nil)
        #expect(UInt64(pending) + s.unansweredDNS == 5_000)
        a.expire(nowNs: 1_000_000_000_000)
        #expect(a.stats.bytes[.dnsPending] == 0 && a.stats.bytes[.dnsClaims] == 0)
    }
}
