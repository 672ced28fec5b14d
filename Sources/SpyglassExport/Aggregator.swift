import SpyglassFlow

/// Export aggregation (docs/hubble-compatibility.md §9.5, main's behaviour): flows are projected onto the aggregate
/// paths; the projection is the key; each key counts flows by traffic direction. `drain()` (every interval and once at
/// stop) returns one record per key — the projection plus the first flow's `time` and `aggregate` counts — in the order
/// the keys first appeared, then forgets them. The field mask is not applied to aggregated records; `node_name` appears
/// only when it is an aggregate path.
///
/// The key is the projection's JSON encoding rather than its protobuf serialisation: both are a canonical
/// function of the projected fields, so the grouping is the same.
final class Aggregator {
    private let mask: FieldMask
    private let outputMask: FieldMask
    private let encoder: FlowRecordEncoder
    private var index: [[UInt8]: Int] = [:]
    private var entries: [(first: Flow, counts: AggregateCounts)] = []
    private var scratch = JSONBytes(capacity: 1024)

    init(mask: FieldMask, encoder: FlowRecordEncoder) {
        self.mask = mask
        self.outputMask = mask.adding(topLevel: "time").adding(topLevel: "aggregate")
        self.encoder = encoder
    }

    var keyCount: Int { entries.count }

    func add(_ flow: Flow) {
        scratch.out.removeAll(keepingCapacity: true)
        encoder.append(flow, uuid: nil, mask: mask, aggregate: nil, to: &scratch)
        let i: Int
        if let existing = index[scratch.out] {
            i = existing
        } else {
            i = entries.count
            index[scratch.out] = i
            entries.append((flow, AggregateCounts()))
        }
        switch flow.trafficDirection {
        case .ingress: entries[i].counts.ingress &+= 1
        case .egress: entries[i].counts.egress &+= 1
        case .unknown: entries[i].counts.unknownDirection &+= 1
        }
    }

    func drain() -> [[UInt8]] {
        defer {
            index.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
        }
        return entries.map { encoder.encode($0.first, mask: outputMask, aggregate: $0.counts) }
    }
}
