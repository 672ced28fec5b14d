import Testing

@testable import SpyglassFlow

@Suite("L7 DNS parser")
struct L7DNSParserTests {
    typealias W = DNSWire

    @Test func aQuery() throws {
        let m = try DNSParser.parse(W.query(id: 0xbeef, "Example.COM."))
        #expect(m.id == 0xbeef)
        #expect(!m.isResponse)
        #expect(m.flags.recursionDesired && !m.flags.recursionAvailable && m.flags.opcode == 0)
        #expect(m.questions == [DNSQuestion(name: "example.com.", type: 1)])
        #expect(m.answers.isEmpty && m.rcode == 0 && !m.isPartial)
    }

    @Test func aResponse() throws {
        let m = try DNSParser.parse(W.aResponse("example.com", ips: [[93, 184, 216, 34], [10, 0, 0, 9]], ttl: 42))
        #expect(m.isResponse && m.flags.recursionAvailable && m.flags.recursionDesired && !m.flags.authoritative)
        #expect(m.rcode == 0)
        #expect(m.answers.count == 2)
        #expect(
            m.answers[0]
                == DNSResourceRecord(
                    name: "example.com.", type: 1, ttl: 42, data: .address(IPAddress("93.184.216.34")!)))
        #expect(m.answers[1].data == .address(IPAddress("10.0.0.9")!))
    }

    @Test func aaaaResponse() throws {
        let v6 = IPAddress("2001:db8::1")!.bytes
        var msg = W.header(id: 7, flags: 0x8580, qd: 1, an: 1) + W.question("v6.test", type: 28)
        msg += W.record(owner: W.ptr(12), type: 28, ttl: 60, rdata: v6)
        let m = try DNSParser.parse(msg)
        #expect(m.flags.authoritative)
        #expect(m.questions[0].type == 28)
        #expect(
            m.answers == [
                DNSResourceRecord(name: "v6.test.", type: 28, ttl: 60, data: .address(IPAddress("2001:db8::1")!))
            ])
        #expect(DNSRecordType.name(m.answers[0].type) == "AAAA")
    }

    /// www.example.com → CNAME a.cdn.net → CNAME b.cdn.net → A, with the targets compressed against earlier names.
    static func cnameChain() -> [UInt8] {
        var msg = W.header(id: 9, flags: 0x8180, qd: 1, an: 3) + W.question("www.example.com")
        // Answer 1 owner: pointer to the question (12). Its target: a.cdn.net written out.
        let rdata1 = W.name("a.cdn.net")
        let answer1Start = msg.count
        msg += W.record(owner: W.ptr(12), type: 5, ttl: 300, rdata: rdata1)
        let aCdnOffset = answer1Start + 2 + 10  // after owner pointer and the fixed fields
        // Answer 2 owner: pointer to a.cdn.net; target b + pointer to cdn.net (a.cdn.net's suffix at +2).
        msg += W.record(
            owner: W.ptr(aCdnOffset), type: 5, ttl: 120, rdata: [1, UInt8(ascii: "b")] + W.ptr(aCdnOffset + 2))
        let bCdnOffset = msg.count - 4
        msg += W.record(owner: W.ptr(bCdnOffset), type: 1, ttl: 30, rdata: [192, 0, 2, 7])
        return msg
    }

    @Test func cnameChainWithCompression() throws {
        let m = try DNSParser.parse(Self.cnameChain())
        #expect(m.answers.map(\.name) == ["www.example.com.", "a.cdn.net.", "b.cdn.net."])
        #expect(m.answers.map(\.data) == [.name("a.cdn.net."), .name("b.cdn.net."), .address(IPAddress("192.0.2.7")!)])
        #expect(m.answers.map(\.ttl) == [300, 120, 30])
        #expect(m.answers.map { DNSRecordType.name($0.type) } == ["CNAME", "CNAME", "A"])
    }

    @Test func nxdomainWithSOAInAuthority() throws {
        var msg = W.header(id: 3, flags: 0x8183, qd: 1, an: 0, ns: 1) + W.question("nope.example")
        let soa =
            W.name("ns.example") + W.name("hostmaster.example") + W.u32(1) + W.u32(2) + W.u32(3) + W.u32(4) + W.u32(5)
        msg += W.record(owner: W.ptr(17), type: 6, ttl: 900, rdata: soa)
        let m = try DNSParser.parse(msg)
        #expect(m.rcode == 3)
        #expect(m.answers.isEmpty)
        #expect(m.authorityCount == 1)
    }

    @Test func refused() throws {
        let m = try DNSParser.parse(W.header(id: 4, flags: 0x8105, qd: 1, an: 0) + W.question("x.test"))
        #expect(m.rcode == 5)
    }

    @Test func ednsExtendedRcode() throws {
        // BADVERS (16): header rcode 0, OPT TTL upper byte 1.
        var msg = W.header(id: 5, flags: 0x8180, qd: 1, an: 0, ar: 1) + W.question("x.test")
        msg += [0] + W.u16(41) + W.u16(1232) + W.u32(0x0100_0000) + W.u16(0)
        #expect(try DNSParser.parse(msg).rcode == 16)
    }

    @Test func multipleQuestions() throws {
        let msg =
            W.header(id: 6, flags: 0x0100, qd: 2, an: 0) + W.question("a.test", type: 1)
            + W.question("a.test", type: 28)
        let m = try DNSParser.parse(msg)
        #expect(m.questions.map(\.type) == [1, 28])
        #expect(m.questions.map(\.name) == ["a.test.", "a.test."])
    }

    @Test func typeNames() {
        #expect(DNSRecordType.name(1) == "A")
        #expect(DNSRecordType.name(28) == "AAAA")
        #expect(DNSRecordType.name(5) == "CNAME")
        #expect(DNSRecordType.name(15) == "MX")
        #expect(DNSRecordType.name(16) == "TXT")
        #expect(DNSRecordType.name(12) == "PTR")
        #expect(DNSRecordType.name(33) == "SRV")
        #expect(DNSRecordType.name(2) == "NS")
        #expect(DNSRecordType.name(6) == "SOA")
        #expect(DNSRecordType.name(65) == "HTTPS")
        #expect(DNSRecordType.name(64) == "SVCB")
        #expect(DNSRecordType.name(255) == "ANY")
        #expect(DNSRecordType.name(65534) == "TYPE65534")
    }

    @Test func rootAndEscapedNames() throws {
        // Root query; a label with a dot, a backslash, a space and a byte 0xff; upper case lowered.
        #expect(try DNSParser.parse(W.header(id: 1, flags: 0, qd: 1, an: 0) + [0, 0, 2, 0, 1]).questions[0].name == ".")
        let label: [UInt8] = [UInt8(ascii: "A"), UInt8(ascii: "."), UInt8(ascii: "\\"), 0x20, 0xff]
        let msg = W.header(id: 1, flags: 0, qd: 1, an: 0) + [UInt8(label.count)] + label + W.name("Test") + [0, 1, 0, 1]
        #expect(try DNSParser.parse(msg).questions[0].name == #"a\.\\\032\255.test."#)
    }

    // MARK: Rejections

    func reject(
        _ msg: [UInt8], _ expected: DNSParseError, isPrefix: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try DNSParser.parse(msg, isPrefix: isPrefix) }
    }

    @Test func compressionLoopsAndRanges() {
        let h = W.header(id: 1, flags: 0x8180, qd: 1, an: 0)
        // Question name is a pointer to itself.
        reject(h + W.ptr(12) + [0, 1, 0, 1], .pointerLoop)
        // Forward pointer (to the next bytes).
        reject(h + W.ptr(14) + [1, 0x61, 0, 0, 1, 0, 1], .pointerLoop)
        // Two names pointing at each other: answer owner → 30, and at 30 a pointer back to the answer.
        var twoCycle = h
        twoCycle[7] = 1  // ancount 1
        twoCycle += W.question("a.test")
        let ownerAt = twoCycle.count
        twoCycle += W.ptr(ownerAt + 12) + W.u16(1) + W.u16(1) + W.u32(1) + W.u16(2) + W.ptr(ownerAt)
        reject(twoCycle, .pointerLoop)
        // A label that swallows the pointer bytes, then a pointer back to it (the classic trick that defeats a
        // plain "pointer < own position" rule).
        var trick = W.header(id: 1, flags: 0x8180, qd: 1, an: 0)
        trick += [2] + W.ptr(12) + W.ptr(12) + [0, 1, 0, 1]
        reject(trick, .pointerLoop)
        // Out of range.
        reject(h + W.ptr(0x3fff) + [0, 1, 0, 1], .pointerOutOfRange)
        reject(h + [1, 0x61] + W.ptr(200) + [0, 1, 0, 1], .pointerOutOfRange)
    }

    @Test func badLabelsAndLengths() {
        let h = W.header(id: 1, flags: 0, qd: 1, an: 0)
        reject(h + [0x40, 0, 0, 1, 0, 1], .badLabelType)
        reject(h + [0x80, 0, 0, 1, 0, 1], .badLabelType)
        // 5 labels of 63 bytes: 320 bytes > 255.
        var long = h
        for _ in 0..<5 { long += [63] + [UInt8](repeating: 0x61, count: 63) }
        reject(long + [0, 0, 1, 0, 1], .nameTooLong)
        // Bad RDATA: A with 5 bytes, AAAA with 4, CNAME target running past RDLENGTH.
        let q = W.header(id: 1, flags: 0x8180, qd: 1, an: 1) + W.question("a.test")
        reject(q + W.record(owner: W.ptr(12), type: 1, ttl: 1, rdata: [1, 2, 3, 4, 5]), .badRData)
        reject(q + W.record(owner: W.ptr(12), type: 28, ttl: 1, rdata: [1, 2, 3, 4]), .badRData)
        reject(q + W.record(owner: W.ptr(12), type: 5, ttl: 1, rdata: [3, 0x61, 0x62]) + [0x63, 0], .badRData)
        reject([0, 1, 2], .shortHeader)
    }

    @Test func truncatedAtEveryLength() throws {
        for whole in [
            W.aResponse("example.com", ips: [[1, 2, 3, 4], [5, 6, 7, 8]]), Self.cnameChain(), W.query("a.b.c.d")
        ] {
            _ = try DNSParser.parse(whole)
            let questionEnd = 12 + W.name(try DNSParser.parse(whole).questions[0].name).count + 4
            for n in 0..<whole.count {
                let cut = Array(whole.prefix(n))
                #expect(throws: DNSParseError.self) { try DNSParser.parse(cut) }
                // As a snapshot prefix: whole header and question give a partial message, anything shorter fails.
                if n >= questionEnd, n < whole.count {
                    let m = try DNSParser.parse(cut, isPrefix: true)
                    #expect(m.isPartial)
                    #expect(m.answers.count <= (try DNSParser.parse(whole)).answers.count)
                } else if n < questionEnd {
                    #expect(throws: DNSParseError.self) { try DNSParser.parse(cut, isPrefix: true) }
                }
            }
        }
    }

    @Test func seededGarbageAndMutationsNeverTrap() {
        var rng = SeededRandom(seed: 0xd45)
        var parsedGarbage = 0
        var parsedMutated = 0
        var reasons: Set<String> = []
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<20_000 {
                let n = Int(rng.next() % 600)
                var b = rng.bytes(n)
                if n >= 12 && rng.next() % 2 == 0 {
                    // Plausible counts make the parser go deep.
                    b[4] = 0; b[5] = UInt8(rng.next() % 4)
                    b[6] = 0; b[7] = UInt8(rng.next() % 40)
                }
                do throws(DNSParseError) {
                    _ = try DNSParser.parse(b, isPrefix: rng.next() % 2 == 0)
                    parsedGarbage += 1
                } catch { reasons.insert(error.reason) }
            }
            let valid = Self.cnameChain()
            for _ in 0..<20_000 {
                var b = valid
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                do throws(DNSParseError) {
                    _ = try DNSParser.parse(b)
                    parsedMutated += 1
                } catch { reasons.insert(error.reason) }
            }
        }
        // Both outcomes happen, and every rejection carries a reason the metric knows.
        #expect(parsedMutated > 0 && parsedMutated < 20_000, "\(parsedMutated) of 20000 mutated messages parsed")
        #expect(parsedGarbage < 20_000)
        #expect(reasons.count >= 3 && reasons.isSubset(of: Set(DNSParseError.allReasons)), "\(reasons)")
        #expect(elapsed < .seconds(20))
    }
}

@Suite("L7 DNS over TCP framing")
struct L7DNSTCPFramingTests {
    typealias W = DNSWire

    func framed(_ m: [UInt8]) -> [UInt8] { W.u16(UInt16(m.count)) + m }

    /// Feeds segments through the framer (in order, no loss) and returns the messages' ids and prefix flags.
    func run(_ segments: [[UInt8]], maxMessage: Int = 16384, missing: [Int] = []) -> (
        ids: [UInt16], prefixes: [Bool], bad: Int, lost: Int
    ) {
        var f = DNSTCPFramer()
        var budget = 1 << 20
        var exceeded: UInt64 = 0
        var ids: [UInt16] = []
        var prefixes: [Bool] = []
        var bad = 0
        var lost = 0
        for (i, s) in segments.enumerated() {
            s.withUnsafeBytes { raw in
                let m = i < missing.count ? missing[i] : 0
                let seg = Segment(bytes: raw, length: raw.count + m)
                let l = f.feed(seg, maxMessageBytes: maxMessage, budget: &budget, budgetExceeded: &exceeded) { e in
                    switch e {
                    case .message(let b, let isPrefix):
                        ids.append(UInt16(b[0]) << 8 | UInt16(b[1]))
                        prefixes.append(isPrefix)
                    case .badLength:
                        bad += 1
                    }
                }
                if l { lost += 1 }
            }
        }
        #expect(budget == 1 << 20, "buffers are returned to the budget")
        return (ids, prefixes, bad, lost)
    }

    @Test func twoMessagesInOneSegment() {
        let r = run([framed(W.query(id: 1, "a.test")) + framed(W.query(id: 2, "b.test"))])
        #expect(r.ids == [1, 2] && r.prefixes == [false, false])
    }

    @Test func splitAtEveryByte() {
        let stream = framed(W.query(id: 1, "a.test")) + framed(W.aResponse(id: 2, "b.test", ips: [[1, 1, 1, 1]]))
        for cut in 1..<stream.count {
            let r = run([Array(stream[..<cut]), Array(stream[cut...])])
            #expect(r.ids == [1, 2], "cut at \(cut)")
            #expect(r.lost == 0)
        }
        // One byte per segment.
        #expect(run(stream.map { [$0] }).ids == [1, 2])
    }

    @Test func oversizedMessageIsParsedAsPrefix() throws {
        let big = W.aResponse(id: 3, "big.test", ips: (0..<100).map { [10, 0, 0, UInt8($0)] })
        // Whole in one segment: parsed in place, no buffer, no limit.
        #expect(run([framed(big) + framed(W.query(id: 4, "next.test"))], maxMessage: 200).prefixes == [false, false])
        // Spanning segments: buffered up to the limit, parsed as a prefix, the rest skipped by count.
        let stream = framed(big) + framed(W.query(id: 4, "next.test"))
        let r = run([Array(stream[..<100]), Array(stream[100...])], maxMessage: 200)
        #expect(r.ids == [3, 4])
        #expect(r.prefixes == [true, false])
    }

    @Test func bytesMissingPastTheSnapshot() {
        // The first segment's message is cut by 10 bytes the snapshot did not hold: a prefix, then the next
        // segment starts cleanly.
        let first = framed(W.aResponse(id: 5, "a.test", ips: [[1, 2, 3, 4], [5, 6, 7, 8]]))
        let r = run([Array(first.dropLast(10)), framed(W.query(id: 6, "b.test"))], missing: [10])
        #expect(r.ids == [5, 6])
        #expect(r.prefixes == [true, false])
    }

    @Test func badLengthResyncsAtNextSegment() {
        let r = run([[0, 3, 1, 2, 3], framed(W.query(id: 7, "c.test"))])
        #expect(r.bad == 1)
        #expect(r.ids == [7])
    }
}
