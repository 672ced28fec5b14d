import CLibBPF

extension TCPrograms {
    /// Consumes every event currently in the ring buffer and returns copies of them. For tests and tools; the
    /// agent uses `RingBufferReader`.
    public func drainEvents() throws -> [[UInt8]] {
        let sink = DrainSink()
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        guard let rb = ring_buffer__new(eventsMapFD, drainSample, ctx, nil) else {
            throw libbpfError("creating a ring buffer reader", -1)
        }
        defer { ring_buffer__free(rb) }
        let rc = ring_buffer__consume(rb)
        if rc < 0 { throw libbpfError("reading the ring buffer", rc) }
        return withExtendedLifetime(sink) { sink.records }
    }
}

private final class DrainSink {
    var records: [[UInt8]] = []
}

private func drainSample(_ ctx: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let ctx, let data else { return 0 }
    let sink = Unmanaged<DrainSink>.fromOpaque(ctx).takeUnretainedValue()
    sink.records.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}
