/// A reusable block of raw ring-buffer records, so the reader copies events without allocating per event.
/// Layout per record: a 4-byte length, the record bytes, padding to 8 bytes.
public final class EventBatch: @unchecked Sendable {
    // @unchecked: a batch is owned by exactly one thread at a time (reader fills, queue hands over, consumer reads).
    public static let defaultCapacity = 256 << 10
    let storage: UnsafeMutableRawBufferPointer
    public private(set) var used = 0
    public private(set) var count = 0

    public init(capacity: Int = EventBatch.defaultCapacity) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    @inline(__always) static func stride(_ length: Int) -> Int { (4 + length + 7) & ~7 }

    /// Appends one record; false when it does not fit.
    @inline(__always)
    func append(_ bytes: UnsafeRawPointer, length: Int) -> Bool {
        let need = Self.stride(length)
        guard used + need <= storage.count else { return false }
        storage.storeBytes(of: UInt32(length), toByteOffset: used, as: UInt32.self)
        (storage.baseAddress! + used + 4).copyMemory(from: bytes, byteCount: length)
        used += need
        count += 1
        return true
    }

    public func reset() {
        used = 0
        count = 0
    }

    /// Calls `body` with each record.
    @inline(__always)
    public func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var offset = 0
        let base = UnsafeRawPointer(storage.baseAddress!)
        while offset < used {
            let length = Int(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            try body(UnsafeRawBufferPointer(start: base + offset + 4, count: length))
            offset += Self.stride(length)
        }
    }
}
