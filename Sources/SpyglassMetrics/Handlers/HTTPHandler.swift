import SpyglassFlow

/// `http` (v1, deprecated; docs/hubble-compatibility.md §2.5): requests, responses and durations, without inversion.
struct HTTPHandler: MetricHandler {
    let name = "http"
    let context: ContextOptions
    let exemplars: Bool
    let requests: MetricFamily
    let responses: MetricFamily
    let duration: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        exemplars = config.exemplars
        requests = factory.make(
            "hubble_http_requests_total", help: Help.httpRequests, type: .counter,
            labels: ["method", "protocol", "reporter"], context: context, placement: .first, exemplars: exemplars)
        responses = factory.make(
            "hubble_http_responses_total", help: Help.httpResponses, type: .counter,
            labels: ["method", "protocol", "status", "reporter"], context: context, placement: .first,
            exemplars: exemplars)
        duration = factory.make(
            "hubble_http_request_duration_seconds", help: Help.httpDuration, type: .histogram,
            labels: ["method", "reporter"], context: context, placement: .first, exemplars: exemplars)
    }

    var families: [MetricFamily] { [requests, responses, duration] }
    var status: String { describe("HTTP requests and responses (v1)", context, exemplars ? ["exemplars=true"] : []) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard let l7 = flow.l7, case .http(let http)? = l7.record else { return }
        let reporter = flow.httpReporter
        switch l7.type {
        case .request:
            let ex = exemplar(flow, 1, env)
            requests.add(now: env.now, exemplar: ex) { w in
                context.write(flow, invert: false, to: &w, cache: env.contextCache)
                w.value(http.method)
                w.value(http.protocol)
                w.value(reporter)
            }
        case .response:
            responses.add(now: env.now, exemplar: exemplar(flow, 1, env)) { w in
                context.write(flow, invert: false, to: &w, cache: env.contextCache)
                w.value(http.method)
                w.value(http.protocol)
                w.appendDecimal(UInt64(http.code))
                w.endValue()
                w.value(reporter)
            }
            let seconds = Double(l7.latencyNs) / 1e9
            duration.observe(seconds, now: env.now, exemplar: exemplar(flow, seconds, env)) { w in
                context.write(flow, invert: false, to: &w, cache: env.contextCache)
                w.value(http.method)
                w.value(reporter)
            }
        default:
            return
        }
    }

    @inline(__always) func exemplar(_ flow: Flow, _ value: Double, _ env: ProcessEnv) -> Exemplar? {
        guard exemplars, let tc = flow.traceContext else { return nil }
        return Exemplar(traceID: tc.traceID, value: value, timestampNanos: env.exemplarTime(flow))
    }
}
