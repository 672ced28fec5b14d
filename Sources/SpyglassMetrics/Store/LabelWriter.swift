import SpyglassFlow

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scratch buffer into which a handler writes the label values of one series, in the family's definition order.
///
/// Values are written as raw UTF-8 bytes, each terminated by `0xFF` (a byte that never occurs in UTF-8). The bytes
/// are the series key: a hash of them finds the series without building any `String`, so once a series exists an
/// increment allocates nothing. The buffer keeps its capacity between uses.
struct LabelWriter {
    static let separator: UInt8 = 0xFF
    private let buffer = ScratchBytes(capacity: 1024)
    /// Number of completed values.
    private(set) var valueCount: Int = 0

    init() {}

    @inline(__always) mutating func reset() {
        buffer.count = 0
        valueCount = 0
    }

    /// Current length, to detect whether a candidate wrote anything (context fallback lists).
    @inline(__always) var mark: Int { buffer.count }

    /// The key bytes written so far (valid until the next write).
    @inline(__always) var raw: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.base, count: buffer.count)
    }

    /// A copy of the key bytes.
    var bytes: [UInt8] { Array(raw) }

    @inline(__always) func append(_ s: String) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { buffer.append(UnsafeRawBufferPointer($0)) }
        if done == nil { for c in s.utf8 { buffer.append(c) } }
    }

    @inline(__always) func append(_ s: Substring.UTF8View) {
        let done: Void? = s.withContiguousStorageIfAvailable { buffer.append(UnsafeRawBufferPointer($0)) }
        if done == nil { for c in s { buffer.append(c) } }
    }

    @inline(__always) func appendByte(_ b: UInt8) {
        buffer.append(b)
    }

    /// Ends the current value.
    @inline(__always) mutating func endValue() {
        buffer.append(LabelWriter.separator)
        valueCount += 1
    }

    /// Appends `count` complete values already written as key bytes (each ending in the separator).
    @inline(__always) mutating func appendValues(_ bytes: UnsafeRawBufferPointer, count: Int) {
        buffer.append(bytes)
        valueCount += count
    }

    /// Appends a complete value.
    @inline(__always) mutating func value(_ s: String) {
        append(s)
        endValue()
    }

    func appendDecimal(_ v: UInt64) {
        if v < 10 {
            buffer.append(0x30 &+ UInt8(v))
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { raw in
            while x > 0 {
                raw[23 - n] = 0x30 &+ UInt8(x % 10)
                x /= 10
                n += 1
            }
            buffer.append(UnsafeRawBufferPointer(rebasing: raw[(24 - n)...]))
        }
    }

    /// Appends an address exactly as `IPAddress.description` prints it, without allocating.
    func appendIP(_ a: IPAddress) {
        var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)  // IPText.maxLength bytes
        withUnsafeMutableBytes(of: &tmp) { raw in
            let n = IPText.write(a, into: raw)
            buffer.append(UnsafeRawBufferPointer(rebasing: raw[..<n]))
        }
    }

    /// Splits the written values back into strings (series creation only).
    func values() -> [String] {
        var out: [String] = []
        out.reserveCapacity(valueCount)
        let r = raw
        var start = 0
        for i in 0..<r.count where r[i] == LabelWriter.separator {
            out.append(String(decoding: r[start..<i], as: UTF8.self))
            start = i + 1
        }
        return out
    }

    /// 64-bit hash of the key bytes.
    @inline(__always) func hash(seed: UInt64) -> UInt64 {
        KeyHash.hash(raw, seed: seed)
    }

    /// Whether `key` equals the written bytes.
    @inline(__always) func equals(_ key: [UInt8]) -> Bool {
        key.withUnsafeBytes { k in
            k.count == buffer.count && (k.count == 0 || memcmp(k.baseAddress!, buffer.base, k.count) == 0)
        }
    }
}

/// A growable byte buffer without copy-on-write or uniqueness checks (owned by one `LabelWriter`).
final class ScratchBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func append(_ b: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = b
        count += 1
    }

    @inline(__always) func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        if n == 0 { return }
        if count + n > capacity { grow(count + n) }
        if n <= 16 {
            // Label values are mostly short: a byte loop beats a libc call.
            let src = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { base[count + i] = src[i] }
        } else {
            memcpy(base + count, bytes.baseAddress!, n)
        }
        count += n
    }

    private func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }
}

/// A fast, well-mixed 64-bit hash over bytes (multiply-fold on 8-byte words). Not cryptographic; the seed is random
/// per store, and full keys are compared on every hit, so collisions cost time, never correctness.
enum KeyHash {
    @inline(__always) static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    static func hash(_ p: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let k0: UInt64 = 0xa076_1d64_78bd_642f
        let k1: UInt64 = 0xe703_7ed1_a0b4_28db
        var h = seed ^ (UInt64(p.count) &* k0)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ w, k1)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ w ^ k0, k1)
        }
        return mix(h, k0 ^ 0x8ebc_6af0_9c88_c6e3)
    }
}

/// Per-flow memo of formatted labelsContext values, keyed by `ContextOptions.labelsContextKey` plus the invert bit:
/// the first handler to write a labelsContext for a flow stores its bytes, the next ones with the same key copy
/// them. Owned by the engine, used by one `process` call at a time, emptied before every flow.
final class LabelsContextCache {
    static let invertBit: UInt32 = 1 << 31
    private static let slots = 8

    private struct Entry {
        var key: UInt32
        var start: Int
        var count: Int
        var values: Int
    }

    private let bytes = ScratchBytes(capacity: 512)
    private let entries = UnsafeMutablePointer<Entry>.allocate(capacity: LabelsContextCache.slots)
    private var used = 0

    init() {}

    deinit { entries.deallocate() }

    /// Forgets every entry (call once per flow).
    @inline(__always) func reset() {
        used = 0
        bytes.count = 0
    }

    /// Appends the stored values for `key` to `w`; false when there are none.
    @inline(__always) func replay(_ key: UInt32, into w: inout LabelWriter) -> Bool {
        var i = 0
        while i < used {
            let e = entries[i]
            if e.key == key {
                w.appendValues(UnsafeRawBufferPointer(start: bytes.base + e.start, count: e.count), count: e.values)
                return true
            }
            i += 1
        }
        return false
    }

    /// Stores `raw[from...]` (`values` complete values) under `key`; ignored when all slots are taken.
    @inline(__always) func store(_ key: UInt32, _ raw: UnsafeRawBufferPointer, from: Int, values: Int) {
        guard used < LabelsContextCache.slots else { return }
        let start = bytes.count
        bytes.append(UnsafeRawBufferPointer(rebasing: raw[from...]))
        entries[used] = Entry(key: key, start: start, count: bytes.count - start, values: values)
        used += 1
    }
}
