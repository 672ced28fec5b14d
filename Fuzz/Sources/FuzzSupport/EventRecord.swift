import SpyglassFlow

/// Writes the ring-buffer record the tc program would emit for a frame (the fields the decoder reads, derived with
/// `PacketParser` as `bpf/lib/parse.bpf.h` does). Mirrors SpyglassTesting's EventBuilder, which the fuzz package
/// cannot link (it pulls in Swift Testing).
public enum EventRecord {
    /// The record of a packet the kernel dropped (skb:kfree_skb) with kernel reason `reason`; an L7 candidate as the
    /// drop program marks packets to DNS/HTTP ports.
    public static func drop(frame: [UInt8], timestampNs: UInt64, reason: UInt32 = 6) -> [UInt8] {
        var out = trace(frame: frame, obsPoint: 0xff, timestampNs: timestampNs)
        let k = SpyEventLayout.Kind.drop.rawValue
        out[SpyEventLayout.Offset.kind] = UInt8(k & 0xff)
        out[SpyEventLayout.Offset.kind + 1] = UInt8(k >> 8)
        for i in 0..<4 { out[SpyEventLayout.Offset.dropReason + i] = UInt8((reason >> (8 * UInt32(i))) & 0xff) }
        return out
    }

    public static func trace(frame: [UInt8], obsPoint: UInt8, timestampNs: UInt64, flags extra: UInt16 = 0) -> [UInt8] {
        typealias O = SpyEventLayout.Offset
        let snap = Array(frame.prefix(SpyEventLayout.maxSnapLen))
        var out = [UInt8](repeating: 0, count: SpyEventLayout.packetEventSize)
        func put16(_ o: Int, _ v: UInt16) { out[o] = UInt8(v & 0xff); out[o + 1] = UInt8(v >> 8) }
        func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { out[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
        func put64(_ o: Int, _ v: UInt64) { for i in 0..<8 { out[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xff) } }
        let p = PacketParser.parse(frame)
        var flags = SpyEventLayout.Flags(rawValue: extra)
        put16(O.version, SpyEventLayout.version)
        put16(O.kind, SpyEventLayout.Kind.trace.rawValue)
        put16(O.headerLen, UInt16(SpyEventLayout.packetEventSize))
        put16(O.snapLen, UInt16(snap.count))
        put64(O.timestampNs, timestampNs)
        put32(O.ifindex, 2)
        put32(O.pktLen, UInt32(frame.count))
        if let s = p.source, let d = p.destination {
            for (i, b) in s.bytes.enumerated() { out[O.saddr + i] = b }
            for (i, b) in d.bytes.enumerated() { out[O.daddr + i] = b }
            out[O.ipVersion] = s.isIPv6 ? 6 : 4
        }
        out[O.obsPoint] = obsPoint
        out[O.l4Proto] = p.ipProtocol ?? 0
        put16(O.l3Offset, UInt16(p.l3Offset ?? 0))
        if let tcp = p.tcp { out[O.tcpFlags] = UInt8(truncatingIfNeeded: tcp.flags.rawValue & 0xff) }
        if let sp = p.sourcePort, let dp = p.destinationPort {
            put16(O.sport, sp)
            put16(O.dport, dp)
        }
        if p.tcp != nil || p.sourcePort != nil || p.icmp != nil {
            flags.insert(.l4Present)
            put16(O.l4Offset, UInt16(p.l4Offset ?? 0))
        }
        flags.insert(.l7Candidate)
        put16(O.flags, flags.rawValue)
        put32(O.aggregated, 1)
        put64(O.aggregatedBytes, UInt64(frame.count))
        return out + snap
    }
}
