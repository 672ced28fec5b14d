import SpyglassSupport

/// Numeric identities for label sets that are not reserved.
///
/// **Derivation.** A label set is canonicalised (sorted, de-duplicated, joined with `\n`), hashed with 64-bit
/// FNV-1a, and mapped into Cilium's cluster-local range: `256 + hash % 65280` (256…65535). The same labels give
/// the same identity on every node and across restarts, without coordination.
///
/// **Collisions.** Two different label sets that hash to the same number are resolved deterministically: the set
/// that already holds the number keeps it while it is in use (identities never change under a live endpoint), and
/// a newcomer takes the next free number upwards (wrapping from 65535 to 256). Label sets first seen in the same
/// rebuild are placed in sorted order of their canonical form, so agents that see the same history agree. With
/// 65,280 numbers, collisions start to be likely at a few hundred distinct label sets (birthday bound); they only
/// move the newcomer, and the `identity` context (labels) stays exact.
struct IdentityAllocator: Sendable {
    static let minimum: UInt32 = 256
    static let maximum: UInt32 = 65535
    static let rangeSize: UInt64 = UInt64(maximum - minimum + 1)

    private(set) var byKey: [String: UInt32] = [:]
    private var owners: [UInt32: String] = [:]

    static func canonicalKey(_ sortedLabels: [String]) -> String { sortedLabels.joined(separator: "\n") }

    /// The identity a label set gets when nothing collides with it.
    static func preferred(forKey key: String) -> UInt32 {
        minimum + UInt32(FNV1a.hash64(key.utf8) % rangeSize)
    }

    /// Keeps identities for `keys` that are already held, allocates the new ones (in sorted order) and frees the
    /// ones no longer used. Returns the mapping for exactly `keys`.
    mutating func assign(_ keys: Set<String>) -> [String: UInt32] {
        for (key, id) in byKey where !keys.contains(key) {
            byKey[key] = nil
            owners[id] = nil
        }
        for key in keys.sorted() where byKey[key] == nil {
            var id = IdentityAllocator.preferred(forKey: key)
            var tries: UInt64 = 0
            while owners[id] != nil && tries < IdentityAllocator.rangeSize {
                id = id == IdentityAllocator.maximum ? IdentityAllocator.minimum : id + 1
                tries += 1
            }
            // A full range (65,280 live label sets) shares the preferred number rather than failing.
            if tries == IdentityAllocator.rangeSize { id = IdentityAllocator.preferred(forKey: key) }
            byKey[key] = id
            owners[id] = key
        }
        return byKey
    }
}
