import SpyglassFlow

/// `flow` (docs/hubble-compatibility.md §2.3): every flow by protocol, event type, subtype and verdict.
struct FlowHandler: MetricHandler {
    let name = "flow"
    let context: ContextOptions
    let flows: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        flows = factory.make(
            "hubble_flows_processed_total", help: Help.flow, type: .counter,
            labels: ["protocol", "type", "subtype", "verdict"], context: context, placement: .last)
    }

    var families: [MetricFamily] { [flows] }
    var status: String { describe("all flows by protocol, type, subtype and verdict", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        flows.add(now: env.now) { w in
            w.value(flow.flowProtocol)
            let type = flow.eventType?.type ?? 0
            switch type {
            case CiliumEventType.accessLog:
                w.value("L7")
                switch flow.l7?.record {
                case .dns: w.value("DNS")
                case .http: w.value("HTTP")
                case nil: w.value("")
                }
            case CiliumEventType.drop:
                w.value("Drop")
                w.value("")
            case CiliumEventType.capture:
                w.value("Capture")
                w.value("")
            case CiliumEventType.trace:
                w.value("Trace")
                // The datapath code is read as a uint8, as Hubble does.
                let code = Int32(UInt8(truncatingIfNeeded: flow.eventType?.subType ?? 0))
                w.value(TraceObservationPoint.monitorName(datapathCode: code))
            case CiliumEventType.policyVerdict:
                w.value("PolicyVerdict")
                w.value("")
            default:
                w.value("Unknown")
                if type >= 0 { w.appendDecimal(UInt64(type)) } else { w.append(String(type)) }
                w.endValue()
            }
            w.value(flow.verdict.name)
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
        }
    }
}
