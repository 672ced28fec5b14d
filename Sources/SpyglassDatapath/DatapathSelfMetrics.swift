import SpyglassSupport

// The datapath's own counters (`spyglass_datapath_*`, `spyglass_drops_*`, `spyglass_event_queue_*`), read at
// scrape time. With the pipeline's counters (registered by the agent) they account for every packet:
// packets = events + aggregated + non-IP + receive-suppressed + tunnel packets skipped (+ ring-buffer full).

extension TCPrograms {
    /// `spyglass_datapath_*`: what the tc programs counted (one read of `spy_stats`).
    public func selfMetrics() -> [SelfMetricFamily] {
        let s = stats()
        return Self.counters.map {
            SelfMetricFamily(
                name: $0.name, kind: .counter, help: $0.help, samples: [MetricSample(value: Double($0.value(s)))])
        }
    }

    static let counters: [(name: String, help: String, value: @Sendable (DatapathStats) -> UInt64)] = [
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
            "spyglass_datapath_l7_body_segments_skipped_total",
            "TCP segments not sent for L7 parsing because they lie inside an HTTP body the parser skips by count (folded or traced as any data segment)",
            { $0.l7BodySkipped }
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
}

extension DropPrograms {
    /// Exact kernel-side counts per reason and class. For reported reasons: seen = drop flows + suppressed +
    /// unparsed + drop events lost; the other classes are only counted.
    public func selfMetrics() -> [SelfMetricFamily] {
        let counts = counts()
        var suppressedByReason: [String: UInt64] = [:]
        for (k, c) in counts { suppressedByReason[k.reason, default: 0] &+= c.suppressed }
        let unparsed = unparsedCounts()
        return [
            SelfMetricFamily(
                name: "spyglass_drops_total", kind: .counter,
                help:
                    "Packets the kernel freed with a drop reason, by the kernel's reason and Spyglass's class (drop, socket, benign; every free, reported or not)",
                samples: counts.sorted { $0.key < $1.key }.map {
                    MetricSample(
                        labels: ["class": $0.key.dropClass.rawValue, "reason": $0.key.reason],
                        value: Double($0.value.seen))
                }),
            SelfMetricFamily(
                name: "spyglass_drops_suppressed_total", kind: .counter,
                help: "Drops not reported as flows because of the per-reason rate limit (--drop-rate-limit)",
                samples: suppressedByReason.sorted { $0.key < $1.key }.map {
                    MetricSample(labels: ["reason": $0.key], value: Double($0.value))
                }),
            SelfMetricFamily(
                name: "spyglass_drops_unparsed_total", kind: .counter,
                help:
                    "Drops to be reported whose headers could not be read within the packet, by why (counted, never reported)",
                samples: DropUnparsedReason.allCases.map {
                    MetricSample(labels: ["why": $0.label], value: Double(unparsed[$0] ?? 0))
                })
        ]
    }
}

extension EventQueue {
    /// `spyglass_event_queue_*`: batches waiting and events refused because the queue was full.
    public func selfMetrics() -> [SelfMetricFamily] {
        let lost = self.lost, drops = lostDrops
        return [
            SelfMetricFamily(
                name: "spyglass_event_queue_depth", kind: .gauge,
                help: "Event batches waiting between the ring-buffer reader and the flow pipeline",
                samples: [MetricSample(value: Double(depth))]),
            SelfMetricFamily(
                name: "spyglass_event_queue_lost_total", kind: .counter,
                help: "Events dropped because the flow pipeline queue was full, by event kind",
                samples: [
                    MetricSample(labels: ["kind": "trace"], value: Double(lost - drops)),
                    MetricSample(labels: ["kind": "drop"], value: Double(drops))
                ])
        ]
    }
}
