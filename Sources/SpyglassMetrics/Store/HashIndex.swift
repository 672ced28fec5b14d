/// Open-addressing map from a series key hash to its slot (linear probing, backward-shift deletion).
///
/// The keys are already well-mixed 64-bit hashes, so they index the table directly: a lookup is a few loads,
/// where `Dictionary` would hash the hash again with SipHash. A hash is stored at most once (full-key collisions
/// are kept in `SeriesStore.overflow`).
struct HashIndex {
    private var keys: [UInt64]
    /// slot + 1; 0 = empty.
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = Array(repeating: 0, count: n)
        values = Array(repeating: 0, count: n)
        mask = n - 1
    }

    @inline(__always) func find(_ h: UInt64) -> Int32? {
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let v = values[i]
            if v == 0 { return nil }
            if keys[i] == h { return v - 1 }
            i = (i + 1) & mask
        }
    }

    /// Inserts `h` → `slot`; `h` must not be present.
    mutating func insert(_ h: UInt64, slot: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = Int(truncatingIfNeeded: h) & mask
        while values[i] != 0 { i = (i + 1) & mask }
        keys[i] = h
        values[i] = slot + 1
        count += 1
    }

    /// Removes `h` if it maps to `slot`. Returns whether it did.
    @discardableResult
    mutating func remove(_ h: UInt64, slot: Int32) -> Bool {
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let v = values[i]
            if v == 0 { return false }
            if keys[i] == h {
                if v - 1 != slot { return false }
                break
            }
            i = (i + 1) & mask
        }
        values[i] = 0
        count -= 1
        // Backward-shift: move later entries of the probe run into the hole when their home allows it.
        var hole = i
        var j = i
        while true {
            j = (j + 1) & mask
            if values[j] == 0 { break }
            let home = Int(truncatingIfNeeded: keys[j]) & mask
            let movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j)
            if movable {
                keys[hole] = keys[j]
                values[hole] = values[j]
                values[j] = 0
                hole = j
            }
        }
        return true
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        let n = keys.count * 2
        keys = Array(repeating: 0, count: n)
        values = Array(repeating: 0, count: n)
        mask = n - 1
        count = 0
        for i in 0..<oldKeys.count where oldValues[i] != 0 {
            var j = Int(truncatingIfNeeded: oldKeys[i]) & mask
            while values[j] != 0 { j = (j + 1) & mask }
            keys[j] = oldKeys[i]
            values[j] = oldValues[i]
            count += 1
        }
    }
}
