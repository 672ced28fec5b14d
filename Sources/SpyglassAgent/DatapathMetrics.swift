import SpyglassDatapath
import SpyglassFlow
import SpyglassMetrics
import SpyglassSupport

/// Spyglass's own datapath and pipeline counters on the metrics endpoint (`spyglass_*`), read at scrape time.
/// Together they account for every packet: packets = events + aggregated + non-IP + receive-suppressed + tunnel
/// packets skipped (+ ring-buffer full), and
/// events = flows processed + L7-only events + decode errors + events lost in the queue.
enum DatapathMetrics {
    static func register(
        on engine: MetricsEngine, programs: TCPrograms, drops: DropPrograms?, queue: EventQueue, pipeline: FlowPipeline
    ) throws {
        let stats: @Sendable () -> DatapathStats = { programs.stats() }
        let counters: [(String, String, @Sendable (DatapathStats) -> UInt64)] = [
            ("spyglass_datapath_packets_total", "Packets the tc programs ran on", { $0.packets }),
            ("spyglass_datapath_events_total", "Events written to the ring buffer", { $0.events }),
            (
                "spyglass_datapath_receive_suppressed_total",
                "Packets not reported where they entered an interface because they are reported where they leave (monitor aggregation low and up)",
                { $0.receiveSuppressed }
            ),
            (
                "spyglass_datapath_tunnel_packets_skipped_total",
                "Encapsulated packets of a watched VXLAN/Geneve tunnel not reported on a device: their inner packets are reported at the tunnel",
                { $0.tunnelSkipped }
            ),
            (
                "spyglass_datapath_aggregated_packets_total",
                "Packets folded into an existing connection report (monitor aggregation)", { $0.aggregated }
            ),
            (
                "spyglass_datapath_non_ip_packets_total", "Frames that were not IPv4/IPv6 and were not reported",
                { $0.nonIP }
            ),
            (
                "spyglass_datapath_connection_table_full_total", "Packets whose connection state could not be stored",
                { $0.connectionTableFull }
            ),
            (
                "spyglass_datapath_ring_buffer_full_total", "Trace events lost because the ring buffer was full",
                { $0.ringBufferFull }
            ),
            ("spyglass_datapath_drop_events_total", "Drop events written to the ring buffer", { $0.dropEvents }),
            (
                "spyglass_datapath_drop_ring_buffer_full_total", "Drop events lost because the ring buffer was full",
                { $0.dropRingBufferFull }
            ),
            (
                "spyglass_datapath_drops_non_ip_total", "Drops of non-IP packets (netlink, ARP, ...), not reported",
                { $0.dropsNonIP }
            )
        ]
        for (name, help, read) in counters {
            try engine.registerCollector(name: name, help: help, type: .counter) {
                [MetricSample(value: Double(read(stats())))]
            }
        }
        if let drops {
            // Exact kernel-side counts per reason and class. For reported reasons: seen = drop flows + suppressed +
            // unparsed + drop events lost; the other classes are only counted.
            try engine.registerCollector(
                name: "spyglass_drops_total",
                help:
                    "Packets the kernel freed with a drop reason, by the kernel's reason and Spyglass's class (drop, socket, benign; every free, reported or not)",
                type: .counter
            ) {
                drops.counts().sorted { $0.key < $1.key }.map {
                    MetricSample(
                        labels: ["class": $0.key.dropClass.rawValue, "reason": $0.key.reason],
                        value: Double($0.value.seen))
                }
            }
            try engine.registerCollector(
                name: "spyglass_drops_suppressed_total",
                help: "Drops not reported as flows because of the per-reason rate limit (--drop-rate-limit)",
                type: .counter
            ) {
                var byReason: [String: UInt64] = [:]
                for (k, c) in drops.counts() { byReason[k.reason, default: 0] &+= c.suppressed }
                return byReason.sorted { $0.key < $1.key }.map {
                    MetricSample(labels: ["reason": $0.key], value: Double($0.value))
                }
            }
            try engine.registerCollector(
                name: "spyglass_drops_unparsed_total",
                help:
                    "Drops to be reported whose headers could not be read within the packet, by why (counted, never reported)",
                type: .counter
            ) {
                let u = drops.unparsedCounts()
                return DropUnparsedReason.allCases.map {
                    MetricSample(labels: ["why": $0.label], value: Double(u[$0] ?? 0))
                }
            }
        }
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
        try engine.registerCollector(
            name: "spyglass_event_queue_depth",
            help: "Event batches waiting between the ring-buffer reader and the flow pipeline", type: .gauge
        ) {
            [MetricSample(value: Double(queue.depth))]
        }
        try engine.registerCollector(
            name: "spyglass_event_queue_lost_total",
            help: "Events dropped because the flow pipeline queue was full, by event kind", type: .counter
        ) {
            let lost = queue.lost, drops = queue.lostDrops
            return [
                MetricSample(labels: ["kind": "trace"], value: Double(lost - drops)),
                MetricSample(labels: ["kind": "drop"], value: Double(drops))
            ]
        }
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
