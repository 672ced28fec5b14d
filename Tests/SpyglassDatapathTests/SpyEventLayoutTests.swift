import CSpyglassBPF
import SpyglassFlow
import Testing

/// The kernel–user record layout has one source of truth, `spyglass_events.h`; the decoder's Swift mirror
/// (`SpyEventLayout`) is checked against the header as compiled, field by field. The C side is read generically
/// (every field the struct has, found by reflection over a record whose every byte holds its own offset), so a
/// field added to the header fails here until `SpyEventLayout.fields` describes it — no edit of this test needed.
@Suite struct SpyEventLayoutTests {
    /// (C name, offset, size) of every field of `value`, a C struct whose byte i holds i.
    static func fields(of value: Any, prefix: String = "") -> [(String, Int, Int)] {
        var out: [(String, Int, Int)] = []
        for child in Mirror(reflecting: value).children {
            let name = prefix + (child.label ?? "?")
            switch child.value {
            case let v as UInt8: out.append((name, Int(v), 1))
            case let v as UInt16: out.append((name, Int(v & 0xff), 2))
            case let v as UInt32: out.append((name, Int(v & 0xff), 4))
            case let v as UInt64: out.append((name, Int(v & 0xff), 8))
            default:
                let inner = Mirror(reflecting: child.value)
                if inner.displayStyle == .tuple {
                    // A C array: its first element's byte is its offset.
                    let elements = inner.children.map(\.value)
                    let first = (elements.first as? UInt8).map(Int.init) ?? -1
                    out.append((name, first, elements.count * MemoryLayout<UInt8>.size))
                } else {
                    out += fields(of: child.value, prefix: name + ".")
                }
            }
        }
        return out
    }

    @Test func everyFieldMatchesTheHeader() throws {
        let size = MemoryLayout<spy_packet_event>.size
        #expect(size < 256, "the byte-pattern trick needs offsets below 256")
        var event = spy_packet_event()
        withUnsafeMutableBytes(of: &event) { raw in
            for i in raw.indices { raw[i] = UInt8(truncatingIfNeeded: i) }
        }
        let c = Self.fields(of: event)
        #expect(c.count >= 20, "reflection found the fields: \(c)")
        for (name, offset, bytes) in c {
            let swift = try #require(
                SpyEventLayout.fields[name],
                "C field \(name) (offset \(offset), \(bytes) bytes) is not in SpyEventLayout.fields")
            #expect(
                swift.offset == offset && swift.size == bytes,
                "\(name): C offset \(offset) size \(bytes), Swift \(swift)")
        }
        #expect(Set(SpyEventLayout.fields.keys) == Set(c.map(\.0)), "fields only one side has")
        // The fields tile the struct: no byte read by Swift lies outside it.
        for (name, f) in SpyEventLayout.fields { #expect(f.offset + f.size <= size, "\(name)") }
    }

    @Test func sizesAndConstantsMatchTheHeader() {
        #expect(SpyEventLayout.packetEventSize == MemoryLayout<spy_packet_event>.size)
        #expect(SpyEventLayout.headerSize == MemoryLayout<spy_event_header>.size)
        #expect(Int(SpyEventLayout.version) == Int(SPY_EVENT_VERSION))
        #expect(SpyEventLayout.maxSnapLen == Int(SPY_MAX_SNAP_LEN))
        #expect(SpyEventLayout.minSnapLen == Int(SPY_MIN_SNAP_LEN))
        #expect(Int(SpyEventLayout.Kind.trace.rawValue) == Int(SPY_EVENT_TRACE.rawValue))
        #expect(Int(SpyEventLayout.Kind.drop.rawValue) == Int(SPY_EVENT_DROP.rawValue))
        #expect(Int(SpyEventLayout.HookDirection.ingress.rawValue) == Int(SPY_DIR_INGRESS.rawValue))
        #expect(Int(SpyEventLayout.HookDirection.egress.rawValue) == Int(SPY_DIR_EGRESS.rawValue))
        typealias F = SpyEventLayout.Flags
        let flags: [(F, Int)] = [
            (.isReply, Int(SPY_F_IS_REPLY)), (.replyKnown, Int(SPY_F_REPLY_KNOWN)),
            (.newConnection, Int(SPY_F_NEW_CONNECTION)),
            (.vlan, Int(SPY_F_VLAN)), (.l4Present, Int(SPY_F_L4_PRESENT)), (.fragment, Int(SPY_F_FRAGMENT)),
            (.truncated, Int(SPY_F_TRUNCATED)), (.tcpNS, Int(SPY_F_TCP_NS)), (.l7Candidate, Int(SPY_F_L7_CANDIDATE)),
            (.l7Only, Int(SPY_F_L7_ONLY))
        ]
        for (swift, c) in flags { #expect(Int(swift.rawValue) == c, "flag \(swift.rawValue) vs \(c)") }
        typealias R = SpyEventLayout.ReportReason
        let reasons: [(R, Int)] = [
            (.everyPacket, Int(SPY_REPORT_EVERY_PACKET.rawValue)),
            (.newConnection, Int(SPY_REPORT_NEW_CONNECTION.rawValue)),
            (.newTCPFlags, Int(SPY_REPORT_NEW_TCP_FLAGS.rawValue)), (.interval, Int(SPY_REPORT_INTERVAL.rawValue)),
            (.noState, Int(SPY_REPORT_NO_STATE.rawValue)), (.l7, Int(SPY_REPORT_L7.rawValue))
        ]
        for (swift, c) in reasons { #expect(Int(swift.rawValue) == c) }
        typealias O = SpyEventLayout.ObservationCode
        let points: [(UInt8, Int)] = [
            (O.toEndpoint, Int(SPY_OBS_TO_ENDPOINT)), (O.toProxy, Int(SPY_OBS_TO_PROXY)),
            (O.toHost, Int(SPY_OBS_TO_HOST)),
            (O.toStack, Int(SPY_OBS_TO_STACK)), (O.toOverlay, Int(SPY_OBS_TO_OVERLAY)),
            (O.fromEndpoint, Int(SPY_OBS_FROM_ENDPOINT)),
            (O.fromProxy, Int(SPY_OBS_FROM_PROXY)), (O.fromHost, Int(SPY_OBS_FROM_HOST)),
            (O.fromStack, Int(SPY_OBS_FROM_STACK)),
            (O.fromOverlay, Int(SPY_OBS_FROM_OVERLAY)), (O.fromNetwork, Int(SPY_OBS_FROM_NETWORK)),
            (O.toNetwork, Int(SPY_OBS_TO_NETWORK)),
            (O.unknown, Int(SPY_OBS_UNKNOWN))
        ]
        for (swift, c) in points { #expect(Int(swift) == c) }
    }
}
