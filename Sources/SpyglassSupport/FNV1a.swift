/// 64-bit FNV-1a: a cheap, stable hash for change detection (polled configuration files) and for deriving stable
/// numbers from text (endpoint identities). Not for anything an attacker must not collide.
public enum FNV1a {
    @inlinable
    public static func hash64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }
}
