/// What one direction of an HTTP/1.x connection yields while its bytes are fed.
enum HTTPStreamEvent {
    /// A head, whole or (`isPartial`) cut by the snapshot or a lost segment.
    case head(HTTPHead)
    /// A head or body that could not be parsed; `salvaged` is what could be read of a head that grew too large.
    case malformed(HTTPParseError, salvaged: HTTPHead?)
    /// The stream lost its place (lost bytes it could not skip by count); it now waits for a segment that starts
    /// with something that looks like a start line.
    case lostSync
}

/// State of a chunked body (RFC 9112 §7.1), advanced byte by byte so chunk-size lines and CRLFs may be split across
/// segments without buffering.
struct ChunkState: Equatable {
    enum Phase: UInt8 { case size, ext, sizeLF, data, dataCR, dataLF, trailerStart, trailerLine, finalLF }
    var phase: Phase = .size
    var size = 0
    var digits = 0
    /// Bytes of the current extension or trailer section (bounded).
    var extra = 0

    static let maxExtensionBytes = 4096
    static let maxTrailerBytes = 8192
}

/// One direction of an HTTP/1.x connection: finds message heads, skips bodies, and recovers after lost bytes.
/// A class so the connection and the assembler can advance it in place without copying its buffer.
final class HTTPStream {
    enum Mode: Equatable {
        /// Position unknown: the next segment that starts like a start line starts a message.
        case unsynced
        /// At (or inside, with `buffer` holding the beginning) a message head.
        case head
        /// Skipping `remaining` body bytes.
        case fixed(remaining: Int)
        case chunked(ChunkState)
        /// Not HTTP any more (after `101 Switching Protocols` or a `CONNECT` tunnel).
        case opaque
    }

    let isRequest: Bool
    var mode: Mode = .unsynced
    var sequence = TCPSequence()
    /// The beginning of a head split across segments.
    private(set) var buffer: [UInt8] = []
    var closed = false
    /// End of the body part the kernel was last told to leave out (`L7BodySkip`), while the stream has not passed it.
    var skipEnd: UInt32?

    init(isRequest: Bool) { self.isRequest = isRequest }

    var bufferedBytes: Int { buffer.count }

    /// Limits and the shared budget for one feeding.
    struct Context {
        var maxHeadBytes: Int
        var maxHeaders: Int
        var keepHeaders: Bool
        /// Bytes still free in the shared reassembly budget (taken and returned by the stream).
        var budget: Int
        var budgetExceeded: UInt64 = 0
    }

    /// Advances through `seg` from `off` and returns the next event, or nil when the segment is used up.
    /// The caller sets the body mode after a `.head` of a whole head, then calls again.
    func next(_ seg: Segment, _ off: inout Int, _ ctx: inout Context) -> HTTPStreamEvent? {
        let captured = seg.bytes.count
        while off < seg.length {
            switch mode {
            case .opaque:
                off = seg.length
                return nil

            case .unsynced:
                if off == 0 && captured > 0 {
                    let b = seg.bytes
                    if isRequest ? HTTPParser.looksLikeRequestStart(b) : HTTPParser.looksLikeResponseStart(b) {
                        mode = .head
                        continue
                    }
                }
                off = seg.length
                return nil

            case .fixed(let remaining):
                let n = min(remaining, seg.length - off)
                off += n
                mode = remaining == n ? .head : .fixed(remaining: remaining - n)

            case .chunked(var st):
                if st.phase == .data {
                    let n = min(st.size, seg.length - off)
                    off += n
                    st.size -= n
                    if st.size == 0 { st.phase = .dataCR }
                    mode = .chunked(st)
                    continue
                }
                guard off < captured else {
                    mode = .unsynced
                    off = seg.length
                    return .lostSync
                }
                let c = seg.bytes[off]
                off += 1
                switch ChunkStream.step(&st, c) {
                case .more: mode = .chunked(st)
                case .done: mode = .head
                case .error:
                    mode = .unsynced
                    off = seg.length
                    return .malformed(.badChunk, salvaged: nil)
                }

            case .head:
                if buffer.isEmpty {
                    // Line ends between messages (a CRLF after a body) are not part of the next head.
                    while off < captured && (seg.bytes[off] == 0x0d || seg.bytes[off] == 0x0a) { off += 1 }
                    if off >= seg.length { return nil }
                    if off >= captured {
                        mode = .unsynced
                        off = seg.length
                        return .lostSync
                    }
                    let avail = UnsafeRawBufferPointer(rebasing: seg.bytes[off..<captured])
                    if let end = HTTPParser.headEnd(avail) {
                        off += end
                        return parse(UnsafeRawBufferPointer(rebasing: avail[0..<end]), complete: true, ctx)
                    }
                    if seg.length > captured {
                        // The snapshot cut the head: what we have is all there will be.
                        off = seg.length
                        mode = .unsynced
                        return parse(avail, complete: false, ctx)
                    }
                    if avail.count > ctx.maxHeadBytes {
                        off = seg.length
                        mode = .unsynced
                        return oversized(UnsafeRawBufferPointer(rebasing: avail[0..<ctx.maxHeadBytes]), ctx)
                    }
                    guard avail.count <= ctx.budget else {
                        ctx.budgetExceeded &+= 1
                        off = seg.length
                        mode = .unsynced
                        return parse(avail, complete: false, ctx)
                    }
                    buffer.append(contentsOf: avail)
                    ctx.budget -= avail.count
                    off = seg.length
                    return nil
                }
                // Continue a buffered head.
                let previous = buffer.count
                let want = captured - max(off, 0)
                let room = ctx.maxHeadBytes - previous
                let take = max(0, min(want, room, ctx.budget))
                if take < min(want, room) { ctx.budgetExceeded &+= 1 }
                if take > 0 {
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: seg.bytes[off..<(off + take)]))
                    ctx.budget -= take
                }
                let end: Int? = buffer.withUnsafeBytes { HTTPParser.headEnd($0, from: max(0, previous - 3)) }
                if let end {
                    off += end - previous
                    return flush(complete: true, &ctx)
                }
                if take < want {
                    // Size limit or budget: parse what fits.
                    off = seg.length
                    mode = .unsynced
                    if take < room { return flush(complete: false, &ctx) }
                    return flushOversized(&ctx)
                }
                off = captured
                if seg.length > captured {
                    off = seg.length
                    mode = .unsynced
                    return flush(complete: false, &ctx)
                }
                return nil
            }
        }
        return nil
    }

    /// `n` bytes of this direction were never seen (sequence gap). Skips them by count when the position is known
    /// (inside a counted body or chunk); otherwise the stream loses its place (returning a salvaged head if one was
    /// being reassembled).
    func lose(_ n: Int, _ ctx: inout Context) -> HTTPStreamEvent? {
        guard n > 0 else { return nil }
        switch mode {
        case .opaque, .unsynced:
            return nil
        case .fixed(let remaining) where remaining >= n:
            mode = remaining == n ? .head : .fixed(remaining: remaining - n)
            return nil
        case .chunked(var st) where st.phase == .data && st.size >= n:
            st.size -= n
            if st.size == 0 { st.phase = .dataCR }
            mode = .chunked(st)
            return nil
        case .head where !buffer.isEmpty:
            mode = .unsynced
            return flush(complete: false, &ctx)
        default:
            mode = .unsynced
            return .lostSync
        }
    }

    /// The stream's position moved somewhere unrelated (`SegmentAdmission.jump`): whatever the state, wait for a
    /// segment that starts a message. A head being read is emitted as a prefix.
    func desync(_ ctx: inout Context) -> HTTPStreamEvent? {
        switch mode {
        case .opaque:
            return nil
        case .head where !buffer.isEmpty:
            mode = .unsynced
            return flush(complete: false, &ctx)
        default:
            mode = .unsynced
            return .lostSync
        }
    }

    /// Frees the buffer; returns the bytes released.
    func release() -> Int {
        let n = buffer.count
        buffer = []
        return n
    }

    private func flush(complete: Bool, _ ctx: inout Context) -> HTTPStreamEvent {
        let e = buffer.withUnsafeBytes { parse($0, complete: complete, ctx) }
        ctx.budget += buffer.count
        buffer.removeAll(keepingCapacity: buffer.capacity <= 2048)
        return e
    }

    private func flushOversized(_ ctx: inout Context) -> HTTPStreamEvent {
        let e = buffer.withUnsafeBytes { oversized($0, ctx) }
        ctx.budget += buffer.count
        buffer.removeAll(keepingCapacity: false)
        return e
    }

    private func parse(_ b: UnsafeRawBufferPointer, complete: Bool, _ ctx: Context) -> HTTPStreamEvent {
        do throws(HTTPParseError) {
            let head = try HTTPParser.parseHead(
                b, isRequest: isRequest, complete: complete, keepHeaders: ctx.keepHeaders, maxHeaders: ctx.maxHeaders)
            return .head(head)
        } catch {
            mode = .unsynced
            return .malformed(error, salvaged: nil)
        }
    }

    private func oversized(_ b: UnsafeRawBufferPointer, _ ctx: Context) -> HTTPStreamEvent {
        mode = .unsynced
        let salvaged = try? HTTPParser.parseHead(
            b, isRequest: isRequest, complete: false, keepHeaders: ctx.keepHeaders, maxHeaders: ctx.maxHeaders)
        return .malformed(.oversizedHeaders, salvaged: salvaged)
    }
}

/// The chunked-body byte machine.
enum ChunkStream {
    enum Step { case more, done, error }

    static func step(_ st: inout ChunkState, _ c: UInt8) -> Step {
        switch st.phase {
        case .size:
            if let v = hexValue(c) {
                guard st.digits < 15 else { return .error }
                st.size = st.size << 4 | v
                st.digits += 1
                return .more
            }
            guard st.digits > 0 else { return .error }
            switch c {
            case UInt8(ascii: ";"), 0x20, 0x09:
                st.phase = .ext
                st.extra = 0
                return .more
            case 0x0d:
                st.phase = .sizeLF
                return .more
            case 0x0a:
                return endOfSizeLine(&st)
            default:
                return .error
            }
        case .ext:
            if c == 0x0d { st.phase = .sizeLF; return .more }
            if c == 0x0a { return endOfSizeLine(&st) }
            st.extra += 1
            return st.extra > ChunkState.maxExtensionBytes ? .error : .more
        case .sizeLF:
            return c == 0x0a ? endOfSizeLine(&st) : .error
        case .data:
            // Handled by count in HTTPStream; one byte here.
            st.size -= 1
            if st.size == 0 { st.phase = .dataCR }
            return .more
        case .dataCR:
            if c == 0x0d { st.phase = .dataLF; return .more }
            if c == 0x0a { st = ChunkState(); return .more }
            return .error
        case .dataLF:
            guard c == 0x0a else { return .error }
            st = ChunkState()
            return .more
        case .trailerStart:
            if c == 0x0d { st.phase = .finalLF; return .more }
            if c == 0x0a { return .done }
            st.phase = .trailerLine
            st.extra += 1
            return .more
        case .trailerLine:
            st.extra += 1
            guard st.extra <= ChunkState.maxTrailerBytes else { return .error }
            if c == 0x0a { st.phase = .trailerStart }
            return .more
        case .finalLF:
            return c == 0x0a ? .done : .error
        }
    }

    private static func endOfSizeLine(_ st: inout ChunkState) -> Step {
        if st.size == 0 {
            st.phase = .trailerStart
            st.extra = 0
        } else {
            st.phase = .data
        }
        return .more
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
