/// What the L7 tables' entries hold on the heap, in bytes, for their byte budgets (`L7Limits.max…Bytes`).
///
/// Estimates from the entries' layouts rather than allocator statistics: a string of more than 15 UTF-8 bytes owns
/// a heap block (a 32-byte header plus its bytes, rounded up to the allocator's 16); shorter ones live inline.
/// `utf8.count` of a native string is stored, so costing an entry reads no bytes.
enum L7Memory {
    @inline(__always) static func heapBytes(_ s: String) -> Int {
        let n = s.utf8.count
        return n <= 15 ? 0 : (32 + n + 15) & ~15
    }

    @inline(__always) static func heapBytes(_ s: String?) -> Int { s.map(heapBytes) ?? 0 }

    /// An array's heap block: a 32-byte header plus its elements.
    @inline(__always) static func arrayBytes<T>(_ a: [T]) -> Int {
        a.isEmpty ? 0 : 32 + a.count * MemoryLayout<T>.stride
    }
}

extension PendingHTTPRequest {
    /// Bytes it holds in its connection's FIFO.
    var cost: Int {
        MemoryLayout<PendingHTTPRequest>.stride + L7Memory.heapBytes(method) + L7Memory.heapBytes(url)
            + L7Memory.heapBytes(traceID)
    }
}

extension PendingDNSQuery {
    /// Bytes it holds besides its table entry.
    var heapCost: Int {
        L7Memory.heapBytes(query) + L7Memory.arrayBytes(qtypes) + qtypes.reduce(0) { $0 + L7Memory.heapBytes($1) }
    }
}

extension NamesMemory.Entry {
    /// Bytes its name and expiry arrays hold.
    var heapCost: Int {
        L7Memory.arrayBytes(names) + L7Memory.arrayBytes(expires) + names.reduce(0) { $0 + L7Memory.heapBytes($1) }
    }
}
