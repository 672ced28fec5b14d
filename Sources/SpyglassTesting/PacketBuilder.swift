import SpyglassFlow

/// Builds well-formed frames with real checksums, for decoder/parser tests and BPF_PROG_TEST_RUN.
///
///     let frame = PacketBuilder.ethernet(src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02")
///         .vlan(100)
///         .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: 64)
///         .tcp(sport: 40000, dport: 80, flags: [.syn])
///         .payload(Array("hello".utf8))
///         .build()
///
/// Without `.ethernet(...)` (`PacketBuilder()`), `build()` starts at the IP header (handy for the quoted datagram of
/// an ICMP error). Lengths, IHL, data offsets and checksums are always computed; L4 checksums cover only the bytes
/// built (a fragment's checksum is therefore not the datagram's). With a routing header whose segments-left is
/// non-zero, the L4 pseudo-header uses the last address of the routing header, as RFC 8200 §8.1 says.
public struct PacketBuilder: Sendable {
    public static let defaultSourceMAC = MACAddress((0x02, 0x00, 0x00, 0x00, 0x00, 0x01))
    public static let defaultDestinationMAC = MACAddress((0x02, 0x00, 0x00, 0x00, 0x00, 0x02))

    public enum IPv6Extension: Sendable, Equatable {
        /// Hop-by-hop options (0): PadN to 8 bytes, plus `extraUnits` × 8 bytes of padding options.
        case hopByHop(extraUnits: Int = 0)
        /// Routing header (43): type-0 layout (4 reserved bytes + addresses).
        case routing(type: UInt8 = 0, segmentsLeft: UInt8 = 0, addresses: [IPAddress] = [])
        /// Fragment header (44). `offset` in bytes (a multiple of 8).
        case fragment(offset: Int = 0, moreFragments: Bool = false, identification: UInt32 = 0x1234_5678)
        /// Destination options (60), as hop-by-hop.
        case destinationOptions(extraUnits: Int = 0)
        /// Authentication header (51) with an `icvLength`-byte ICV (12: HMAC-SHA1-96).
        case authentication(spi: UInt32 = 0x100, sequence: UInt32 = 1, icvLength: Int = 12)

        var number: UInt8 {
            switch self {
            case .hopByHop: 0
            case .routing: 43
            case .fragment: 44
            case .destinationOptions: 60
            case .authentication: 51
            }
        }
    }

    public enum ICMPv4Message: Sendable, Equatable {
        case echoRequest(id: UInt16, sequence: UInt16)
        case echoReply(id: UInt16, sequence: UInt16)
        /// Type 3; `original` is the quoted datagram (IP header + at least 8 bytes), taken as is.
        case destinationUnreachable(code: UInt8, original: [UInt8])
        /// Any other type/code with a 4-byte rest-of-header.
        case other(type: UInt8, code: UInt8, rest: UInt32 = 0)
    }

    public enum ICMPv6Message: Sendable, Equatable {
        case echoRequest(id: UInt16, sequence: UInt16)
        case echoReply(id: UInt16, sequence: UInt16)
        case other(type: UInt8, code: UInt8, rest: UInt32 = 0)
    }

    struct IPv4Spec: Sendable {
        var src: IPAddress, dst: IPAddress, ttl: UInt8, id: UInt16, tos: UInt8
        var dontFragment: Bool, fragmentOffset: Int, moreFragments: Bool, options: [UInt8]
    }
    struct IPv6Spec: Sendable {
        var src: IPAddress, dst: IPAddress, hopLimit: UInt8, trafficClass: UInt8, flowLabel: UInt32
    }
    enum L3: Sendable { case v4(IPv4Spec), v6(IPv6Spec) }
    enum L4: Sendable {
        case tcp(
            sport: UInt16, dport: UInt16, flags: TCPFlags, seq: UInt32, ack: UInt32, window: UInt16, urgent: UInt16,
            options: [UInt8])
        case udp(sport: UInt16, dport: UInt16)
        case sctp(sport: UInt16, dport: UInt16, verificationTag: UInt32)
        case icmpv4(ICMPv4Message)
        case icmpv6(ICMPv6Message)
    }

    var eth: (src: MACAddress, dst: MACAddress)?
    var etherTypeOverride: UInt16?
    var tag: (tpid: UInt16, tci: UInt16)?
    var l3: L3?
    var extensions: [IPv6Extension] = []
    var l4: L4?
    var protocolOverride: UInt8?
    var body: [UInt8] = []
    var minimumFrameLength = 0

    /// A packet without an Ethernet header (starts at IP).
    public init() {}

    // MARK: L2

    public static func ethernet(
        src: MACAddress = defaultSourceMAC, dst: MACAddress = defaultDestinationMAC, etherType: UInt16? = nil
    ) -> PacketBuilder {
        var b = PacketBuilder()
        b.eth = (src, dst)
        b.etherTypeOverride = etherType
        return b
    }

    /// MACs as `aa:bb:cc:dd:ee:ff`.
    public static func ethernet(src: String, dst: String, etherType: UInt16? = nil) -> PacketBuilder {
        ethernet(src: mac(src), dst: mac(dst), etherType: etherType)
    }

    /// One 802.1Q (0x8100) or 802.1ad (0x88a8) tag.
    public func vlan(_ id: UInt16, priority: UInt8 = 0, tpid: UInt16 = 0x8100) -> PacketBuilder {
        var b = self
        b.tag = (tpid, UInt16(priority & 7) << 13 | (id & 0x0fff))
        return b
    }

    /// Zero-pads the frame to at least `length` bytes (60: the Ethernet minimum without FCS).
    public func padded(to length: Int = 60) -> PacketBuilder {
        var b = self
        b.minimumFrameLength = length
        return b
    }

    // MARK: L3

    public func ipv4(
        src: IPAddress, dst: IPAddress, ttl: UInt8 = 64, id: UInt16 = 0x1c46, tos: UInt8 = 0,
        dontFragment: Bool = false, fragmentOffset: Int = 0, moreFragments: Bool = false, options: [UInt8] = []
    ) -> PacketBuilder {
        var b = self
        b.l3 = .v4(
            IPv4Spec(
                src: src, dst: dst, ttl: ttl, id: id, tos: tos, dontFragment: dontFragment,
                fragmentOffset: fragmentOffset, moreFragments: moreFragments, options: options))
        return b
    }

    public func ipv4(
        src: String, dst: String, ttl: UInt8 = 64, id: UInt16 = 0x1c46, tos: UInt8 = 0,
        dontFragment: Bool = false, fragmentOffset: Int = 0, moreFragments: Bool = false, options: [UInt8] = []
    ) -> PacketBuilder {
        ipv4(
            src: ip(src), dst: ip(dst), ttl: ttl, id: id, tos: tos, dontFragment: dontFragment,
            fragmentOffset: fragmentOffset, moreFragments: moreFragments, options: options)
    }

    public func ipv6(
        src: IPAddress, dst: IPAddress, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) -> PacketBuilder {
        var b = self
        b.l3 = .v6(IPv6Spec(src: src, dst: dst, hopLimit: hopLimit, trafficClass: trafficClass, flowLabel: flowLabel))
        return b
    }

    public func ipv6(
        src: String, dst: String, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) -> PacketBuilder {
        ipv6(src: ip(src), dst: ip(dst), hopLimit: hopLimit, trafficClass: trafficClass, flowLabel: flowLabel)
    }

    /// Appends an IPv6 extension header (in call order, before L4).
    public func ipv6Extension(_ ext: IPv6Extension) -> PacketBuilder {
        var b = self
        b.extensions.append(ext)
        return b
    }

    /// The IP protocol / last next-header when there is no L4 builder (e.g. a non-first fragment of a TCP
    /// datagram). Defaults: the L4's protocol, else 59 (no next header) for IPv6 and 253 (experimental) for IPv4.
    public func ipProtocol(_ proto: UInt8) -> PacketBuilder {
        var b = self
        b.protocolOverride = proto
        return b
    }

    // MARK: L4

    /// `flags` may include `.ns`.
    public func tcp(
        sport: UInt16, dport: UInt16, flags: TCPFlags = [], seq: UInt32 = 1000, ack: UInt32 = 0,
        window: UInt16 = 65535, urgent: UInt16 = 0, options: [UInt8] = []
    ) -> PacketBuilder {
        var b = self
        b.l4 = .tcp(
            sport: sport, dport: dport, flags: flags, seq: seq, ack: ack, window: window, urgent: urgent,
            options: options)
        return b
    }

    public func udp(sport: UInt16, dport: UInt16) -> PacketBuilder {
        var b = self
        b.l4 = .udp(sport: sport, dport: dport)
        return b
    }

    /// SCTP common header; chunks go in `payload`. Checksum: CRC32c.
    public func sctp(sport: UInt16, dport: UInt16, verificationTag: UInt32 = 0) -> PacketBuilder {
        var b = self
        b.l4 = .sctp(sport: sport, dport: dport, verificationTag: verificationTag)
        return b
    }

    public func icmpv4(_ message: ICMPv4Message) -> PacketBuilder {
        var b = self
        b.l4 = .icmpv4(message)
        return b
    }

    public func icmpv6(_ message: ICMPv6Message) -> PacketBuilder {
        var b = self
        b.l4 = .icmpv6(message)
        return b
    }

    /// Bytes after the L4 header (or after IP when there is no L4).
    public func payload(_ bytes: [UInt8]) -> PacketBuilder {
        var b = self
        b.body = bytes
        return b
    }

    public func payload(_ text: String) -> PacketBuilder { payload(Array(text.utf8)) }

    // MARK: Build

    public func build() -> [UInt8] {
        let proto = protocolOverride ?? l4Protocol
        var segment = buildL4()
        var out: [UInt8] = []
        if let eth {
            out += eth.dst.array + eth.src.array
            if let tag {
                out += be16(tag.tpid) + be16(tag.tci)
            }
            let etherType: UInt16
            switch l3 {
            case .v4: etherType = etherTypeOverride ?? 0x0800
            case .v6: etherType = etherTypeOverride ?? 0x86dd
            case nil: etherType = etherTypeOverride ?? 0x88b5  // local experimental
            }
            out += be16(etherType)
        }
        switch l3 {
        case .v4(let s):
            fillChecksum(&segment, src: s.src, dst: s.dst, proto: proto)
            var options = s.options
            while options.count % 4 != 0 { options.append(0) }
            let ihl = 5 + options.count / 4
            let total = ihl * 4 + segment.count
            var h: [UInt8] = [UInt8(0x40 | ihl), s.tos] + be16(UInt16(truncatingIfNeeded: total)) + be16(s.id)
            var frag = UInt16(truncatingIfNeeded: s.fragmentOffset / 8) & 0x1fff
            if s.dontFragment { frag |= 0x4000 }
            if s.moreFragments { frag |= 0x2000 }
            h += be16(frag) + [s.ttl, proto ?? 253, 0, 0] + s.src.bytes + s.dst.bytes + options
            let sum = Checksum.internet(h)
            h[10] = UInt8(sum >> 8)
            h[11] = UInt8(sum & 0xff)
            out += h + segment
        case .v6(let s):
            let checksumDst =
                extensions.lazy.compactMap { ext -> IPAddress? in
                    if case .routing(_, let left, let addrs) = ext, left > 0 { return addrs.last }
                    return nil
                }.first ?? s.dst
            fillChecksum(&segment, src: s.src, dst: checksumDst, proto: proto)
            var ext: [UInt8] = []
            for (i, e) in extensions.enumerated() {
                let next = i + 1 < extensions.count ? extensions[i + 1].number : (proto ?? 59)
                ext += encode(e, next: next)
            }
            let payloadLength = ext.count + segment.count
            let vtf = UInt32(6) << 28 | UInt32(s.trafficClass) << 20 | (s.flowLabel & 0xfffff)
            let first = extensions.first?.number ?? (proto ?? 59)
            out += be32(vtf) + be16(UInt16(truncatingIfNeeded: payloadLength)) + [first, s.hopLimit]
            out += s.src.bytes + s.dst.bytes + ext + segment
        case nil:
            out += segment
        }
        if out.count < minimumFrameLength { out += [UInt8](repeating: 0, count: minimumFrameLength - out.count) }
        return out
    }

    var l4Protocol: UInt8? {
        switch l4 {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .icmpv4: 1
        case .icmpv6: 58
        case nil: nil
        }
    }

    /// L4 header + payload with the checksum field zero (filled by `fillChecksum`, which knows the addresses).
    func buildL4() -> [UInt8] {
        switch l4 {
        case .tcp(let sport, let dport, let flags, let seq, let ack, let window, let urgent, var options):
            while options.count % 4 != 0 { options.append(1) }  // NOP padding
            let dataOffset = 5 + options.count / 4
            let offsetByte = UInt8(dataOffset << 4) | (flags.contains(.ns) ? 1 : 0)
            return be16(sport) + be16(dport) + be32(seq) + be32(ack)
                + [offsetByte, UInt8(truncatingIfNeeded: flags.rawValue & 0xff)] + be16(window) + [0, 0] + be16(urgent)
                + options + body
        case .udp(let sport, let dport):
            return be16(sport) + be16(dport) + be16(UInt16(truncatingIfNeeded: 8 + body.count)) + [0, 0] + body
        case .sctp(let sport, let dport, let vtag):
            var s = be16(sport) + be16(dport) + be32(vtag) + [0, 0, 0, 0] + body
            let crc = Checksum.crc32c(s)
            // Stored least significant byte first (RFC 4960 appendix B; Linux writes cpu_to_le32(~crc)).
            s[8] = UInt8(crc & 0xff)
            s[9] = UInt8((crc >> 8) & 0xff)
            s[10] = UInt8((crc >> 16) & 0xff)
            s[11] = UInt8(crc >> 24)
            return s
        case .icmpv4(let m):
            switch m {
            case .echoRequest(let id, let seq): return [8, 0, 0, 0] + be16(id) + be16(seq) + body
            case .echoReply(let id, let seq): return [0, 0, 0, 0] + be16(id) + be16(seq) + body
            case .destinationUnreachable(let code, let original): return [3, code, 0, 0, 0, 0, 0, 0] + original + body
            case .other(let type, let code, let rest): return [type, code, 0, 0] + be32(rest) + body
            }
        case .icmpv6(let m):
            switch m {
            case .echoRequest(let id, let seq): return [128, 0, 0, 0] + be16(id) + be16(seq) + body
            case .echoReply(let id, let seq): return [129, 0, 0, 0] + be16(id) + be16(seq) + body
            case .other(let type, let code, let rest): return [type, code, 0, 0] + be32(rest) + body
            }
        case nil:
            return body
        }
    }

    /// TCP, UDP and ICMPv6 use the pseudo-header; ICMPv4 does not; SCTP was done in `buildL4`.
    func fillChecksum(_ segment: inout [UInt8], src: IPAddress, dst: IPAddress, proto: UInt8?) {
        let at: Int
        let pseudo: Bool
        switch l4 {
        case .tcp: (at, pseudo) = (16, true)
        case .udp: (at, pseudo) = (6, true)
        case .icmpv6: (at, pseudo) = (2, true)
        case .icmpv4: (at, pseudo) = (2, false)
        case .sctp, nil: return
        }
        var data: [UInt8] = []
        if pseudo {
            data = Checksum.pseudoHeader(src: src, dst: dst, proto: proto ?? 0, length: segment.count)
        }
        data += segment
        var sum = Checksum.internet(data)
        if case .udp = l4, sum == 0 { sum = 0xffff }
        segment[at] = UInt8(sum >> 8)
        segment[at + 1] = UInt8(sum & 0xff)
    }

    func encode(_ e: IPv6Extension, next: UInt8) -> [UInt8] {
        switch e {
        case .hopByHop(let extra), .destinationOptions(let extra):
            let units = max(0, extra)
            // 6 bytes of options in the first unit, 8 more per extra unit: one PadN option covers them all.
            let padLength = 6 + 8 * units
            var h: [UInt8] = [next, UInt8(truncatingIfNeeded: units)]
            if padLength - 2 <= 255 {
                h += [1, UInt8(padLength - 2)] + [UInt8](repeating: 0, count: padLength - 2)
            } else {
                h += [UInt8](repeating: 0, count: padLength)  // Pad1 options
            }
            return h
        case .routing(let type, let left, let addrs):
            var h: [UInt8] = [next, UInt8(truncatingIfNeeded: addrs.count * 2), type, left, 0, 0, 0, 0]
            for a in addrs { h += a.bytes }
            return h
        case .fragment(let offset, let more, let id):
            let fo = UInt16(truncatingIfNeeded: offset) & 0xfff8 | (more ? 1 : 0)
            return [next, 0] + be16(fo) + be32(id)
        case .authentication(let spi, let seq, let icvLength):
            var icv = max(0, icvLength)
            while (12 + icv) % 8 != 0 { icv += 1 }  // IPv6 AH is 8-byte aligned
            let words = (12 + icv) / 4
            return [next, UInt8(truncatingIfNeeded: words - 2), 0, 0] + be32(spi) + be32(seq)
                + [UInt8](repeating: 0xab, count: icv)
        }
    }
}

@inline(__always) func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
@inline(__always) func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
}

func ip(_ text: String) -> IPAddress {
    guard let a = IPAddress(text) else { preconditionFailure("PacketBuilder: bad IP address \(text)") }
    return a
}

func mac(_ text: String) -> MACAddress {
    guard let m = MACAddress(text: text) else { preconditionFailure("PacketBuilder: bad MAC \(text)") }
    return m
}

extension MACAddress {
    var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }
}
