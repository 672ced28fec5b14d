import SpyglassFlow

/// `tcp` (docs/hubble-compatibility.md §2.9): SYN, SYN-ACK, FIN and RST occurrences of forwarded/redirected TCP flows.
struct TCPHandler: MetricHandler {
    let name = "tcp"
    let context: ContextOptions
    let flags: MetricFamily

    init(_ config: HandlerConfig, _ factory: FamilyFactory) {
        context = config.context
        flags = factory.make(
            "hubble_tcp_flags_total", help: Help.tcp, type: .counter, labels: ["flag", "family"],
            context: context, placement: .last)
    }

    var families: [MetricFamily] { [flags] }
    var status: String { describe("TCP SYN, SYN-ACK, FIN and RST by IP family", context) }

    func process(_ flow: Flow, _ env: ProcessEnv) {
        guard flow.verdict == .forwarded || flow.verdict == .redirected, let ip = flow.ip,
            case .tcp(let tcp)? = flow.l4, let f = tcp.flags
        else { return }
        let family = ip.ipVersion.name
        @inline(__always) func count(_ flag: String) {
            flags.add(now: env.now) { w in
                w.value(flag)
                w.value(family)
                context.write(flow, invert: false, to: &w, cache: env.contextCache)
            }
        }
        if f.contains(.fin) { count("FIN") }
        if f.contains(.syn) { count(f.contains(.ack) ? "SYN-ACK" : "SYN") }
        if f.contains(.rst) { count("RST") }
    }
}
