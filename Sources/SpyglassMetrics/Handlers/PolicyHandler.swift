import SpyglassFlow

/// `policy` (docs/hubble-compatibility.md §2.7): policy-verdict events and L7 access-log events.
struct PolicyHandler: MetricHandler {
    let name = "policy"
    let context: ContextOptions
    let verdicts: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        verdicts = factory.make(
            "hubble_policy_verdicts_total", help: Help.policy, type: .counter,
            labels: ["direction", "match", "action"], context: context, placement: .last)
    }

    var families: [MetricFamily] { [verdicts] }
    var status: String { describe("policy verdicts by direction, match and action", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        let match: String
        switch flow.eventType?.type {
        case CiliumEventType.policyVerdict:
            // Verdicts for the host's own traffic (identity 1, reserved:host) are not counted.
            if flow.source?.identity == 1 { return }
            match = PolicyMatchName.name(flow.policyMatchType ?? 0)  // absent reads as 0 (`none`), as in protobuf
        case CiliumEventType.accessLog:
            switch flow.l7?.record {
            case .dns: match = "l7/dns"
            case .http: match = "l7/http"
            case nil: match = "l7/"
            }
        default:
            return
        }
        verdicts.add(now: env.now) { w in
            switch flow.trafficDirection {
            case .ingress: w.value("ingress")
            case .egress: w.value("egress")
            case .unknown: w.value("traffic_direction_unknown")
            }
            w.value(match)
            w.value(PolicyHandler.action(flow.verdict))
            context.write(flow, invert: false, to: &w, cache: env.contextCache)
        }
    }

    static func action(_ v: Verdict) -> String {
        switch v {
        case .verdictUnknown: "verdict_unknown"
        case .forwarded: "forwarded"
        case .dropped: "dropped"
        case .error: "error"
        case .audit: "audit"
        case .redirected: "redirected"
        case .traced: "traced"
        case .translated: "translated"
        }
    }
}
