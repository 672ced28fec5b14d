/// Parses one DNS message from raw bytes (UDP payload, or a TCP message without its 2-byte length prefix).
///
/// Every read is bounds-checked; work is linear in the message size: each record is at least 11 bytes, each name at
/// most 255 bytes of labels, and a compression pointer must point strictly before the labels that led to it (so
/// following pointers always moves backwards and ends). Never traps, never loops.
public enum DNSParser {
    /// Pointers followed in one name at most (a belt to the strictly-backwards braces).
    public static let maxPointerJumps = 64
    /// Questions kept at most; the rest are walked and skipped.
    public static let maxQuestions = 16

    /// - Parameters:
    ///   - bytes: the message.
    ///   - isPrefix: `bytes` is only the beginning of a longer message (the snapshot or a buffer limit cut it).
    ///     Running out of bytes after the question section then yields `isPartial` instead of `.truncated`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, isPrefix: Bool = false) throws(DNSParseError)
        -> DNSMessage
    {
        let r = Reader(bytes)
        guard bytes.count >= 12 else { throw .shortHeader }
        let id = r.be16(0)
        let flags = DNSHeaderFlags(rawValue: r.be16(2))
        let qd = Int(r.be16(4))
        let an = Int(r.be16(6))
        let ns = Int(r.be16(8))
        let ar = Int(r.be16(10))
        var off = 12

        var questions: [DNSQuestion] = []
        questions.reserveCapacity(min(qd, 2))
        for _ in 0..<qd {
            let keep = questions.count < maxQuestions
            let (end, name) = try r.name(at: off, decode: keep)
            guard r.has(end, 4) else { throw .truncated }
            if keep {
                questions.append(DNSQuestion(name: name, type: r.be16(end), qclass: r.be16(end + 2)))
            }
            off = end + 4
        }

        var answers: [DNSResourceRecord] = []
        answers.reserveCapacity(min(an, 8))
        var optRcodeHigh: UInt16? = nil
        var partial = false
        let total = an + ns + ar
        var i = 0
        records: while i < total {
            let section = i < an ? 0 : (i < an + ns ? 1 : 2)
            do throws(DNSParseError) {
                let isAnswer = section == 0
                let (end, owner) = try r.name(at: off, decode: isAnswer)
                guard r.has(end, 10) else { throw .truncated }
                let type = r.be16(end)
                let rrclass = r.be16(end + 2)
                let ttl = r.be32(end + 4)
                let rdLength = Int(r.be16(end + 8))
                let rdStart = end + 10
                guard r.has(rdStart, rdLength) else { throw .truncated }
                let rdEnd = rdStart + rdLength
                if isAnswer {
                    let data: DNSRData
                    switch type {
                    case DNSRecordType.a:
                        guard rdLength == 4 else { throw .badRData }
                        data = .address(IPAddress(high: UInt64(r.be32(rdStart)) << 32, low: 0, isIPv6: false))
                    case DNSRecordType.aaaa:
                        guard rdLength == 16 else { throw .badRData }
                        data = .address(IPAddress(high: r.be64(rdStart), low: r.be64(rdStart + 8), isIPv6: true))
                    case DNSRecordType.cname, DNSRecordType.ns, DNSRecordType.ptr, DNSRecordType.dname:
                        let (nameEnd, target) = try r.name(at: rdStart, decode: true)
                        guard nameEnd == rdEnd else { throw .badRData }
                        data = .name(target)
                    default:
                        data = .other(length: rdLength)
                    }
                    answers.append(DNSResourceRecord(name: owner, type: type, rrclass: rrclass, ttl: ttl, data: data))
                } else if section == 2 && type == DNSRecordType.opt {
                    optRcodeHigh = UInt16(ttl >> 24)
                }
                off = rdEnd
            } catch {
                // A cut in the answer/authority/additional section of a prefix is expected: keep what was whole.
                if error == .truncated && isPrefix {
                    partial = true
                    break records
                }
                throw error
            }
            i += 1
        }

        var rcode = UInt16(flags.rcode)
        if let high = optRcodeHigh { rcode |= high << 4 }
        return DNSMessage(
            id: id, flags: flags, rcode: rcode, questions: questions, answers: answers,
            authorityCount: ns, additionalCount: ar, isPartial: partial)
    }

    public static func parse(_ bytes: [UInt8], isPrefix: Bool = false) throws(DNSParseError) -> DNSMessage {
        let result: Result<DNSMessage, DNSParseError> = bytes.withUnsafeBytes { raw in
            do throws(DNSParseError) { return .success(try parse(raw, isPrefix: isPrefix)) } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads only the header (id and flags) — enough to route a message before parsing it.
    static func header(_ bytes: UnsafeRawBufferPointer) -> (id: UInt16, flags: DNSHeaderFlags)? {
        guard bytes.count >= 12 else { return nil }
        let r = Reader(bytes)
        return (r.be16(0), DNSHeaderFlags(rawValue: r.be16(2)))
    }

    struct Reader {
        let b: UnsafeRawBufferPointer
        init(_ b: UnsafeRawBufferPointer) { self.b = b }

        @inline(__always) func has(_ o: Int, _ n: Int) -> Bool { o >= 0 && n >= 0 && o <= b.count && n <= b.count - o }
        @inline(__always) func be16(_ o: Int) -> UInt16 {
            UInt16(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
        }
        @inline(__always) func be32(_ o: Int) -> UInt32 {
            UInt32(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))
        }
        @inline(__always) func be64(_ o: Int) -> UInt64 {
            UInt64(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self))
        }

        /// Reads the name at `start`. Returns the offset after the name *where it starts* (after the first pointer,
        /// if any) and, when `decode`, its text.
        func name(at start: Int, decode: Bool) throws(DNSParseError) -> (end: Int, text: String) {
            guard decode else { return (try walk(start, into: nil).end, "") }
            // 255 wire bytes escape to at most 4 × 255 text bytes: a stack buffer, one String at the end.
            let r: Result<(Int, String), DNSParseError> = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024)
            { buf in
                do throws(DNSParseError) {
                    let (end, length) = try walk(start, into: buf)
                    if length == 0 { return .success((end, ".")) }
                    return .success(
                        (end, String(decoding: UnsafeBufferPointer(rebasing: buf[0..<length]), as: UTF8.self)))
                } catch {
                    return .failure(error)
                }
            }
            return try r.get()
        }

        /// Follows the labels and pointers of the name at `start`; writes its text into `out` when given. Returns the
        /// offset after the name where it starts and the text length.
        private func walk(_ start: Int, into out: UnsafeMutableBufferPointer<UInt8>?) throws(DNSParseError) -> (
            end: Int, length: Int
        ) {
            var pos = start
            // Labels from here up to a pointer were read in this run; a pointer must target strictly before it.
            var runStart = start
            var end = -1
            var wireLength = 0
            var jumps = 0
            var length = 0
            while true {
                guard pos < b.count else { throw .truncated }
                let len = Int(b[pos])
                switch len & 0xc0 {
                case 0x00:
                    wireLength += len + 1
                    guard wireLength <= 255 else { throw .nameTooLong }
                    if len == 0 {
                        if end < 0 { end = pos + 1 }
                        return (end, length)
                    }
                    guard has(pos + 1, len) else { throw .truncated }
                    if let out { appendLabel(pos + 1, len, to: out, at: &length) }
                    pos += 1 + len
                case 0xc0:
                    guard pos + 1 < b.count else { throw .truncated }
                    let target = (len & 0x3f) << 8 | Int(b[pos + 1])
                    guard target < b.count else { throw .pointerOutOfRange }
                    guard target < runStart else { throw .pointerLoop }
                    jumps += 1
                    guard jumps <= DNSParser.maxPointerJumps else { throw .pointerLoop }
                    if end < 0 { end = pos + 2 }
                    pos = target
                    runStart = target
                default:
                    throw .badLabelType
                }
            }
        }

        /// Appends one label and its dot (at most 4 × 63 + 1 bytes; the caller's buffer holds 4 × 255).
        private func appendLabel(_ o: Int, _ n: Int, to out: UnsafeMutableBufferPointer<UInt8>, at k: inout Int) {
            for i in o..<(o + n) {
                let c = b[i]
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    out[k] = c | 0x20
                    k += 1
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    out[k] = UInt8(ascii: "\\")
                    out[k + 1] = c
                    k += 2
                case 0x21...0x7e:
                    out[k] = c
                    k += 1
                default:
                    out[k] = UInt8(ascii: "\\")
                    out[k + 1] = UInt8(ascii: "0") + c / 100
                    out[k + 2] = UInt8(ascii: "0") + (c / 10) % 10
                    out[k + 3] = UInt8(ascii: "0") + c % 10
                    k += 4
                }
            }
            out[k] = UInt8(ascii: ".")
            k += 1
        }
    }
}
