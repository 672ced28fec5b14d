import SpyglassFlow

/// `httpV2` (docs/hubble-compatibility.md §2.5): counts HTTP responses as requests (with status) plus a duration
/// observation, labelled from the request's point of view (inverted context, §3.5 there).
struct HTTPV2Handler: MetricHandler {
    let name = "httpV2"
    let context: ContextOptions
    let exemplars: Bool
    let requests: MetricFamily
    let duration: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        exemplars = config.exemplars
        requests = factory.make(
            "hubble_http_requests_total", help: Help.httpRequests, type: .counter,
            labels: ["method", "protocol", "status", "reporter"], context: context, placement: .first,
            exemplars: exemplars)
        duration = factory.make(
            "hubble_http_request_duration_seconds", help: Help.httpDuration, type: .histogram,
            labels: ["method", "reporter"], context: context, placement: .first, exemplars: exemplars)
    }

    var families: [MetricFamily] { [requests, duration] }
    var status: String {
        describe("HTTP responses as requests (v2, inverted context)", context, exemplars ? ["exemplars=true"] : [])
    }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard let l7 = flow.l7, l7.type == .response, case .http(let http)? = l7.record else { return }
        let reporter = flow.httpReporter
        let seconds = Double(l7.latencyNs) / 1e9
        var ex1: Exemplar? = nil
        var ex2: Exemplar? = nil
        if exemplars, let tc = flow.traceContext {
            let t = env.exemplarTime(flow)
            ex1 = Exemplar(traceID: tc.traceID, value: 1, timestampNanos: t)
            ex2 = Exemplar(traceID: tc.traceID, value: seconds, timestampNanos: t)
        }
        requests.add(now: env.now, exemplar: ex1) { w in
            context.write(flow, invert: true, to: &w, cache: env.contextCache)
            w.value(http.method)
            w.value(http.protocol)
            w.appendDecimal(UInt64(http.code))
            w.endValue()
            w.value(reporter)
        }
        duration.observe(seconds, now: env.now, exemplar: ex2) { w in
            context.write(flow, invert: true, to: &w, cache: env.contextCache)
            w.value(http.method)
            w.value(reporter)
        }
    }
}
