/// Where a TCP segment falls relative to the bytes of its direction already seen.
enum SegmentAdmission: Equatable {
    /// First segment seen in this direction: no position known yet.
    case first
    /// Continues the stream; the first `skip` bytes were seen before (overlapping retransmission).
    case inOrder(skip: Int)
    /// `lost` bytes between the last segment and this one were never seen (lost event, reordering, capture loss).
    case gap(lost: Int)
    /// Every byte was seen before (retransmission): ignore the segment.
    case duplicate
    /// Farther than `TCPSequence.window` from the stream's position (a forged segment, or a stale 4-tuple): not
    /// part of the stream; skipped and counted, the position is kept.
    case outOfWindow
    /// The position moved somewhere unrelated to the parser's state: back to where the stream stood before the
    /// last gap (the gap's segment was forged or reordered), or to a run of out-of-window segments that continue
    /// each other (a real jump after heavy loss). The parser must drop its state and wait for a message start.
    case jump
}

/// The next expected sequence number of one direction of a TCP connection (wrapping arithmetic, RFC 1982 style).
/// Out-of-order segments are not reordered: a later segment that arrives first is a gap, the earlier one then a
/// jump back. Tc sees a host's own segments in order, so reordering only comes from the network.
///
/// Hostile segments (any pod can send packets with another connection's 4-tuple): one segment must not move the
/// position so far that the real stream looks like old retransmissions forever. So a segment more than `window`
/// away is skipped unless the next segment continues it, and after a gap the position before it is remembered:
/// when the stream shows up there again (its next data or even a pure ACK), the position returns to it.
struct TCPSequence {
    private(set) var next: UInt32?
    /// The position before the last gap, while the gap is unproven.
    private var beforeGap: UInt32?
    /// End of the last out-of-window segment, when no in-window segment came after it.
    private var outOfWindowEnd: UInt32?

    /// Distance (bytes) beyond which a segment is out of window: larger than any receive window the peers of a
    /// pod use in practice, far smaller than the 2^31 the wrapping comparison allows.
    static let window = 1 << 24

    /// Admits a segment of `length` payload bytes starting at `seq` (the sequence number of the TCP header; with
    /// SYN, data starts one later).
    mutating func admit(seq rawSeq: UInt32, length: Int, syn: Bool) -> SegmentAdmission {
        let seq = syn ? rawSeq &+ 1 : rawSeq
        let end = seq &+ UInt32(truncatingIfNeeded: length)
        guard let expected = next else {
            next = end
            return .first
        }
        let diff = Int(Int32(bitPattern: seq &- expected))
        if diff == 0 {
            next = end
            outOfWindowEnd = nil
            return .inOrder(skip: 0)
        }
        if diff < 0, let back = beforeGap, seq == back {
            // The stream continues from before the gap: the gap was not its own.
            next = end
            beforeGap = nil
            outOfWindowEnd = nil
            return .jump
        }
        if diff > TCPSequence.window || -diff > TCPSequence.window {
            if let last = outOfWindowEnd, last == seq {
                beforeGap = expected
                next = end
                outOfWindowEnd = nil
                return .jump
            }
            outOfWindowEnd = end
            return .outOfWindow
        }
        outOfWindowEnd = nil
        if diff < 0 {
            let overlap = -diff
            if overlap >= length { return .duplicate }
            next = end
            return .inOrder(skip: overlap)
        }
        beforeGap = expected
        next = end
        return .gap(lost: diff)
    }

    /// Forget the position (the next segment is `.first`).
    mutating func reset() {
        next = nil
        beforeGap = nil
        outOfWindowEnd = nil
    }
}

/// A segment's payload as seen: `bytes` were captured, `length` is its real size (larger when the snapshot cut it).
struct Segment {
    var bytes: UnsafeRawBufferPointer
    var length: Int
    /// Drops the first `n` bytes (already seen).
    func dropping(_ n: Int) -> Segment {
        let k = min(n, bytes.count)
        return Segment(bytes: UnsafeRawBufferPointer(rebasing: bytes[k...]), length: max(0, length - n))
    }
    /// Bytes past the capture (lost to the snapshot length).
    var missingTail: Int { length - bytes.count }
}
