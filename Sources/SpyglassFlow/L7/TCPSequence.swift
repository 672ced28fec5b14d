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
}

/// The next expected sequence number of one direction of a TCP connection (wrapping arithmetic, RFC 1982 style).
/// Out-of-order segments are not reordered: a later segment that arrives first is a gap, the earlier one then a
/// duplicate. Tc sees a host's own segments in order, so reordering only comes from the network.
struct TCPSequence {
    private(set) var next: UInt32?

    /// Gaps larger than this are treated as a new stream position rather than as `lost` bytes (a stale state).
    static let maxGap = 1 << 30

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
            return .inOrder(skip: 0)
        }
        if diff < 0 {
            let overlap = -diff
            if overlap >= length { return .duplicate }
            next = end
            return .inOrder(skip: overlap)
        }
        next = end
        return .gap(lost: min(diff, TCPSequence.maxGap))
    }

    /// Forget the position (the next segment is `.first`).
    mutating func reset() { next = nil }
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
