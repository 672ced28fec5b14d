import SpyglassFlow
import SpyglassMetrics
import SpyglassPipeline

/// Drives the agent's real per-event step (`FlowPipelineStep`: decode, DNS names, L7 assembler, the dropped-DNS-query
/// path, the metric handlers of Hubble's default families) with one record at a time, and returns what it handed on.
public final class StepDriver {
    public let decoder = EventDecoder(nodeName: "fuzz", bootToWallOffsetNs: 0)
    public let metrics: MetricsEngine
    private let step: FlowPipelineStep
    private let sink = Collected()
    /// L7 flows handed on so far.
    public private(set) var l7Flows = 0

    /// Parsed once: the agent's default metric families.
    private static let metricsConfig: MetricsConfig = {
        guard let (config, _) = try? MetricsConfig.parse(MetricsConfig.defaultSpec) else {
            invariantFailed("the default metrics spec does not parse")
        }
        return config
    }()

    public init(config: L7Config = L7Config()) {
        metrics = MetricsEngine(config: Self.metricsConfig)
        let sink = self.sink
        step = FlowPipelineStep(decoder: decoder, metrics: metrics, l7: config, export: { sink.flows.append($0) })
    }

    /// One record; returns every flow the step handed on for it (L7 flows first, then the packet's own).
    @discardableResult
    public func process(record: [UInt8]) -> [Flow] {
        sink.flows.removeAll(keepingCapacity: true)
        step.process(record)
        l7Flows += sink.flows.count(where: { $0.type == .l7 })
        return sink.flows
    }

    /// A frame as the tc program reports it; returns the L7 flows it completed.
    public func frame(_ frame: [UInt8], obsPoint: UInt8, timeNs: UInt64) -> [Flow] {
        process(record: EventRecord.trace(frame: frame, obsPoint: obsPoint, timestampNs: timeNs)).filter {
            $0.type == .l7
        }
    }

    /// Ages out L7 state (the agent's housekeeping tick) and returns the assembler's counters.
    @discardableResult
    public func expire(nowNs: UInt64) -> L7Stats? { step.expire(nowNs: nowNs) }

    public var counters: FlowPipelineStep.Counters { step.counters }
}

/// The export sink's buffer. @unchecked: a fuzz target runs one input at a time on one thread.
private final class Collected: @unchecked Sendable {
    var flows: [Flow] = []
}
