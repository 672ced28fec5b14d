import SpyglassDatapath
import SpyglassFlow
import SpyglassMetrics
import SpyglassSupport

/// Spyglass's own datapath and pipeline counters on the metrics endpoint (`spyglass_*`), read at scrape time: the
/// datapath's families come from the datapath (`DatapathSelfMetrics.swift`), the pipeline's are here because the
/// pipeline thread (`FlowPipeline`) is the agent's. Together they account for every event:
/// events = flows processed + L7-only events + decode errors + events lost in the queue.
enum DatapathMetrics {
    static func register(
        on engine: MetricsEngine, programs: TCPrograms, drops: DropPrograms?, queue: EventQueue, pipeline: FlowPipeline
    ) throws {
        try engine.registerFamilies { programs.selfMetrics() }
        if let drops { try engine.registerFamilies { drops.selfMetrics() } }
        try engine.registerCollector(
            name: "spyglass_decode_errors_total", help: "Ring-buffer records that failed validation, by reason",
            type: .counter
        ) {
            // Every reason from the start, at zero: rate() and alerts work before the first failure.
            let counts = pipeline.decodeErrorCounts
            return Set(DecodeError.allReasons).union(counts.keys).sorted().map {
                MetricSample(labels: ["reason": $0], value: Double(counts[$0] ?? 0))
            }
        }
        try engine.registerCollector(
            name: "spyglass_flows_processed_total",
            help:
                "Flows handed to the metric handlers and exporters, by kind (l3_l4 from packets and drops, l7 from DNS/HTTP payloads)",
            type: .counter
        ) {
            [
                MetricSample(labels: ["kind": "l3_l4"], value: Double(pipeline.flowsProcessed)),
                MetricSample(labels: ["kind": "l7"], value: Double(pipeline.l7FlowsProcessed))
            ]
        }
        try engine.registerCollector(
            name: "spyglass_l7_only_events_total",
            help:
                "Events read only for their DNS/HTTP payload: aggregation folded the packet as a trace, so it makes no L3/L4 flow",
            type: .counter
        ) {
            [MetricSample(value: Double(pipeline.l7OnlyEventsProcessed))]
        }
        if pipeline.l7Enabled {
            try registerL7(on: engine, pipeline: pipeline)
        }
        try engine.registerFamilies { queue.selfMetrics() }
    }

    /// The L7 assembler's bounded state and what it could not pair or parse.
    static func registerL7(on engine: MetricsEngine, pipeline: FlowPipeline) throws {
        try engine.registerCollector(
            name: "spyglass_l7_unanswered_total",
            help: "DNS queries and HTTP requests evicted or closed without a response", type: .counter
        ) {
            let s = pipeline.l7Counters
            return [
                MetricSample(labels: ["protocol": "dns"], value: Double(s.unansweredDNS)),
                MetricSample(labels: ["protocol": "http"], value: Double(s.unansweredHTTP))
            ]
        }
        try engine.registerCollector(
            name: "spyglass_l7_malformed_total", help: "DNS and HTTP messages rejected by the parsers, by reason",
            type: .counter
        ) {
            let s = pipeline.l7Counters
            return L7Protocol.allCases.flatMap { proto in
                (L7Stats.malformedReasons[proto] ?? []).map { reason in
                    MetricSample(
                        labels: ["protocol": proto.rawValue, "reason": reason],
                        value: Double(s.malformed[L7MalformedKey(proto, reason)] ?? 0))
                }
            }
        }
        try engine.registerCollector(
            name: "spyglass_l7_dns_names_rejected_total",
            help:
                "DNS responses whose addresses were kept out of the names memory because they answer no query seen, by reason",
            type: .counter
        ) {
            let s = pipeline.l7Counters
            return L7Stats.namesRejectedReasons.map {
                MetricSample(labels: ["reason": $0], value: Double(s.namesRejected[$0] ?? 0))
            }
        }
        try engine.registerCollector(
            name: "spyglass_l7_state_entries",
            help: "Entries in the L7 assembler's bounded tables (bytes for reassembly_bytes)", type: .gauge
        ) {
            let s = pipeline.l7Counters
            return L7Table.allCases.map {
                MetricSample(labels: ["table": $0.rawValue], value: Double(s.entries[$0] ?? 0))
            }
        }
        try engine.registerCollector(
            name: "spyglass_l7_evictions_total",
            help:
                "Entries evicted from the L7 assembler's tables because a bound was reached, by table and bound (reason: entries, the count; bytes, the table's share of --l7-memory-limit)",
            type: .counter
        ) {
            let s = pipeline.l7Counters
            return L7Table.allCases.flatMap { t in
                [
                    MetricSample(
                        labels: ["table": t.rawValue, "reason": "entries"], value: Double(s.evictions[t] ?? 0)),
                    MetricSample(
                        labels: ["table": t.rawValue, "reason": "bytes"], value: Double(s.byteEvictions[t] ?? 0))
                ]
            }
        }
        try engine.registerCollector(
            name: "spyglass_l7_state_bytes",
            help:
                "Bytes held by the L7 assembler's byte-budgeted tables (pending requests, DNS names, claims, reassembly buffers)",
            type: .gauge
        ) {
            let s = pipeline.l7Counters
            return L7Table.byteBudgeted.map {
                MetricSample(labels: ["table": $0.rawValue], value: Double(s.bytes[$0] ?? 0))
            }
        }
        try engine.registerCollector(
            name: "spyglass_l7_http_detected_total",
            help:
                "TCP segments on ports not configured as HTTP read as HTTP because they start a request or status line (--http-detect)",
            type: .counter
        ) {
            [MetricSample(value: Double(pipeline.l7Counters.httpDetected))]
        }
        try engine.registerCollector(
            name: "spyglass_l7_http_body_skips_total",
            help:
                "HTTP body parts (Content-Length bodies over 4 KiB) the L7 parser told the kernel to leave out of L7 events (--l7-body-skip)",
            type: .counter
        ) {
            [MetricSample(value: Double(pipeline.l7Counters.httpBodySkips))]
        }
        try engine.registerCollector(
            name: "spyglass_l7_messages_total", help: "DNS and HTTP messages parsed, by protocol and type",
            type: .counter
        ) {
            let s = pipeline.l7Counters
            return [
                MetricSample(labels: ["protocol": "dns", "type": "request"], value: Double(s.dnsQueries)),
                MetricSample(labels: ["protocol": "dns", "type": "response"], value: Double(s.dnsResponses)),
                MetricSample(labels: ["protocol": "http", "type": "request"], value: Double(s.httpRequests)),
                MetricSample(labels: ["protocol": "http", "type": "response"], value: Double(s.httpResponses))
            ]
        }
    }
}
