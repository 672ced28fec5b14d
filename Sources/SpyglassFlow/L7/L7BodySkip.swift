/// One direction of a TCP connection, node-wide (no observation site): the sender's address and port first.
public struct L7Direction: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }
}

/// Tells the kernel which bytes of a direction are inside an HTTP body the assembler skips by count, so it leaves
/// segments wholly inside `[from, end)` (TCP sequence numbers, wrapping) out of the L7 events. The datapath
/// implements it with its map (`L7SkipMap`); tests and fuzz targets run the assembler without it.
/// Implementations count their own failures: the assembler does not wait for or retry a write.
public protocol L7BodySkipWriter: AnyObject, Sendable {
    func skip(_ direction: L7Direction, from: UInt32, end: UInt32)
}

/// `L7Config.bodySkip`: the writer, compared by identity (the config stays `Equatable`).
public struct L7BodySkip: Sendable, Equatable {
    public let writer: any L7BodySkipWriter
    public init(_ writer: any L7BodySkipWriter) { self.writer = writer }
    public static func == (a: L7BodySkip, b: L7BodySkip) -> Bool { a.writer === b.writer }

    /// A body with more bytes to come than this is worth a map write. A write is one bpf(2) syscall (~1-2 µs);
    /// each event it saves costs the kernel a ring-buffer copy of up to the 1 KiB L7 snapshot plus a wakeup share,
    /// and user space a decode and an L7 pass (together a few µs). At ~1448-byte segments, 4 KiB is about three
    /// segments: below that the write costs as much as the events it could save (some of which are in flight
    /// before the kernel sees it).
    public static let threshold = 4096
    /// The most bytes one entry covers: half `TCPSequence.window`, so the gap the skipped segments leave is always
    /// in window for the stream. A longer body gets a new entry each time the stream reaches the previous end.
    public static let maxSpan = TCPSequence.window / 2
}
