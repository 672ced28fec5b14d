import SpyglassFlow

/// `drop` (docs/hubble-compatibility.md §2.2): every DROPPED flow by reason and flow protocol.
struct DropHandler: MetricHandler {
    let name = "drop"
    let context: ContextOptions
    let drops: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        drops = factory.make(
            "hubble_drop_total", help: Help.drop, type: .counter, labels: ["reason", "protocol"],
            context: context, placement: .first)
    }

    var families: [MetricFamily] { [drops] }
    var status: String { describe("dropped flows by reason and protocol", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard flow.verdict == .dropped else { return }
        drops.add(now: env.now) { w in
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
            w.value(flow.dropReasonLabel)
            w.value(flow.flowProtocol)
        }
    }
}
