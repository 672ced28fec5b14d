import SpyglassFlow
import SpyglassTesting

/// SplitMix64: a small seeded generator so fuzz loops are reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var v = next()
            for _ in 0..<8 where i < n {
                out[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
        return out
    }
}

/// Independent checksum implementations (not the ones in SpyglassTesting).
enum Verify {
    /// One's-complement sum of 16-bit words, folded; a correct checksummed region sums to 0xffff.
    static func onesSum(_ chunks: [UInt8]...) -> UInt16 {
        var all: [UInt8] = []
        for c in chunks { all += c }
        if all.count % 2 == 1 { all.append(0) }
        var sum = 0
        for i in stride(from: 0, to: all.count, by: 2) {
            sum += Int(all[i]) * 256 + Int(all[i + 1])
            sum = (sum & 0xffff) + (sum >> 16)
        }
        return UInt16(sum)
    }

    /// Bitwise CRC32c (no table).
    static func crc32c(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 {
                let lsb = crc & 1
                crc >>= 1
                if lsb == 1 { crc ^= 0x82f6_3b78 }
            }
        }
        return crc ^ 0xffff_ffff
    }

    static func pseudo(src: [UInt8], dst: [UInt8], proto: UInt8, length: Int) -> [UInt8] {
        if src.count == 16 {
            return src + dst + [
                UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
                0, 0, 0, proto
            ]
        }
        return src + dst + [0, proto, UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    }
}

extension EventDecoder {
    static func testing(
        offset: Int64 = 0, names: [UInt32: String] = [2: "eth0"],
        drops: @escaping DropReasonResolver = EventDecoder.unknownDropReason
    ) -> EventDecoder {
        EventDecoder(
            nodeName: "kind/node-1", bootToWallOffsetNs: offset, interfaceName: { names[$0] },
            dropReasonResolver: drops)
    }
}

enum Frames {
    static let mac1 = "02:00:00:00:00:01"
    static let mac2 = "02:00:00:00:00:02"
    static func eth() -> PacketBuilder { PacketBuilder.ethernet(src: mac1, dst: mac2) }
    static func v4() -> PacketBuilder { eth().ipv4(src: "10.0.0.1", dst: "10.0.0.2") }
    static func v6() -> PacketBuilder { eth().ipv6(src: "fd00::1", dst: "fd00::2") }
}

func addr(_ s: String) -> IPAddress { IPAddress(s)! }
func macAddr(_ s: String) -> MACAddress { MACAddress(text: s)! }
