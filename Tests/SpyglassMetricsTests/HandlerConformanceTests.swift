import SpyglassFlow
import Testing

@testable import SpyglassMetrics

/// One suite, run over every handler: option parsing, families (names, types, label names in definition order),
/// irrelevant flows ignored, label value count = label name count for every fixture, unknown options rejected,
/// a status line.
@Suite struct HandlerConformanceTests {
    struct Family: Sendable {
        let name: String
        let type: MetricType
        let ownLabels: [String]
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// Handler-specific options accepted by the parser (context options are added by the tests).
        let options: [String]
        let families: [Family]
        /// Context labels go before (true) or after the handler's own labels.
        let contextFirst: Bool
        /// Flows that must not create any series.
        let irrelevant: [Flow]
        /// Flows that must create at least one series.
        let relevant: [Flow]
        var testDescription: String { name }
    }

    static func with(_ f: Flow, _ change: (inout Flow) -> Void) -> Flow {
        var f = f
        change(&f)
        return f
    }

    static let nonDNS = [Fixtures.tcpSyn, Fixtures.httpRequest, Fixtures.icmpEcho4, Fixtures.dropPolicy]

    static let cases: [Case] = [
        Case(
            name: "dns", options: ["query", "ignoreAAAA"],
            families: [
                // `query` is in the options, so each family has the trailing `query` label.
                Family(
                    name: "hubble_dns_queries_total", type: .counter,
                    ownLabels: ["rcode", "qtypes", "ips_returned", "query"]),
                Family(
                    name: "hubble_dns_responses_total", type: .counter,
                    ownLabels: ["rcode", "qtypes", "ips_returned", "query"]),
                Family(name: "hubble_dns_response_types_total", type: .counter, ownLabels: ["type", "qtypes", "query"])
            ],
            contextFirst: true, irrelevant: nonDNS,
            relevant: [Fixtures.dnsQueryA, Fixtures.dnsResponseA, Fixtures.dnsResponseNXDomain]),
        Case(
            name: "drop", options: [],
            families: [Family(name: "hubble_drop_total", type: .counter, ownLabels: ["reason", "protocol"])],
            contextFirst: true,
            irrelevant: [
                Fixtures.tcpSyn, Fixtures.dnsQueryA, Fixtures.httpResponse200,
                with(Fixtures.dropPolicy) { $0.verdict = .forwarded }
            ],
            relevant: [Fixtures.dropPolicy, Fixtures.dropKernel]),
        Case(
            name: "flow", options: [],
            families: [
                Family(
                    name: "hubble_flows_processed_total", type: .counter,
                    ownLabels: ["protocol", "type", "subtype", "verdict"])
            ],
            contextFirst: false, irrelevant: [],
            relevant: Fixtures.all + [
                Flow(), with(Fixtures.tcpSyn) { $0.eventType = CiliumEventType(type: 7, subType: 0) }
            ]),
        Case(
            name: "flows-to-world", options: ["any-drop", "port", "syn-only"],
            families: [
                Family(name: "hubble_flows_to_world_total", type: .counter, ownLabels: ["protocol", "verdict", "port"])
            ],
            contextFirst: false,
            irrelevant: [
                Fixtures.tcpSyn, Fixtures.dnsQueryA, Fixtures.udpToWorld /* syn-only drops non-TCP */,
                with(Fixtures.dropPolicy) { $0.l4 = nil }, with(Fixtures.dropPolicy) { $0.eventType = nil },
                with(Fixtures.dropPolicy) { $0.destination = nil },
                with(Fixtures.dropPolicy) {
                    $0.verdict = .forwarded; $0.isReply = true
                }
            ],
            relevant: [Fixtures.dropPolicy, with(Fixtures.dropPolicy) { $0.dropReasonDesc = .ttlExceeded }]),
        Case(
            name: "http", options: ["exemplars=true"],
            families: [
                Family(
                    name: "hubble_http_requests_total", type: .counter, ownLabels: ["method", "protocol", "reporter"]),
                Family(
                    name: "hubble_http_responses_total", type: .counter,
                    ownLabels: ["method", "protocol", "status", "reporter"]),
                Family(
                    name: "hubble_http_request_duration_seconds", type: .histogram, ownLabels: ["method", "reporter"])
            ],
            contextFirst: true,
            irrelevant: [
                Fixtures.tcpSyn, Fixtures.dnsQueryA, Fixtures.dnsResponseA,
                with(Fixtures.httpRequest) { $0.l7?.type = .sample }
            ],
            relevant: [Fixtures.httpRequest, Fixtures.httpResponse200]),
        Case(
            name: "httpV2", options: ["exemplars=true"],
            families: [
                Family(
                    name: "hubble_http_requests_total", type: .counter,
                    ownLabels: ["method", "protocol", "status", "reporter"]),
                Family(
                    name: "hubble_http_request_duration_seconds", type: .histogram, ownLabels: ["method", "reporter"])
            ],
            contextFirst: true,
            irrelevant: [Fixtures.tcpSyn, Fixtures.dnsResponseA, Fixtures.httpRequest],
            relevant: [Fixtures.httpResponse200, Fixtures.httpResponse503]),
        Case(
            name: "icmp", options: [],
            families: [Family(name: "hubble_icmp_total", type: .counter, ownLabels: ["family", "type"])],
            contextFirst: false,
            irrelevant: [Fixtures.tcpSyn, Fixtures.udpToWorld, Fixtures.dnsQueryA, Fixtures.httpRequest],
            relevant: [Fixtures.icmpEcho4, Fixtures.icmpEcho6, with(Fixtures.icmpEcho4) { $0.verdict = .dropped }]),
        Case(
            name: "policy", options: [],
            families: [
                Family(
                    name: "hubble_policy_verdicts_total", type: .counter, ownLabels: ["direction", "match", "action"])
            ],
            contextFirst: false,
            irrelevant: [
                Fixtures.tcpSyn, Fixtures.dropPolicy, Fixtures.icmpEcho6,
                with(Fixtures.tcpSyn) {
                    $0.eventType = CiliumEventType(type: CiliumEventType.policyVerdict, subType: 0)
                    $0.source?.identity = 1
                }
            ],
            relevant: [
                Fixtures.dnsQueryA, Fixtures.httpResponse200,
                with(Fixtures.tcpSyn) {
                    $0.eventType = CiliumEventType(type: CiliumEventType.policyVerdict, subType: 0)
                }
            ]),
        Case(
            name: "port-distribution", options: [],
            families: [Family(name: "hubble_port_distribution_total", type: .counter, ownLabels: ["protocol", "port"])],
            contextFirst: false,
            irrelevant: [
                Fixtures.tcpSynAck, Fixtures.dnsResponseA, Fixtures.dropPolicy, Fixtures.icmpUnreachable6,
                with(Fixtures.tcpSyn) { $0.l4 = nil }, with(Fixtures.tcpSyn) { $0.isReply = nil }
            ],
            relevant: [Fixtures.tcpSyn, Fixtures.udpToWorld, with(Fixtures.tcpSyn) { $0.verdict = .redirected }]),
        Case(
            name: "tcp", options: [],
            families: [Family(name: "hubble_tcp_flags_total", type: .counter, ownLabels: ["flag", "family"])],
            contextFirst: false,
            irrelevant: [
                Fixtures.udpToWorld, Fixtures.dropPolicy, Fixtures.httpRequest /* no flags */,
                with(Fixtures.tcpSyn) {
                    $0.l4 = .tcp(TCP(sourcePort: 1, destinationPort: 2, flags: [.ack, .psh, .urg, .ece, .cwr, .ns]))
                },
                with(Fixtures.tcpSyn) { $0.ip = nil }
            ],
            relevant: [Fixtures.tcpSyn, Fixtures.tcpSynAck, Fixtures.tcpFin, Fixtures.tcpRst])
    ]

    static let richContext =
        "sourceContext=pod|ip;destinationContext=workload|dns|ip;sourceIngressContext=identity;"
        + "destinationEgressContext=app|reserved-identity;labelsContext="
        + LabelsContextLabel.allCases.map(\.rawValue).joined(separator: ",")

    func spec(_ c: Case, context: String?) -> String {
        let opts = c.options + (context.map { [$0] } ?? [])
        return opts.isEmpty ? c.name : "\(c.name):\(opts.joined(separator: ";"))"
    }

    func handler(_ c: Case, context: String?) throws -> (MetricsEngine, any MetricHandler) {
        let (config, warnings) = try MetricsConfig.parse(spec(c, context: context))
        #expect(warnings.isEmpty)
        let e = MetricsEngine(config: config, options: MetricsEngineOptions(selfMetrics: false))
        return (e, try #require(e.handlers.first))
    }

    @Test(arguments: cases)
    func parsesOwnOptionsAndContexts(_ c: Case) throws {
        let (config, warnings) = try MetricsConfig.parse(spec(c, context: HandlerConformanceTests.richContext))
        #expect(warnings.isEmpty)
        #expect(config.handlers.map(\.name) == [c.name])
        let h = config.handlers[0]
        #expect(h.context.labelsContext == LabelsContextLabel.allCases)
        #expect(h.context.sourceContext == [.pod, .ip])
        #expect(h.context.destinationEgressContext == [.app, .reservedIdentity])
        for o in c.options where !o.contains("=") { #expect(h.has(o)) }
    }

    @Test(arguments: cases)
    func familiesHaveExactNamesTypesAndLabelOrder(_ c: Case) throws {
        let ctx = "labelsContext=traffic_direction,source_ip;destinationContext=ip;sourceEgressContext=pod"
        let (_, h) = try handler(c, context: ctx)
        let context = ["source_ip", "traffic_direction", "source", "destination"]
        #expect(h.families.map(\.name) == c.families.map(\.name))
        for (f, expected) in zip(h.families, c.families) {
            #expect(f.type == expected.type)
            #expect(f.labelNames == (c.contextFirst ? context + expected.ownLabels : expected.ownLabels + context))
        }
        // Without context options only the handler's own labels exist.
        let (_, plain) = try handler(c, context: nil)
        for (f, expected) in zip(plain.families, c.families) { #expect(f.labelNames == expected.ownLabels) }
    }

    @Test(arguments: cases)
    func ignoresIrrelevantFlows(_ c: Case) throws {
        let (e, h) = try handler(c, context: nil)
        for f in c.irrelevant { e.process(f) }
        for fam in h.families { #expect(fam.liveSeries == 0, "\(fam.name) counted an irrelevant flow") }
        for f in c.relevant { e.process(f) }
        #expect(h.families.reduce(0) { $0 + $1.liveSeries } > 0, "relevant flows created no series")
    }

    @Test(arguments: cases)
    func labelValueCountMatchesLabelNameCount(_ c: Case) throws {
        for context in [nil, HandlerConformanceTests.richContext] {
            let (e, h) = try handler(c, context: context)
            for f in Fixtures.all + c.relevant + c.irrelevant { e.process(f) }
            for fam in h.families {
                #expect(fam.malformedWrites == 0, "\(fam.name): a write had the wrong number of values")
                for s in fam.snapshot() { #expect(s.labels.count == fam.labelNames.count) }
            }
        }
    }

    @Test(arguments: cases)
    func ignoresUnknownOptionsWithAWarning(_ c: Case) throws {
        // As Cilium: a key the handler does not read changes nothing; Spyglass also warns about it.
        let foreign = c.name == "dns" ? "syn-only" : "query"
        let (config, warnings) = try MetricsConfig.parse("\(c.name):bogus=1;\(foreign)")
        #expect(config == (try MetricsConfig.parse(c.name).0))
        #expect(
            warnings == [
                "Ignoring unknown option 'bogus' for metric '\(c.name)'",
                "Ignoring unknown option '\(foreign)' for metric '\(c.name)'"
            ])
    }

    @Test(arguments: cases)
    func hasStatusLine(_ c: Case) throws {
        let (_, h) = try handler(c, context: "sourceContext=pod")
        #expect(h.status.hasPrefix("\(c.name): "))
        #expect(h.status.contains("sourceContext=pod"))
        for f in c.families { #expect(h.status.contains(f.name)) }
        #expect(!h.status.contains("\n"))
    }
}
