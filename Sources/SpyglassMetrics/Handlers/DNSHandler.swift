import SpyglassFlow

/// `dns` (docs/hubble-compatibility.md §2.1): queries, responses and response record types of flows with an `l7.dns`
/// record.
struct DNSHandler: MetricHandler {
    let name = "dns"
    let context: ContextOptions
    let includeQuery: Bool
    let ignoreAAAA: Bool
    let queries: MetricFamily
    let responses: MetricFamily
    let responseTypes: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        includeQuery = config.has("query")
        ignoreAAAA = config.has("ignoreAAAA")
        let q = includeQuery ? ["query"] : []
        queries = factory.make(
            "hubble_dns_queries_total", help: Help.dns, type: .counter,
            labels: ["rcode", "qtypes", "ips_returned"] + q, context: context, placement: .first)
        responses = factory.make(
            "hubble_dns_responses_total", help: Help.dns, type: .counter,
            labels: ["rcode", "qtypes", "ips_returned"] + q, context: context, placement: .first)
        responseTypes = factory.make(
            "hubble_dns_response_types_total", help: Help.dns, type: .counter,
            labels: ["type", "qtypes"] + q, context: context, placement: .first)
    }

    var families: [MetricFamily] { [queries, responses, responseTypes] }

    var status: String {
        describe(
            "DNS queries and responses", context,
            (includeQuery ? ["query"] : []) + (ignoreAAAA ? ["ignoreAAAA"] : []))
    }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard case .dns(let dns)? = flow.l7?.record else { return }
        if ignoreAAAA && dns.qtypes.count == 1 && dns.qtypes[0] == "AAAA" { return }
        if flow.verdict == .dropped {
            queries.add(now: env.now) { writeRcodeSeries("Policy denied", flow, dns, env.contextCache, &$0) }
        } else if flow.isReply != true {
            queries.add(now: env.now) { writeRcodeSeries("", flow, dns, env.contextCache, &$0) }
        } else {
            responses.add(now: env.now) {
                writeRcodeSeries(DNSRCode.name(dns.rcode), flow, dns, env.contextCache, &$0)
            }
            for rr in dns.rrtypes {
                responseTypes.add(now: env.now) { w in
                    context.write(flow, invert: false, to: &w, cache: env.contextCache)
                    w.value(rr)
                    DNSHandler.writeQtypes(dns, &w)
                    if includeQuery { w.value(dns.query) }
                }
            }
        }
    }

    /// `[ctx] rcode qtypes ips_returned [query]`.
    @inline(__always) func writeRcodeSeries(
        _ rcode: String, _ flow: Flow, _ dns: DNS, _ cache: LabelsContextCache?, _ w: inout LabelWriter
    ) {
        context.write(flow, invert: false, to: &w, cache: cache)
        w.value(rcode)
        DNSHandler.writeQtypes(dns, &w)
        w.appendDecimal(UInt64(dns.ips.count))
        w.endValue()
        if includeQuery { w.value(dns.query) }
    }

    /// `qtypes` joined with ','.
    @inline(__always) static func writeQtypes(_ dns: DNS, _ w: inout LabelWriter) {
        for (i, t) in dns.qtypes.enumerated() {
            if i > 0 { w.appendByte(0x2C) }
            w.append(t)
        }
        w.endValue()
    }
}

/// DNS rcode label values (docs/hubble-compatibility.md §2.1); unknown codes give "".
enum DNSRCode {
    static func name(_ code: UInt32) -> String {
        switch code {
        case 0: "No Error"
        case 1: "Format Error"
        case 2: "Server Failure"
        case 3: "Non-Existent Domain"
        case 4: "Not Implemented"
        case 5: "Query Refused"
        case 6: "Name Exists when it should not"
        case 7: "RR Set Exists when it should not"
        case 8: "RR Set that should exist does not"
        case 9: "Not Authorized"
        case 10: "Name not contained in zone"
        case 11: "DSO-TYPE Not Implemented"
        case 16: "Bad OPT Version"
        case 17: "Key not recognized"
        case 18: "Signature out of time window"
        case 19: "Bad TKEY Mode"
        case 20: "Duplicate key name"
        case 21: "Algorithm not supported"
        case 22: "Bad Truncation"
        case 23: "Bad/missing Server Cookie"
        default: ""
        }
    }
}
