/// The head (start line and header fields) of an HTTP/1.x message (RFC 9112 §2–§5), with what framing needs.
public struct HTTPHead: Sendable, Equatable {
    public enum StartLine: Sendable, Equatable {
        case request(method: String, target: String)
        case response(status: UInt32, reason: String)
    }

    public var startLine: StartLine
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// Header fields in wire order, names in Go's canonical form (`Content-Type`); values with surrounding
    /// whitespace removed, obsolete line folding joined with a space. Empty unless asked for.
    public var headers: [HTTPHeader]
    /// Content-Length, when present and valid (equal repeated values are accepted, RFC 9110 §8.6).
    public var contentLength: Int?
    /// Transfer-Encoding was present; `chunked`: its last coding is `chunked`.
    public var hasTransferEncoding: Bool
    public var chunked: Bool
    /// A Content-Length that is not a non-negative decimal, or several different ones.
    public var invalidContentLength: Bool
    /// `Host`, as sent.
    public var host: String?
    /// `traceparent`, as sent.
    public var traceparent: String?
    /// The head was cut (snapshot, lost segment, size limit): only whole header lines are here.
    public var isPartial: Bool

    public var isRequest: Bool {
        if case .request = startLine { return true }
        return false
    }
    public var method: String {
        if case .request(let m, _) = startLine { return m }
        return ""
    }
    public var target: String {
        if case .request(_, let t) = startLine { return t }
        return ""
    }
    public var statusCode: UInt32 {
        if case .response(let s, _) = startLine { return s }
        return 0
    }
}

/// Why an HTTP message was rejected; `reason` is the label value of `spyglass_l7_malformed_total{protocol="http"}`.
public enum HTTPParseError: Error, Sendable, Equatable, CaseIterable {
    /// The request/status line is not `token SP target SP version` / `version SP 3DIGIT [SP reason]`.
    case badStartLine
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    case badVersion
    /// A header line without a colon, with whitespace before it, or with an invalid name.
    case badHeader
    /// More header lines than `maxHTTPHeaderCount`.
    case tooManyHeaders
    /// The head grew past `maxHTTPHeaderBytes` without ending (parsed up to the limit, then counted here).
    case oversizedHeaders
    /// An invalid Content-Length: the body cannot be delimited.
    case badContentLength
    /// A Transfer-Encoding other than a final `chunked` on a request (RFC 9112 §6.3: the server rejects it).
    case badTransferEncoding
    /// Chunked framing that is not `hex-size [;ext] CRLF data CRLF`.
    case badChunk

    public var reason: String {
        switch self {
        case .badStartLine: "bad_start_line"
        case .badVersion: "bad_version"
        case .badHeader: "bad_header"
        case .tooManyHeaders: "too_many_headers"
        case .oversizedHeaders: "oversized_headers"
        case .badContentLength: "bad_content_length"
        case .badTransferEncoding: "bad_transfer_encoding"
        case .badChunk: "bad_chunk"
        }
    }

    public static let allReasons: [String] = allCases.map(\.reason)
}

/// Parses HTTP/1.x heads from bytes. Accepts bare LF line ends (RFC 9112 §2.2 allows it) and ignores empty lines
/// before the start line; rejects everything else that is not well-formed.
public enum HTTPParser {
    /// Longest method token accepted.
    public static let maxMethodLength = 24

    /// Finds the end of a head: the offset just after the empty line (`CRLF CRLF` or `LF LF`, mixed forms
    /// accepted), searching from `from` (re-scan a few bytes before new data). Nil when there is none yet.
    public static func headEnd(_ b: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
        var i = max(0, from)
        let n = b.count
        while i < n {
            guard let lf = indexOfLF(b, from: i) else { return nil }
            // lf ends a line; the head ends if the next line is empty.
            var j = lf + 1
            if j < n && b[j] == UInt8(ascii: "\r") { j += 1 }
            if j < n && b[j] == UInt8(ascii: "\n") { return j + 1 }
            if j >= n { return nil }
            i = lf + 1
        }
        return nil
    }

    @inline(__always)
    static func indexOfLF(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let n = b.count
        while i < n {
            if b[i] == 0x0a { return i }
            i += 1
        }
        return nil
    }

    /// Parses a head. `bytes` runs from the start line to the end of the empty line (`complete`), or is the cut
    /// beginning of a head (`complete == false`: the last, unterminated line is ignored and the result `isPartial`).
    public static func parseHead(
        _ bytes: UnsafeRawBufferPointer, isRequest: Bool, complete: Bool = true, keepHeaders: Bool = true,
        maxHeaders: Int = 128
    ) throws(HTTPParseError) -> HTTPHead {
        var pos = 0
        let n = bytes.count
        // Empty lines before a request line (RFC 9112 §2.2).
        while pos < n && (bytes[pos] == 0x0d || bytes[pos] == 0x0a) { pos += 1 }
        guard let lineEnd = indexOfLF(bytes, from: pos) else { throw .badStartLine }
        let line = trimCR(bytes, pos, lineEnd)
        let startLine: HTTPHead.StartLine
        let version: String
        if isRequest {
            (startLine, version) = try parseRequestLine(bytes, line)
        } else {
            (startLine, version) = try parseStatusLine(bytes, line)
        }
        var head = HTTPHead(
            startLine: startLine, version: version, headers: [], contentLength: nil, hasTransferEncoding: false,
            chunked: false, invalidContentLength: false, host: nil, traceparent: nil, isPartial: !complete)
        pos = lineEnd + 1
        if keepHeaders { head.headers.reserveCapacity(12) }
        var count = 0
        var previous: Int? = nil  // index in head.headers of the last header, for obs-fold
        while pos < n {
            guard let lf = indexOfLF(bytes, from: pos) else {
                if complete { throw .badHeader }
                break  // cut line
            }
            let l = trimCR(bytes, pos, lf)
            pos = lf + 1
            if l.isEmpty { break }  // end of head
            count += 1
            guard count <= maxHeaders else { throw .tooManyHeaders }
            let first = bytes[l.lowerBound]
            if first == 0x20 || first == 0x09 {
                // Obsolete line folding: continue the previous value.
                guard let p = previous else { throw .badHeader }
                if keepHeaders {
                    let extra = trimOWS(bytes, l)
                    if !extra.isEmpty { head.headers[p].value += " " + string(bytes, extra) }
                }
                continue
            }
            guard let colon = index(of: UInt8(ascii: ":"), in: bytes, l) else { throw .badHeader }
            let nameRange = l.lowerBound..<colon
            guard !nameRange.isEmpty, nameRange.allSatisfy({ isTChar(bytes[$0]) }) else { throw .badHeader }
            let valueRange = trimOWS(bytes, (colon + 1)..<l.upperBound)
            try framing(bytes, name: nameRange, value: valueRange, into: &head)
            if keepHeaders {
                head.headers.append(HTTPHeader(key: canonicalKey(bytes, nameRange), value: string(bytes, valueRange)))
                previous = head.headers.count - 1
            } else {
                previous = 0
            }
        }
        return head
    }

    public static func parseHead(
        _ bytes: [UInt8], isRequest: Bool, complete: Bool = true, keepHeaders: Bool = true, maxHeaders: Int = 128
    ) throws(HTTPParseError) -> HTTPHead {
        let r: Result<HTTPHead, HTTPParseError> = bytes.withUnsafeBytes { raw in
            do throws(HTTPParseError) {
                return .success(
                    try parseHead(
                        raw, isRequest: isRequest, complete: complete, keepHeaders: keepHeaders, maxHeaders: maxHeaders)
                )
            } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// True when `b` could be the beginning of a request line (`TOKEN SP`, or a prefix of one) — used to find a
    /// message boundary after the stream lost its place. Methods are taken as upper-case letters and `-`/`_`.
    static func looksLikeRequestStart(_ b: UnsafeRawBufferPointer) -> Bool {
        guard !b.isEmpty else { return false }
        let n = min(b.count, maxMethodLength + 1)
        for i in 0..<n {
            let c = b[i]
            if c == 0x20 { return i > 0 && i + 1 < b.count ? b[i + 1] != 0x20 : i > 0 }
            guard (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
            else {
                return false
            }
        }
        return b.count <= maxMethodLength
    }

    /// True when `b` could be the beginning of a status line (`HTTP/1.` or a prefix of it).
    static func looksLikeResponseStart(_ b: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "HTTP/1."
        let n = min(b.count, prefix.utf8CodeUnitCount)
        guard n > 0 else { return false }
        return prefix.withUTF8Buffer { p in
            for i in 0..<n where b[i] != p[i] { return false }
            return true
        }
    }

    // MARK: - Start lines

    private static func parseRequestLine(_ b: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTPParseError) -> (
        HTTPHead.StartLine, String
    ) {
        guard let sp1 = index(of: 0x20, in: b, line) else { throw .badStartLine }
        let method = line.lowerBound..<sp1
        guard !method.isEmpty, method.count <= maxMethodLength, method.allSatisfy({ isTChar(b[$0]) }) else {
            throw .badStartLine
        }
        let rest = (sp1 + 1)..<line.upperBound
        guard let sp2 = lastIndex(of: 0x20, in: b, rest) else { throw .badStartLine }
        let target = rest.lowerBound..<sp2
        guard !target.isEmpty, target.allSatisfy({ b[$0] > 0x20 && b[$0] != 0x7f }) else { throw .badStartLine }
        let version = try parseVersion(b, (sp2 + 1)..<line.upperBound)
        return (.request(method: string(b, method), target: string(b, target)), version)
    }

    private static func parseStatusLine(_ b: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTPParseError) -> (
        HTTPHead.StartLine, String
    ) {
        guard line.count >= 12, b[line.lowerBound + 8] == 0x20 else { throw .badStartLine }
        let version = try parseVersion(b, line.lowerBound..<(line.lowerBound + 8))
        let s = line.lowerBound + 9
        var status: UInt32 = 0
        for i in s..<(s + 3) {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { throw .badStartLine }
            status = status * 10 + UInt32(c - 0x30)
        }
        guard status >= 100 else { throw .badStartLine }
        var reason = ""
        if line.upperBound > s + 3 {
            guard b[s + 3] == 0x20 else { throw .badStartLine }
            reason = string(b, (s + 4)..<line.upperBound)
        }
        return (.response(status: status, reason: reason), version)
    }

    private static func parseVersion(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) throws(HTTPParseError) -> String {
        guard r.count == 8 else { throw .badVersion }
        let p = r.lowerBound
        guard b[p] == UInt8(ascii: "H"), b[p + 1] == UInt8(ascii: "T"), b[p + 2] == UInt8(ascii: "T"),
            b[p + 3] == UInt8(ascii: "P"), b[p + 4] == UInt8(ascii: "/"), b[p + 5] == UInt8(ascii: "1"),
            b[p + 6] == UInt8(ascii: ".")
        else { throw .badVersion }
        switch b[p + 7] {
        case UInt8(ascii: "1"): return "HTTP/1.1"
        case UInt8(ascii: "0"): return "HTTP/1.0"
        default: throw .badVersion
        }
    }

    // MARK: - Framing headers

    private static func framing(
        _ b: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>, into head: inout HTTPHead
    ) throws(HTTPParseError) {
        switch name.count {
        case 4 where equalsLower(b, name, "host"):
            head.host = string(b, value)
        case 11 where equalsLower(b, name, "traceparent"):
            head.traceparent = string(b, value)
        case 14 where equalsLower(b, name, "content-length"):
            // `1*DIGIT`, or a comma-separated list of identical values.
            var parsed: Int? = nil
            var i = value.lowerBound
            var ok = !value.isEmpty
            while ok && i < value.upperBound {
                while i < value.upperBound && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
                var v = 0
                var digits = 0
                while i < value.upperBound, b[i] >= 0x30, b[i] <= 0x39 {
                    guard digits < 18 else { ok = false; break }
                    v = v * 10 + Int(b[i] - 0x30)
                    digits += 1
                    i += 1
                }
                while i < value.upperBound && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
                if digits == 0 || (parsed != nil && parsed != v) { ok = false; break }
                parsed = v
                if i < value.upperBound {
                    if b[i] == UInt8(ascii: ",") { i += 1 } else { ok = false }
                }
            }
            if !ok || (head.contentLength != nil && head.contentLength != parsed) {
                head.invalidContentLength = true
                head.contentLength = nil
            } else if !head.invalidContentLength {
                head.contentLength = parsed
            }
        case 17 where equalsLower(b, name, "transfer-encoding"):
            head.hasTransferEncoding = true
            // The last coding decides; a later Transfer-Encoding line appends codings.
            var last = value
            if let comma = lastIndex(of: UInt8(ascii: ","), in: b, value) {
                last = trimOWS(b, (comma + 1)..<value.upperBound)
            }
            if !last.isEmpty { head.chunked = last.count == 7 && equalsLower(b, last, "chunked") }
        default:
            break
        }
    }

    // MARK: - Byte helpers

    static func isTChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    private static func trimCR(_ b: UnsafeRawBufferPointer, _ start: Int, _ lf: Int) -> Range<Int> {
        lf > start && b[lf - 1] == 0x0d ? start..<(lf - 1) : start..<lf
    }

    private static func trimOWS(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
        while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
        return lo..<hi
    }

    private static func index(of c: UInt8, in b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] == c { return i }
            i += 1
        }
        return nil
    }

    private static func lastIndex(of c: UInt8, in b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        var i = r.upperBound
        while i > r.lowerBound {
            i -= 1
            if b[i] == c { return i }
        }
        return nil
    }

    /// ASCII case-insensitive comparison with a lower-case literal of the same length.
    private static func equalsLower(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, _ lower: StaticString) -> Bool {
        guard r.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { p in
            for k in 0..<r.count {
                var c = b[r.lowerBound + k]
                if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c |= 0x20 }
                if c != p[k] { return false }
            }
            return true
        }
    }

    @inline(__always)
    static func string(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    /// Go's `textproto.CanonicalMIMEHeaderKey`: upper-case the first letter and every letter after `-`, lower-case
    /// the rest.
    static func canonicalKey(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: r.count) { out in
            var upper = true
            var k = 0
            for i in r {
                var c = b[i]
                if upper && c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") {
                    c &= ~0x20
                } else if !upper && c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") {
                    c |= 0x20
                }
                upper = c == UInt8(ascii: "-")
                out[k] = c
                k += 1
            }
            return k
        }
    }

    /// `canonicalKey` of a string (for configured header names).
    static func canonicalKey(_ name: String) -> String {
        var n = name
        return n.withUTF8 { canonicalKey(UnsafeRawBufferPointer($0), 0..<$0.count) }
    }
}
