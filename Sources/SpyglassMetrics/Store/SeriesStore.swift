#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The series of one family: label-set lookup, values, exemplars, render order, budget and expiry.
///
/// Lives inside the family's `Mutex`. Storage is struct-of-arrays indexed by a slot number; freed slots are reused.
/// A series is found by a 64-bit hash of its key bytes (see `LabelWriter`) and confirmed by comparing the bytes,
/// so the hot path allocates nothing once the series exists.
struct SeriesStore {
    let isHistogram: Bool
    let labelNames: [String]
    /// Definition indices ordered by label name (the exposition order of label pairs).
    let namePermutation: [Int]
    let bounds: [Double]
    /// `bounds.count + 1` (the last one is +Inf).
    let bucketSlots: Int
    let exemplarsEnabled: Bool
    let limit: Int
    let seed: UInt64

    var writer = LabelWriter()
    private(set) var index = HashIndex()
    private(set) var overflow: [[UInt8]: Int32] = [:]
    private(set) var keys: [[UInt8]] = []
    private(set) var hashes: [UInt64] = []
    private(set) var alive: [Bool] = []
    private(set) var labelValues: [[String]] = []
    /// Pre-rendered `a="x",b="y"` (sorted by name, escaped), shared by both formats.
    private(set) var labelText: [[UInt8]] = []
    /// Label values in name order, each followed by 0x00: byte order of these equals Go's metric sort order.
    private(set) var sortKeys: [[UInt8]] = []
    private(set) var lastUpdate: [Int64] = []
    private var freeSlots: [Int32] = []
    private(set) var live = 0
    private(set) var refused: UInt64 = 0
    /// Writes whose value count did not match the label count (a handler bug; counted, never created).
    private(set) var malformed: UInt64 = 0

    private(set) var counterValues: [Double] = []
    private(set) var counterExemplars: [Exemplar?] = []
    private(set) var bucketCounts: [UInt64] = []
    private(set) var sums: [Double] = []
    private(set) var counts: [UInt64] = []
    private(set) var bucketExemplars: [Exemplar?] = []

    private var sorted: [Int32] = []
    private var pending: [Int32] = []

    init(labelNames: [String], histogramBounds: [Double]?, exemplars: Bool, limit: Int) {
        self.isHistogram = histogramBounds != nil
        self.labelNames = labelNames
        self.namePermutation = labelNames.indices.sorted {
            labelNames[$0].utf8.lexicographicallyPrecedes(labelNames[$1].utf8)
        }
        self.bounds = histogramBounds ?? []
        self.bucketSlots = bounds.count + 1
        self.exemplarsEnabled = exemplars
        self.limit = limit
        self.seed = UInt64.random(in: .min ... .max)
    }

    // MARK: Lookup

    @inline(__always) private func keyMatches(_ slot: Int) -> Bool {
        writer.equals(keys[slot])
    }

    /// The slot of the series whose key is in `writer`, creating it within budget; -1 when refused or malformed.
    @inline(__always) mutating func slotForWrittenKey(now: Int64) -> Int {
        let h = writer.hash(seed: seed)
        if let s = index.find(h) {
            if keyMatches(Int(s)) { return Int(s) }
            if !overflow.isEmpty, let o = overflow[writer.bytes] { return Int(o) }
        } else if !overflow.isEmpty, let o = overflow[writer.bytes] {
            return Int(o)
        }
        return create(hash: h, now: now)
    }

    private mutating func create(hash h: UInt64, now: Int64) -> Int {
        guard writer.valueCount == labelNames.count else {
            malformed += 1
            return -1
        }
        guard live < limit else {
            refused += 1
            return -1
        }
        let key = writer.bytes
        let values = writer.values()
        var text: [UInt8] = []
        var sortKey: [UInt8] = []
        for (n, i) in namePermutation.enumerated() {
            if n > 0 { text.append(0x2C) }
            text.append(contentsOf: labelNames[i].utf8)
            text.append(0x3D)
            text.append(0x22)
            Escaping.appendLabelValue(values[i], to: &text)
            text.append(0x22)
            sortKey.append(contentsOf: values[i].utf8)
            sortKey.append(0)
        }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            keys[slot] = key
            hashes[slot] = h
            alive[slot] = true
            labelValues[slot] = values
            labelText[slot] = text
            sortKeys[slot] = sortKey
            lastUpdate[slot] = now
        } else {
            slot = keys.count
            keys.append(key)
            hashes.append(h)
            alive.append(true)
            labelValues.append(values)
            labelText.append(text)
            sortKeys.append(sortKey)
            lastUpdate.append(now)
            if isHistogram {
                bucketCounts.append(contentsOf: repeatElement(0, count: bucketSlots))
                sums.append(0)
                counts.append(0)
                if exemplarsEnabled { bucketExemplars.append(contentsOf: repeatElement(nil, count: bucketSlots)) }
            } else {
                counterValues.append(0)
                if exemplarsEnabled { counterExemplars.append(nil) }
            }
        }
        if index.find(h) == nil { index.insert(h, slot: Int32(slot)) } else { overflow[key] = Int32(slot) }
        pending.append(Int32(slot))
        live += 1
        return slot
    }

    // MARK: Updates

    @inline(__always) mutating func add(_ v: Double, now: Int64, exemplar: Exemplar?) {
        let s = slotForWrittenKey(now: now)
        guard s >= 0 else { return }
        counterValues[s] += v
        lastUpdate[s] = now
        if exemplarsEnabled, let e = exemplar { counterExemplars[s] = e }
    }

    /// Sets a counter to an absolute value (pulled counters).
    mutating func set(_ v: Double, now: Int64) {
        let s = slotForWrittenKey(now: now)
        guard s >= 0 else { return }
        counterValues[s] = v
        lastUpdate[s] = now
    }

    @inline(__always) mutating func observe(_ v: Double, now: Int64, exemplar: Exemplar?) {
        let s = slotForWrittenKey(now: now)
        guard s >= 0 else { return }
        // First bucket whose upper bound is >= v (Go's findBucket); beyond the last bound is +Inf.
        var b = 0
        while b < bounds.count && !(v <= bounds[b]) { b += 1 }
        bucketCounts[s * bucketSlots + b] &+= 1
        sums[s] += v
        counts[s] &+= 1
        lastUpdate[s] = now
        if exemplarsEnabled, let e = exemplar { bucketExemplars[s * bucketSlots + b] = e }
    }

    // MARK: Removal

    private mutating func remove(slot s: Int) {
        let h = hashes[s]
        if !index.remove(h, slot: Int32(s)) { overflow.removeValue(forKey: keys[s]) }
        keys[s] = []
        labelValues[s] = []
        labelText[s] = []
        sortKeys[s] = []
        alive[s] = false
        if isHistogram {
            for b in 0..<bucketSlots { bucketCounts[s * bucketSlots + b] = 0 }
            sums[s] = 0
            counts[s] = 0
            if exemplarsEnabled { for b in 0..<bucketSlots { bucketExemplars[s * bucketSlots + b] = nil } }
        } else {
            counterValues[s] = 0
            if exemplarsEnabled { counterExemplars[s] = nil }
        }
        freeSlots.append(Int32(s))
        live -= 1
    }

    private mutating func compactOrder() {
        let alive = self.alive
        sorted.removeAll { !alive[Int($0)] }
        pending.removeAll { !alive[Int($0)] }
    }

    /// Removes every series whose label values (definition order) satisfy `predicate`. Returns how many.
    mutating func removeAll(where predicate: ([String]) -> Bool) -> Int {
        var removed = 0
        for s in 0..<keys.count where alive[s] && predicate(labelValues[s]) {
            remove(slot: s)
            removed += 1
        }
        if removed > 0 { compactOrder() }
        return removed
    }

    /// Removes series not updated since `cutoff` (monotonic nanoseconds). Returns how many.
    mutating func expire(notUpdatedSince cutoff: Int64) -> Int {
        var removed = 0
        for s in 0..<keys.count where alive[s] && lastUpdate[s] < cutoff {
            remove(slot: s)
            removed += 1
        }
        if removed > 0 { compactOrder() }
        return removed
    }

    // MARK: Render support

    /// Live slots in Go's exposition order (label values compared in label-name order). Sorting happens only for
    /// series created since the last call; they are merged into the cached order.
    mutating func renderOrder() -> [Int32] {
        if !pending.isEmpty {
            let fresh = SeriesStore.sortSlots(pending, sortKeys)
            pending.removeAll(keepingCapacity: true)
            if sorted.isEmpty {
                sorted = fresh
            } else {
                sorted = SeriesStore.merge(sorted, fresh, sortKeys)
            }
        }
        return sorted
    }

    /// Merges two sorted slot lists. A few new series among many (the steady state) are placed by binary search,
    /// so the cost is mostly one copy of the list rather than one key comparison per series.
    static func merge(_ sorted: [Int32], _ fresh: [Int32], _ keys: [[UInt8]]) -> [Int32] {
        var merged: [Int32] = []
        merged.reserveCapacity(sorted.count + fresh.count)
        let n = sorted.count
        if fresh.count * (Int.bitWidth - n.leadingZeroBitCount + 1) < n {
            var from = 0
            for f in fresh {
                let key = keys[Int(f)]
                var lo = from, hi = n
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if less(keys[Int(sorted[mid])], key) { lo = mid + 1 } else { hi = mid }
                }
                merged.append(contentsOf: sorted[from..<lo])
                merged.append(f)
                from = lo
            }
            merged.append(contentsOf: sorted[from...])
            return merged
        }
        var i = 0, j = 0
        while i < n && j < fresh.count {
            if less(keys[Int(fresh[j])], keys[Int(sorted[i])]) {
                merged.append(fresh[j]); j += 1
            } else {
                merged.append(sorted[i]); i += 1
            }
        }
        merged.append(contentsOf: sorted[i...])
        merged.append(contentsOf: fresh[j...])
        return merged
    }

    /// Byte order of two sort keys (memcmp, then the shorter first).
    @inline(__always) static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c < 0 || (c == 0 && x.count < y.count)
            }
        }
    }

    /// One key of a batch being sorted: where its bytes are in the batch's arena, and 8 bytes of it (from the
    /// batch's common prefix on, big-endian) that decide most comparisons with one integer compare.
    private struct SortItem {
        var prefix: UInt64
        var offset: UInt32
        var length: UInt32
        var slot: Int32
    }

    /// Sorts `slots` by their keys. The keys are copied into one contiguous arena first, so comparisons touch no
    /// reference counts; the bytes all keys share are skipped, and the next 8 bytes compare as one integer.
    static func sortSlots(_ slots: [Int32], _ keys: [[UInt8]]) -> [Int32] {
        if slots.count < 2 { return slots }
        var total = 0
        for s in slots { total += keys[Int(s)].count }
        guard total <= Int(UInt32.max) else {
            return slots.sorted { less(keys[Int($0)], keys[Int($1)]) }
        }
        var arena: [UInt8] = []
        arena.reserveCapacity(total + 8)
        var items: [SortItem] = []
        items.reserveCapacity(slots.count)
        // Longest prefix shared by every key.
        let first = keys[Int(slots[0])]
        var common = first.count
        for s in slots {
            let k = keys[Int(s)]
            var i = 0
            let n = min(common, k.count)
            k.withUnsafeBufferPointer { kb in
                first.withUnsafeBufferPointer { fb in
                    while i < n && kb[i] == fb[i] { i += 1 }
                }
            }
            common = i
            items.append(SortItem(prefix: 0, offset: UInt32(arena.count), length: UInt32(k.count), slot: s))
            arena.append(contentsOf: k)
        }
        arena.append(contentsOf: repeatElement(0, count: 8))  // so every 8-byte read stays inside
        let skip = common
        arena.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            for i in items.indices {
                let start = Int(items[i].offset) + skip
                let end = Int(items[i].offset) + Int(items[i].length)
                var p: UInt64 = 0
                for b in 0..<8 {
                    // Bytes past the key's end read as 0 (see `less`: a shorter key sorts first; ties fall through).
                    p = p << 8 | UInt64(start + b < end ? base[start + b] : 0)
                }
                items[i].prefix = p
            }
            items.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                let la = Int(a.length) - skip, lb = Int(b.length) - skip
                let n = min(la, lb)
                let c = n <= 0 ? 0 : memcmp(base + Int(a.offset) + skip, base + Int(b.offset) + skip, n)
                return c < 0 || (c == 0 && la < lb)
            }
        }
        return items.map(\.slot)
    }
}
