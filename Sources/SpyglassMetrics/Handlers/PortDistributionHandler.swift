import SpyglassFlow

/// `port-distribution` (docs/hubble-compatibility.md §2.8): forwarded/redirected non-reply flows by destination port.
struct PortDistributionHandler: MetricHandler {
    let name = "port-distribution"
    let context: ContextOptions
    let ports: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        ports = factory.make(
            "hubble_port_distribution_total", help: Help.portDistribution, type: .counter,
            labels: ["protocol", "port"], context: context, placement: .last)
    }

    var families: [MetricFamily] { [ports] }
    var status: String { describe("forwarded non-reply flows by destination port", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard flow.verdict == .forwarded || flow.verdict == .redirected, let l4 = flow.l4, flow.isReply == false else {
            return
        }
        ports.add(now: env.now) { w in
            switch l4 {
            case .tcp(let t): w.value("TCP"); w.appendDecimal(UInt64(t.destinationPort))
            case .udp(let u): w.value("UDP"); w.appendDecimal(UInt64(u.destinationPort))
            case .sctp(let s): w.value("SCTP"); w.appendDecimal(UInt64(s.destinationPort))
            case .icmpv4: w.value("ICMPv4"); w.appendByte(0x30)
            case .icmpv6: w.value("ICMPv6"); w.appendByte(0x30)
            case .vrrp: w.value("VRRP"); w.appendByte(0x30)
            case .igmp: w.value("IGMP"); w.appendByte(0x30)
            }
            w.endValue()
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
        }
    }
}
