import SpyglassFlow

/// `icmp` (hubble-compat.md §5.6): every ICMPv4/ICMPv6 flow, whatever the verdict. ICMPv6 is `family="IPv6"`
/// (Spyglass decision 1).
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
            type = ICMPTypeName.v4(type: m.type, code: m.code)
        case .icmpv6(let m):
            family = "IPv6"
            type = ICMPTypeName.v6(type: m.type, code: m.code)
        default:
            return
        }
        let ctx = context
        messages.add(now: env.now) { w in
            w.value(family)
            w.value(type)
            ctx.write(flow, invert: false, to: &w)
        }
    }
}
