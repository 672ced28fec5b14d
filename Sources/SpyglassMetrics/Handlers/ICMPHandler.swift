import SpyglassFlow

/// `icmp` (docs/hubble-compatibility.md §2.6): every ICMPv4/ICMPv6 flow, whatever the verdict. ICMPv6 is
/// `family="IPv6"` (§11.1: older Hubble releases said `IPv4`).
struct ICMPHandler: MetricHandler {
    let name = "icmp"
    let context: ContextOptions
    let messages: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        messages = factory.make(
            "hubble_icmp_total", help: Help.icmp, type: .counter, labels: ["family", "type"],
            context: context, placement: .last)
    }

    var families: [MetricFamily] { [messages] }
    var status: String { describe("ICMP messages by family and type", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        let family: String
        let type: String
        switch flow.l4 {
        case .icmpv4(let m):
            family = "IPv4"
            type = ICMPTypeNames.v4(m.type, m.code)
        case .icmpv6(let m):
            family = "IPv6"
            type = ICMPTypeNames.v6(m.type, m.code)
        default:
            return
        }
        messages.add(now: env.now) { w in
            w.value(family)
            w.value(type)
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
        }
    }
}

/// `ICMPTypeName` strings precomputed for codes 0–15 of every type, so the hot path does not build a String.
enum ICMPTypeNames {
    static let v4Table: [String] = (0..<4096).map { ICMPTypeName.v4(type: UInt8($0 >> 4), code: UInt8($0 & 15)) }
    static let v6Table: [String] = (0..<4096).map { ICMPTypeName.v6(type: UInt8($0 >> 4), code: UInt8($0 & 15)) }

    @inline(__always) static func v4(_ type: UInt8, _ code: UInt8) -> String {
        code < 16 ? v4Table[Int(type) << 4 | Int(code)] : ICMPTypeName.v4(type: type, code: code)
    }
    @inline(__always) static func v6(_ type: UInt8, _ code: UInt8) -> String {
        code < 16 ? v6Table[Int(type) << 4 | Int(code)] : ICMPTypeName.v6(type: type, code: code)
    }
}
