import SpyglassFlow

/// `flows-to-world` (docs/hubble-compatibility.md §2.4): flows whose destination is `reserved:world`.
struct FlowsToWorldHandler: MetricHandler {
    let name = "flows-to-world"
    let context: ContextOptions
    let anyDrop: Bool
    let port: Bool
    let synOnly: Bool
    let flows: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        anyDrop = config.has("any-drop")
        port = config.has("port")
        synOnly = config.has("syn-only")
        flows = factory.make(
            "hubble_flows_to_world_total", help: Help.flowsToWorld, type: .counter,
            labels: ["protocol", "verdict"] + (port ? ["port"] : []), context: context, placement: .last)
    }

    var families: [MetricFamily] { [flows] }
    var status: String {
        describe(
            "flows to reserved:world", context,
            (anyDrop ? ["any-drop"] : []) + (port ? ["port"] : []) + (synOnly ? ["syn-only"] : []))
    }

    static let worldLabels: Set<String> = ["reserved:world", "reserved:world-ipv4", "reserved:world-ipv6"]

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard let destination = flow.destination, flow.eventType != nil, let l4 = flow.l4 else { return }
        guard destination.labels.contains(where: { FlowsToWorldHandler.worldLabels.contains($0) }) else { return }
        if flow.verdict == .dropped {
            if !anyDrop && flow.dropReasonDesc != .policyDenied { return }
        } else if flow.isReply == true {
            return
        }
        if synOnly {
            guard case .tcp(let tcp) = l4, tcp.flags?.contains(.syn) == true, flow.isReply != true else { return }
        }
        let withPort = port
        flows.add(now: env.now) { w in
            w.value(flow.flowProtocol)
            w.value(flow.verdict.name)
            if withPort {
                switch l4 {
                case .tcp(let t): w.appendDecimal(UInt64(t.destinationPort))
                case .udp(let u): w.appendDecimal(UInt64(u.destinationPort))
                case .sctp(let s): w.appendDecimal(UInt64(s.destinationPort))
                default: break
                }
                w.endValue()
            }
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
        }
    }
}
