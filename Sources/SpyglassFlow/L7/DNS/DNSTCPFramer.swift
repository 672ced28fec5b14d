/// Splits one direction of a DNS-over-TCP stream (RFC 1035 §4.2.2: each message is preceded by a 2-byte length)
/// into messages. A message may span segments and a segment may hold several messages; a message that fits in one
/// segment is handed over in place, without copying.
///
/// Bytes that were not seen (a sequence gap or the part of a segment past the snapshot) inside a message make it a
/// prefix: it is parsed from what was buffered before the hole and the rest is skipped by count. A hole in a length
/// prefix loses the framing: the framer then assumes the next segment starts a message (clients write a message
/// with its length in one go). Buffering is bounded by `maxMessageBytes` per direction and a shared budget.
struct DNSTCPFramer {
    enum Phase: Equatable {
        /// Reading the 2-byte length; `have` bytes so far.
        case length(have: Int, high: UInt8)
        /// Inside a message of `length` bytes, `have` consumed (seen or lost); `hole`: some were lost.
        case body(length: Int, have: Int, hole: Bool)
        /// Framing lost: wait for the next segment.
        case unsynced
    }

    enum Event {
        /// A message (or its prefix, when `isPrefix`).
        case message(UnsafeRawBufferPointer, isPrefix: Bool)
        /// A length below the 12-byte header.
        case badLength
    }

    var phase: Phase = .length(have: 0, high: 0)
    var sequence = TCPSequence()
    var buffer: [UInt8] = []

    /// Feeds the payload of one segment (after sequence admission) and calls `emit` for each message completed.
    /// `budget` is the shared reassembly budget: bytes appended are taken from it and freed bytes returned.
    /// Returns true when framing was lost in this segment.
    @discardableResult
    mutating func feed(
        _ seg: Segment, maxMessageBytes: Int, budget: inout Int, budgetExceeded: inout UInt64,
        emit: (Event) -> Void
    ) -> Bool {
        if phase == .unsynced {
            guard seg.length > 0 else { return false }
            phase = .length(have: 0, high: 0)
        }
        let captured = seg.bytes.count
        var off = 0
        while off < seg.length {
            switch phase {
            case .unsynced:
                return true
            case .length(let have, let high):
                guard off < captured else {
                    lose()
                    return true
                }
                let byte = seg.bytes[off]
                off += 1
                if have == 0 {
                    // Fast path: the whole message is in this segment and nothing is buffered.
                    if off < captured {
                        let length = Int(byte) << 8 | Int(seg.bytes[off])
                        if length >= 12, captured - (off + 1) >= length {
                            let start = off + 1
                            emit(
                                .message(
                                    UnsafeRawBufferPointer(rebasing: seg.bytes[start..<(start + length)]),
                                    isPrefix: false))
                            off = start + length
                            continue
                        }
                    }
                    phase = .length(have: 1, high: byte)
                } else {
                    let length = Int(high) << 8 | Int(byte)
                    guard length >= 12 else {
                        emit(.badLength)
                        lose()
                        return true
                    }
                    phase = .body(length: length, have: 0, hole: false)
                }
            case .body(let length, var have, var hole):
                let n = min(length - have, seg.length - off)
                let seen = max(0, min(n, captured - off))
                if !hole {
                    let room = min(seen, maxMessageBytes - buffer.count)
                    let take = max(0, min(room, budget))
                    if take < room { budgetExceeded &+= 1 }
                    if take > 0 {
                        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: seg.bytes[off..<(off + take)]))
                        budget -= take
                    }
                    if take < n { hole = true }
                }
                have += n
                off += n
                if have == length {
                    complete(hole: hole, budget: &budget, emit: emit)
                } else {
                    phase = .body(length: length, have: have, hole: hole)
                }
            }
        }
        return false
    }

    /// `n` bytes of the stream were not seen. Returns true when framing was lost.
    @discardableResult
    mutating func skip(_ n: Int, budget: inout Int, emit: (Event) -> Void) -> Bool {
        guard n > 0 else { return false }
        switch phase {
        case .body(let length, let have, _) where length - have >= n:
            if have + n == length {
                complete(hole: true, budget: &budget, emit: emit)
            } else {
                phase = .body(length: length, have: have + n, hole: true)
            }
            return false
        case .body:
            // The hole runs past this message into the next length prefix: parse what we have, then resync.
            complete(hole: true, budget: &budget, emit: emit)
            lose()
            return true
        case .length(let have, _):
            if have == 0 && n == 0 { return false }
            lose()
            return true
        case .unsynced:
            return false
        }
    }

    private mutating func complete(hole: Bool, budget: inout Int, emit: (Event) -> Void) {
        if !buffer.isEmpty {
            buffer.withUnsafeBytes { emit(.message($0, isPrefix: hole)) }
        }
        budget += buffer.count
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1024)
        phase = .length(have: 0, high: 0)
    }

    private mutating func lose() {
        phase = .unsynced
    }

    /// The stream's position moved somewhere unrelated (`SegmentAdmission.jump`): drop a half-read message
    /// (returning its bytes to `budget`) and wait for the next segment to start one.
    mutating func desync(budget: inout Int) {
        budget += buffer.count
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1024)
        phase = .unsynced
    }

    /// Releases the buffer (connection end); returns the bytes freed.
    mutating func release() -> Int {
        let n = buffer.count
        buffer = []
        phase = .unsynced
        return n
    }
}
