import Foundation
import SpyglassDatapath
import SpyglassFlow
import SpyglassMetrics
import SpyglassPipeline
import SpyglassSupport
import Synchronization

/// The consumer thread: takes event batches from the queue and runs each record through `FlowPipelineStep`
/// (decode, DNS names, L7, enrichment, metric handlers and exporters); once a second it expires idle L7 state.
/// The step's counters are copied out under a lock once per batch, the L7 counters once per housekeeping tick,
/// for the metrics endpoint.
public final class FlowPipeline: @unchecked Sendable {
    // @unchecked: `step` is used only on the pipeline thread; the published counters are behind `published`.
    public typealias Enricher = FlowPipelineStep.Enricher
    public typealias Sink = FlowPipelineStep.Sink

    private let queue: EventQueue
    private let step: FlowPipelineStep
    private struct Published {
        var counters = FlowPipelineStep.Counters()
        var decodeErrors: [String: UInt64] = [:]
        var l7Stats = L7Stats()
    }
    private let published = PThreadMutex(Published())
    private var lastExpireNs: UInt64 = 0
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// Monotonic time (ns) of the thread's last loop, for /healthz: the loop runs at least every 200 ms.
    let heartbeatNs = Atomic<UInt64>(0)

    init(
        queue: EventQueue, metrics: MetricsEngine, nodeName: String,
        dropReasons: @escaping EventDecoder.DropReasonResolver = EventDecoder.unknownDropReason,
        l7: L7Config? = L7Config(), enrich: Enricher? = nil, export: Sink? = nil, nodeAddresses: NodeAddressSet? = nil
    ) {
        self.queue = queue
        let names = InterfaceNameCache()
        let decoder = EventDecoder(
            nodeName: nodeName, bootToWallOffsetNs: BootClock.bootToWallOffsetNs(),
            interfaceName: { names.name(of: $0) }, dropReasonResolver: dropReasons)
        self.step = FlowPipelineStep(
            decoder: decoder, metrics: metrics, l7: l7, nodeAddresses: nodeAddresses, enrich: enrich, export: export)
    }

    func start() {
        let t = Thread { [self] in
            while true {
                heartbeatNs.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                if let batch = queue.pop(timeoutMs: 200) {
                    process(batch)
                    queue.recycle(batch)
                } else if queue.isClosed {
                    break
                }
                housekeeping()
            }
            housekeeping(force: true)
            done.signal()
        }
        t.name = "spyglass-flows"
        thread = t
        t.start()
    }

    /// Waits for the queue to be closed and drained.
    func stop() {
        guard thread != nil else { return }
        done.wait()
        thread = nil
    }

    private func process(_ batch: EventBatch) {
        let before = step.counters.decodeErrors
        batch.forEach { step.process($0) }
        let now = step.counters
        // The reasons are copied only when one was added (rare): no copy of the dictionary per batch.
        let reasons = now.decodeErrors != before ? step.decodeErrors : nil
        published.withLock {
            $0.counters = now
            if let reasons { $0.decodeErrors = reasons }
        }
    }

    /// Once a second: expire idle L7 state and publish its counters.
    private func housekeeping(force: Bool = false) {
        guard step.l7Enabled else { return }
        let now = BootClock.bootNowNs()
        guard force || now &- lastExpireNs >= 1_000_000_000 else { return }
        lastExpireNs = now
        guard let snapshot = step.expire(nowNs: now) else { return }
        published.withLock { $0.l7Stats = snapshot }
    }

    /// Decode failures by reason (monotonic).
    public var decodeErrorCounts: [String: UInt64] {
        published.withLock { $0.decodeErrors }
    }

    /// L3/L4 flows handed on (monotonic).
    public var flowsProcessed: UInt64 {
        published.withLock { $0.counters.flows }
    }

    /// Events read only for their L7 payload (aggregation folded them as traces; monotonic).
    public var l7OnlyEventsProcessed: UInt64 {
        published.withLock { $0.counters.l7OnlyEvents }
    }

    /// L7 flows made from payloads (monotonic).
    public var l7FlowsProcessed: UInt64 {
        published.withLock { $0.counters.l7Flows }
    }

    /// The L7 assembler's counters as of the last housekeeping tick (at most a second old).
    public var l7Counters: L7Stats {
        published.withLock { $0.l7Stats }
    }

    public var l7Enabled: Bool { step.l7Enabled }
}

/// ifindex → name, looked up once per index (names of deleted interfaces may be reused; good enough for labels).
final class InterfaceNameCache: Sendable {
    private let names = PThreadMutex<[UInt32: String]>([:])

    func name(of index: UInt32) -> String? {
        names.withLock { names in
            if let n = names[index] { return n }
            var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
            guard if_indextoname(index, &buf) != nil else { return nil }
            let name = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            names[index] = name
            return name
        }
    }
}
