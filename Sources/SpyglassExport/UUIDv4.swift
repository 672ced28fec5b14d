import SpyglassFlow
import SpyglassSupport
import Synchronization

/// 128 random bits formatted as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`). Drawn once per exported
/// event so every flow log carries the same UUID for the same event; formatted only by the writer that prints it.
public struct UUIDv4: Sendable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = (high & ~0xF000) | 0x4000  // version 4
        self.low = (low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000  // RFC 4122 variant
    }

    public var string: String {
        var w = JSONBytes(capacity: 36)
        append(to: &w)
        return String(decoding: w.out, as: UTF8.self)
    }

    func append(to w: inout JSONBytes) {
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { h in
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { w.byte(UInt8(ascii: "-")) }
                let v =
                    i < 8
                    ? UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                    : UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i - 8)))
                w.byte(h[Int(v >> 4)])
                w.byte(h[Int(v & 0xf)])
            }
        }
    }
}

/// A fast thread-safe source of UUIDs: xoshiro256** seeded from the system's random source.
final class UUIDSource: Sendable {
    private let state: PThreadMutex<(UInt64, UInt64, UInt64, UInt64)>

    init() {
        var g = SystemRandomNumberGenerator()
        state = PThreadMutex((g.next() | 1, g.next(), g.next(), g.next()))
    }

    func next() -> UUIDv4 {
        state.withLock { s in
            func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
            func step(_ s: inout (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
                let result = rotl(s.1 &* 5, 7) &* 9
                let t = s.1 << 17
                s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3; s.2 ^= t; s.3 = rotl(s.3, 45)
                return result
            }
            return UUIDv4(high: step(&s), low: step(&s))
        }
    }
}
