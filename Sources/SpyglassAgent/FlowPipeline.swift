import Foundation
import SpyglassDatapath
import SpyglassFlow
import SpyglassMetrics

/// The consumer thread: takes event batches from the queue, decodes each event into a Flow and hands it to the
/// metric handlers. Decode failures are counted by reason, never dropped silently.
public final class FlowPipeline: @unchecked Sendable {
    // @unchecked: `decoder` and the name cache are used only on the pipeline thread; counters are behind `lock`.
    private let queue: EventQueue
    private let metrics: MetricsEngine
    private let decoder: EventDecoder
    private let lock = NSLock()
    private var decodeErrors: [String: UInt64] = [:]
    private var flows: UInt64 = 0
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    init(queue: EventQueue, metrics: MetricsEngine, nodeName: String,
         dropReasons: @escaping EventDecoder.DropReasonResolver = EventDecoder.unknownDropReason) {
        self.queue = queue
        self.metrics = metrics
        let names = InterfaceNameCache()
        self.decoder = EventDecoder(
            nodeName: nodeName, bootToWallOffsetNs: BootClock.bootToWallOffsetNs(),
            interfaceName: { names.name(of: $0) }, dropReasonResolver: dropReasons)
    }

    func start() {
        let t = Thread { [self] in
            while let batch = nextBatch() {
                process(batch)
                queue.recycle(batch)
            }
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

    private func nextBatch() -> EventBatch? {
        while true {
            if let b = queue.pop(timeoutMs: 200) { return b }
            if queue.isClosed { return nil }
        }
    }

    private func process(_ batch: EventBatch) {
        var processed: UInt64 = 0
        batch.forEach { record in
            do throws(DecodeError) {
                let flow = try decoder.decode(record)
                metrics.process(flow)
                processed += 1
            } catch {
                countDecodeError(error.reason)
            }
        }
        lock.lock()
        flows &+= processed
        lock.unlock()
    }

    private func countDecodeError(_ reason: String) {
        lock.lock()
        decodeErrors[reason, default: 0] += 1
        lock.unlock()
    }

    /// Decode failures by reason (monotonic).
    public var decodeErrorCounts: [String: UInt64] {
        lock.lock()
        defer { lock.unlock() }
        return decodeErrors
    }

    /// Flows handed to the metric handlers (monotonic).
    public var flowsProcessed: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return flows
    }
}

/// ifindex → name, looked up once per index (names of deleted interfaces may be reused; good enough for labels).
final class InterfaceNameCache: @unchecked Sendable {
    // @unchecked: `names` is guarded by `lock`.
    private var names: [UInt32: String] = [:]
    private let lock = NSLock()

    func name(of index: UInt32) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if let n = names[index] { return n }
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buf) != nil else { return nil }
        let name = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        names[index] = name
        return name
    }
}
