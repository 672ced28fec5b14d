import Testing

@testable import SpyglassMetrics

@Suite struct GrammarTests {
    func parse(_ s: String) throws -> MetricsConfig { try MetricsConfig.parse(s).0 }
    func handler(_ s: String, _ name: String) throws -> HandlerConfig {
        try #require(try parse(s).handlers.first { $0.name == name })
    }
    func error(_ s: String) -> MetricsConfigError? {
        do {
            _ = try MetricsConfig.parse(s)
            return nil
        } catch let e as MetricsConfigError {
            return e
        } catch {
            return nil
        }
    }

    // MARK: Examples of Hubble's option grammar (docs/hubble-compatibility.md §1)

    @Test func helmExampleAsOneFlagValueIsOneUnknownMetric() throws {
        // As a raw flag value the Helm list is one spec (commas do not separate metrics): its name is unknown.
        let (c, w) = try MetricsConfig.parse(
            "dns,drop,tcp,flow,port-distribution,icmp,httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"
        )
        #expect(c.handlers.isEmpty)
        #expect(w == ["Skipping unknown hubble metric 'dns,drop,tcp,flow,port-distribution,icmp,httpV2'"])
    }

    @Test func helmExampleAsHelmRendersIt() throws {
        let c = try parse(
            """
            dns
            drop
            tcp
            flow
            port-distribution
            icmp
            httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction
            """)
        #expect(c.handlers.map(\.name) == ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"])
        let h = c.handlers[6]
        #expect(h.exemplars)
        #expect(
            h.context.labelsContext == [
                .sourceIP, .sourceNamespace, .sourceWorkload, .destinationIP, .destinationNamespace,
                .destinationWorkload,
                .trafficDirection
            ])
        #expect(c.handlers[0].context == ContextOptions())
    }

    @Test func dnsQueryIgnoreAAAAAndHTTPWorkloadName() throws {
        let c = try parse("dns:query;ignoreAAAA http:destinationContext=workload-name")
        #expect(c.handlers.map(\.name) == ["dns", "http"])
        #expect(c.handlers[0].flags == ["query", "ignoreaaaa"])
        #expect(c.handlers[1].context.destinationContext == [.workloadName])
        #expect(c.handlers[1].context.sourceContext == nil)
    }

    @Test func flowFallbackLists() throws {
        let h = try handler("flow:sourceContext=workload-name|reserved-identity;destinationContext=dns|ip", "flow")
        #expect(h.context.sourceContext == [.workloadName, .reservedIdentity])
        #expect(h.context.destinationContext == [.dns, .ip])
        #expect(h.context.labelNames == ["source", "destination"])
    }

    @Test func flowsToWorldFlagsAndDirectionContext() throws {
        let h = try handler(
            "flows-to-world:any-drop;port;syn-only;sourceEgressContext=pod;destinationContext=dns|ip", "flows-to-world")
        #expect(h.flags == ["any-drop", "port", "syn-only"])
        #expect(h.context.sourceEgressContext == [.pod])
        #expect(h.context.sourceContext == nil)
        #expect(h.context.hasSource)
        #expect(h.context.destinationContext == [.dns, .ip])
    }

    @Test func defaultSpec() throws {
        let c = try parse(MetricsConfig.defaultSpec)
        #expect(c.handlers.map(\.name) == ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"])
        #expect(MetricsEngine(config: c).enabledHandlers == c.handlers.map(\.name))
    }

    // MARK: Splitting rules

    @Test func anyUnicodeWhitespaceSeparatesSpecs() throws {
        let c = try parse(" dns\tdrop\n\ntcp\u{00A0}flow\u{2003}icmp\r\n")
        #expect(c.handlers.map(\.name) == ["dns", "drop", "tcp", "flow", "icmp"])
        #expect(try parse("").handlers.isEmpty)
        #expect(try parse("  \n ").handlers.isEmpty)
    }

    @Test func splitsAtFirstColonAndFirstEquals() throws {
        // The second ':' belongs to the option list; the second '=' to the value.
        let specs = MetricsConfig.splitSpecs("flow:sourceContext=pod:x;a=b=c")
        #expect(
            specs == [
                MetricSpec(
                    name: "flow",
                    options: [
                        MetricOption(key: "sourceContext", values: ["pod:x"]), MetricOption(key: "a", values: ["b=c"])
                    ])
            ])
        #expect(
            error("flow:sourceContext=pod:x")
                == .unknownContext(metric: "flow", option: "sourceContext", value: "pod:x"))
    }

    @Test func emptySegmentsAndItemsAreSkipped() throws {
        let specs = MetricsConfig.splitSpecs("flow:;;sourceContext=|pod||ip|;;labelsContext=,source_ip,,;")
        #expect(
            specs == [
                MetricSpec(
                    name: "flow",
                    options: [
                        MetricOption(key: "sourceContext", values: ["pod", "ip"]),
                        MetricOption(key: "labelsContext", values: ["source_ip"])
                    ])
            ])
        let h = try handler("flow:;;sourceContext=|pod||ip|;;labelsContext=,source_ip,,;", "flow")
        #expect(h.context.sourceContext == [.pod, .ip])
        #expect(h.context.labelsContext == [.sourceIP])
        #expect(try handler("flow:", "flow").context == ContextOptions())
    }

    @Test func optionWithoutEqualsHasOneEmptyValue() throws {
        #expect(
            MetricsConfig.splitSpecs("dns:query") == [
                MetricSpec(name: "dns", options: [MetricOption(key: "query", values: [""])])
            ])
        #expect(error("flow:sourceContext") == .unknownContext(metric: "flow", option: "sourceContext", value: ""))
        #expect(error("flow:sourceContext=") == .unknownContext(metric: "flow", option: "sourceContext", value: ""))
        #expect(error("flow:labelsContext") == .invalidLabelsContext(metric: "flow", value: ""))
    }

    @Test func valuesSplitOnPipeWhenPresentOtherwiseOnComma() throws {
        // Current Cilium (parseOptionValues): the same rule for every key.
        #expect(try handler("flow:sourceContext=namespace,pod", "flow").context.sourceContext == [.namespace, .pod])
        #expect(
            try handler("flow:labelsContext=source_ip|source_pod", "flow").context.labelsContext == [
                .sourceIP, .sourcePod
            ])
        // With a '|' present, commas stay inside the items.
        #expect(
            error("flow:sourceContext=namespace,pod|ip")
                == .unknownContext(metric: "flow", option: "sourceContext", value: "namespace,pod"))
    }

    @Test func keysAndContextValuesAreCaseInsensitive() throws {
        let h = try handler("flow:SOURCECONTEXT=Pod|NameSpace;destinationcontext=IP;LabelsContext=source_ip", "flow")
        #expect(h.context.sourceContext == [.pod, .namespace])
        #expect(h.context.destinationContext == [.ip])
        #expect(h.context.labelsContext == [.sourceIP])
        #expect(try handler("dns:QUERY;IgnoreAAAA", "dns").flags == ["query", "ignoreaaaa"])
        #expect(
            try handler("flows-to-world:Any-Drop;PORT;Syn-Only", "flows-to-world").flags == [
                "any-drop", "port", "syn-only"
            ])
    }

    @Test func labelsContextNamesAreCaseSensitiveAndAllowListed() throws {
        #expect(error("flow:labelsContext=Source_IP") == .invalidLabelsContext(metric: "flow", value: "Source_IP"))
        #expect(error("flow:labelsContext=source_ip,bogus") == .invalidLabelsContext(metric: "flow", value: "bogus"))
        #expect(error("flow:labelsContext=bogus")!.description.hasPrefix("invalid labelsContext value: bogus"))
        // Canonical order regardless of the given order; duplicates collapse.
        let h = try handler("flow:labelsContext=traffic_direction,destination_app,source_ip,source_ip", "flow")
        #expect(h.context.labelsContext == [.sourceIP, .destinationApp, .trafficDirection])
        let all = LabelsContextLabel.allCases.map(\.rawValue).reversed().joined(separator: ",")
        #expect(try handler("flow:labelsContext=\(all)", "flow").context.labelsContext == LabelsContextLabel.allCases)
    }

    @Test func everyContextIdentifierParses() throws {
        for id in ContextIdentifier.allCases {
            #expect(try handler("flow:sourceContext=\(id.rawValue.uppercased())", "flow").context.sourceContext == [id])
        }
        #expect(
            error("flow:sourceContext=pod-short")
                == .unknownContext(metric: "flow", option: "sourceContext", value: "pod-short"))
        #expect(error("flow:destinationIngressContext=pod|x")!.description.hasPrefix("unknown context 'x'"))
        for key in [
            "sourceEgressContext", "sourceIngressContext", "destinationEgressContext", "destinationIngressContext"
        ] {
            #expect(error("tcp:\(key)=nope") == .unknownContext(metric: "tcp", option: key, value: "nope"))
        }
    }

    @Test func exemplarsMustBeExactlyTrue() throws {
        #expect(try handler("httpV2:exemplars=true", "httpV2").exemplars)
        #expect(try handler("http:EXEMPLARS=true", "http").exemplars)
        #expect(try handler("httpV2:exemplars=false", "httpV2").exemplars == false)
        #expect(error("httpV2:exemplars=True") == .invalidExemplars(metric: "httpV2", value: "True"))
        #expect(error("httpV2:exemplars") == .invalidExemplars(metric: "httpV2", value: ""))
        #expect(
            error("httpV2:exemplars=TRUE")!.description
                == "invalid exemplars value 'TRUE' for metric 'httpV2': must be exactly 'true'")
        // Only http handlers read exemplars; elsewhere the key is ignored with a warning, as Cilium ignores it.
        let (c, w) = try MetricsConfig.parse("dns:exemplars=true")
        #expect(c.handlers.map(\.name) == ["dns"])
        #expect(w == ["Ignoring unknown option 'exemplars' for metric 'dns'"])
    }

    // MARK: Metric-level rules

    @Test func unknownMetricsAreWarningsNotErrors() throws {
        let (c, w) = try MetricsConfig.parse("dns kafka:sourceContext=bogus sctp DNS flow")
        #expect(c.handlers.map(\.name) == ["dns", "flow"])
        #expect(
            w == [
                "Skipping unknown hubble metric 'kafka'", "Skipping unknown hubble metric 'sctp'",
                "Skipping unknown hubble metric 'DNS'"
            ])
    }

    @Test func httpAndHTTPV2Conflict() {
        #expect(error("http httpV2") == .conflictingMetrics("http", "httpV2"))
        #expect(error("httpV2:exemplars=true dns http") == .conflictingMetrics("httpV2", "http"))
        let msg = error("http httpV2")!.description
        #expect(
            msg.contains("http") && msg.contains("httpV2") && msg.hasPrefix("plugin http conflicts with plugin httpV2"))
    }

    @Test func duplicatesAreRejected() {
        #expect(error("dns flow dns:query") == .duplicateMetric("dns"))
        #expect(error("dns flow dns:query")!.description.contains("'dns'"))
    }

    @Test func unknownOptionsAreWarningsNamingKeyAndMetric() throws {
        // Cilium ignores option keys a handler does not read; Spyglass does too, and says so.
        let (c, w) = try MetricsConfig.parse("flow:query tcp:port dns:syn-only;query flow-x drop:Bogus=1")
        #expect(c.handlers.map(\.name) == ["flow", "tcp", "dns", "drop"])
        #expect(c.handlers[2].flags == ["query"])
        #expect(
            w == [
                "Ignoring unknown option 'query' for metric 'flow'", "Ignoring unknown option 'port' for metric 'tcp'",
                "Ignoring unknown option 'syn-only' for metric 'dns'", "Skipping unknown hubble metric 'flow-x'",
                "Ignoring unknown option 'Bogus' for metric 'drop'"
            ])
    }

    @Test func errorMessagesAreOneLine() {
        let errors: [MetricsConfigError] = [
            .conflictingMetrics("http", "httpV2"), .duplicateMetric("dns"), .unknownOption(metric: "a", option: "b"),
            .unknownContext(metric: "a", option: "b", value: "c"), .invalidLabelsContext(metric: "a", value: "b"),
            .invalidExemplars(metric: "a", value: "b")
        ]
        for e in errors { #expect(!e.description.contains("\n") && !e.description.isEmpty) }
        #expect(
            MetricsConfigError.unknownContext(metric: "flow", option: "sourceContext", value: "x").description
                == "unknown context 'x' in option 'sourceContext' of metric 'flow'")
    }
}
