import Testing

@testable import SpyglassMetrics

/// The render order's batch sort (arena + common-prefix skip + 8-byte integer prefix) and its merge must agree
/// exactly with a plain byte-wise sort of the keys.
@Suite struct RenderOrderTests {
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Keys shaped like real ones: values terminated by 0, long shared prefixes, short and empty values.
    static func keys(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = RNG(state: seed)
        let alphabet: [UInt8] = Array("0129.:abz".utf8) + [0xC3, 0xA9, 0xFF]
        var out: Set<[UInt8]> = []
        while out.count < n {
            var k: [UInt8] = Array("10.0.1.2".utf8) + [0] + Array("shop".utf8) + [0]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                for _ in 0..<Int.random(in: 0...12, using: &rng) { k.append(alphabet.randomElement(using: &rng)!) }
                k.append(0)
            }
            out.insert(k)
        }
        return Array(out)
    }

    static func naive(_ slots: [Int32], _ keys: [[UInt8]]) -> [Int32] {
        slots.sorted { keys[Int($0)].lexicographicallyPrecedes(keys[Int($1)]) }
    }

    @Test(arguments: [0, 1, 2, 3, 50, 5000]) func sortMatchesByteOrder(_ n: Int) {
        let keys = Self.keys(n, seed: UInt64(n) + 7)
        let slots = (0..<Int32(n)).shuffled()
        #expect(SeriesStore.sortSlots(slots, keys) == Self.naive(slots, keys))
    }

    @Test func allKeysSharingEverythingButTheirEnds() {
        let keys: [[UInt8]] = [
            [1, 2, 3, 0], [1, 2, 3, 0, 0], [1, 2, 3], [1, 2, 3, 0, 1], [1, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]
        ]
        let slots = Array(0..<Int32(keys.count))
        #expect(SeriesStore.sortSlots(slots, keys) == Self.naive(slots, keys))
    }

    @Test(arguments: [(1000, 1), (1000, 3), (1000, 400), (10, 10), (0, 5)])
    func mergeMatchesByteOrder(_ old: Int, _ new: Int) {
        let keys = Self.keys(old + new, seed: UInt64(old * 31 + new))
        let sorted = Self.naive(Array(0..<Int32(old)), keys)
        let fresh = Self.naive(Array(Int32(old)..<Int32(old + new)), keys)
        #expect(SeriesStore.merge(sorted, fresh, keys) == Self.naive(Array(0..<Int32(old + new)), keys))
    }
}
