import Testing

@testable import SpyglassMetrics

@Suite struct HashIndexTests {
    @Test func randomInsertRemoveAgreesWithDictionary() {
        var index = HashIndex()
        var model: [UInt64: Int32] = [:]
        var rng = CardinalityTests.XorShift(state: 42)
        for step in 0..<200_000 {
            // Small key space with clustered low bits so probe runs and wrap-around happen.
            let h = (rng.next() % 3000) &* 0x1_0000_0001 | (rng.next() % 7)
            if let slot = model[h] {
                if step % 3 == 0 {
                    let removed = index.remove(h, slot: slot)
                    #expect(removed)
                    model[h] = nil
                } else {
                    let removed = index.remove(h, slot: slot + 1)
                    #expect(!removed)  // wrong slot: left alone
                }
            } else {
                let slot = Int32(step)
                index.insert(h, slot: slot)
                model[h] = slot
            }
            if step % 10_000 == 0 {
                for (k, v) in model { #expect(index.find(k) == v) }
            }
        }
        #expect(index.count == model.count)
        for (k, v) in model { #expect(index.find(k) == v) }
        #expect(index.find(0xdead_beef_0000_0001) == nil)
    }
}
