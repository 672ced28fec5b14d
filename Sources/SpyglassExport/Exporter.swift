import Foundation
import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// One flow log: its filters, its bounded queue and its writer thread, so that export never blocks the pipeline
/// (docs/hubble-compatibility.md §11.7).
///
/// `offer` runs on the caller's thread: it applies `end`, the allow/deny lists and enqueues; it never blocks and
/// never does I/O. The writer thread aggregates or masks, encodes, and writes through `RotatingFile`. Every event
/// lost on the way — queue full, disk full, write error, line too long — is counted by reason, and once writing
/// works again a `lost_events` record (source `OBSERVER_EVENTS_QUEUE`, the source under which Hubble reports events
/// its synchronous exporter could not keep up with) tells readers of the file how many events are missing there.
final class Exporter: Sendable {
    let spec: ExporterSpec
    let nodeName: String
    private let queue: ExportQueue
    private let shared = ExporterShared()
    private let done = DispatchSemaphore(value: 0)
    private let mill: BackupMill?
    private let needsUUIDString: Bool

    /// `startGate`: when given, the writer thread waits for it before its first write (an updated flow log waits
    /// for its predecessor to close the same file).
    init(
        spec: ExporterSpec, nodeName: String, encoder: FlowRecordEncoder, logger: Logger,
        startGate: DispatchSemaphore? = nil
    ) {
        self.spec = spec
        self.nodeName = nodeName
        self.queue = ExportQueue(capacity: spec.queueCapacity)
        self.needsUUIDString = spec.filtersUseUUID
        let file: RotatingFile
        if let bytes = spec.maxSizeBytes {
            file = RotatingFile(
                path: spec.filePath, maxSizeBytes: bytes, maxBackups: spec.maxBackups, compress: spec.compress,
                fileMode: mode_t(spec.fileMode), logger: logger)
        } else {
            file = RotatingFile(
                path: spec.filePath, maxSizeMB: spec.maxSizeMB, maxBackups: spec.maxBackups, compress: spec.compress,
                fileMode: mode_t(spec.fileMode), logger: logger)
        }
        self.mill = file.mill
        let loop = WriterLoop(
            file: file, queue: queue, encoder: encoder, spec: spec, nodeName: nodeName, shared: shared)
        let done = self.done
        let t = Thread {
            startGate?.wait()
            loop.run()
            done.signal()
        }
        t.name = "spyglass-export"
        t.start()
    }

    /// Whether `end` has passed.
    var isExpired: Bool {
        guard let end = spec.end else { return false }
        return Timestamp.now > end
    }

    /// Hot path: filter and enqueue. Never blocks.
    func offer(_ flow: Flow, uuid: UUIDv4?) {
        if spec.end != nil && isExpired { return }
        if needsUUIDString && flow.uuid.isEmpty, let uuid {
            var f = flow
            f.uuid = uuid.string
            guard spec.filters.accepts(f) else { return }
        } else {
            guard spec.filters.accepts(flow) else { return }
        }
        queue.push(.flow(flow, uuid))
    }

    func offerLost(source: LostEventSource, count: UInt64, cpu: Int32?, time: Timestamp) {
        if spec.end != nil && isExpired { return }
        guard spec.filters.acceptsNonFlowEvent() else { return }
        queue.push(.lost(source: source, count: count, cpu: cpu, time: time))
    }

    /// Stops accepting, drains the queue, writes pending aggregates and closes the file, waiting until
    /// `deadline`; then waits (within the same deadline) for backup compression. False when time ran out (the
    /// writer then stops after its current batch).
    @discardableResult
    func stop(deadline: ContinuousClock.Instant) -> Bool {
        queue.close()
        let drained = done.wait(timeout: Self.dispatchTime(deadline)) == .success
        if !drained { shared.abort.store(true, ordering: .relaxed) }
        if let mill {
            let idle = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                mill.waitIdle()
                idle.signal()
            }
            return idle.wait(timeout: Self.dispatchTime(deadline)) == .success && drained
        }
        return drained
    }

    /// Waits for backup retention/compression passes scheduled so far (tests).
    func waitForBackgroundWork() { mill?.waitIdle() }

    private static func dispatchTime(_ deadline: ContinuousClock.Instant) -> DispatchTime {
        let left = ContinuousClock.now.duration(to: deadline)
        let ns = max(0, left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000)
        return .now() + .nanoseconds(Int(ns))
    }

    /// Events dropped by reason (`queue_full`, `no_space`, `write_error`, `too_large`, `open_error`).
    var dropped: [String: UInt64] {
        var d = shared.stats.withLock { $0.dropped }
        let q = queue.droppedTotal
        if q > 0 { d["queue_full"] = q }
        return d
    }

    var written: UInt64 { shared.stats.withLock { $0.written } }
    var lostRecordsWritten: UInt64 { shared.stats.withLock { $0.lostRecordsWritten } }
    var queueLength: Int { queue.count }
}

/// Counters shared by an exporter and its writer thread.
final class ExporterShared: Sendable {
    struct Stats {
        var written: UInt64 = 0
        var dropped: [String: UInt64] = [:]
        var lostRecordsWritten: UInt64 = 0
    }
    let stats = PThreadMutex(Stats())
    let abort = Atomic<Bool>(false)
}

/// The writer thread's state; touched only by that thread.
private final class WriterLoop: @unchecked Sendable {
    // @unchecked: handed to the writer thread at start and used by it alone (counters go through `shared`).
    let file: RotatingFile
    let queue: ExportQueue
    let encoder: FlowRecordEncoder
    let spec: ExporterSpec
    let nodeName: String
    let shared: ExporterShared
    var buf = JSONBytes(capacity: 320 * 1024)
    var lineEnds: [Int] = []
    var pendingLost: UInt64 = 0
    var aggregator: Aggregator?
    let intervalNs: UInt64
    static let chunkBytes = 256 * 1024

    init(
        file: RotatingFile, queue: ExportQueue, encoder: FlowRecordEncoder, spec: ExporterSpec, nodeName: String,
        shared: ExporterShared
    ) {
        self.file = file
        self.queue = queue
        self.encoder = encoder
        self.spec = spec
        self.nodeName = nodeName
        self.shared = shared
        let c = spec.aggregationInterval.components
        intervalNs = UInt64(max(0, c.seconds)) * 1_000_000_000 + UInt64(max(0, c.attoseconds / 1_000_000_000))
        if let agg = spec.aggregate, intervalNs > 0 {
            aggregator = Aggregator(mask: agg, encoder: encoder)
        }
        lineEnds.reserveCapacity(4096)
    }

    func run() {
        var batch: [ExportItem] = []
        var nextTick = UInt64(bitPattern: SystemClock.monotonicNs()) &+ intervalNs
        while true {
            var timeout: UInt64 = 1_000_000_000
            if aggregator != nil {
                let now = UInt64(bitPattern: SystemClock.monotonicNs())
                timeout = nextTick > now ? min(timeout, nextTick - now) : 0
            }
            let (dropped, finished) = queue.take(into: &batch, timeoutNs: timeout)
            pendingLost += dropped
            let small = batch.count < 256
            for item in batch {
                switch item {
                case .flow(let flow, let uuid):
                    if let aggregator {
                        aggregator.add(flow)
                    } else {
                        encoder.append(flow, uuid: uuid, mask: spec.mask, aggregate: nil, to: &buf)
                        endLine()
                    }
                case .lost(let source, let count, let cpu, let time):
                    encoder.appendLost(source: source, count: count, cpu: cpu, nodeName: nodeName, time: time, to: &buf)
                    endLine()
                }
            }
            batch.removeAll(keepingCapacity: true)
            if let aggregator, finished || UInt64(bitPattern: SystemClock.monotonicNs()) >= nextTick {
                for line in aggregator.drain() {
                    buf.out.append(contentsOf: line)
                    endLine()
                }
                nextTick = UInt64(bitPattern: SystemClock.monotonicNs()) &+ intervalNs
            }
            writeOut()
            if finished || shared.abort.load(ordering: .relaxed) { break }
            // A trickle of events would wake this thread once per event (a futex wake for the producer each
            // time); let small batches gather for a millisecond instead.
            if small { usleep(1000) }
        }
        file.close()
    }

    private func endLine() {
        lineEnds.append(buf.out.count)
        if buf.out.count >= Self.chunkBytes { writeOut() }
    }

    /// Writes the buffered lines, preceded by a `lost_events` record when events were lost since the last one.
    private func writeOut() {
        if pendingLost > 0 {
            let line = encoder.encodeLost(
                source: .observerEventsQueue, count: pendingLost, cpu: nil, nodeName: nodeName, time: Timestamp.now)
            if file.write(line, lineEnds: [line.count]).allWritten {
                pendingLost = 0
                shared.stats.withLock { $0.lostRecordsWritten += 1 }
            }
        }
        guard !lineEnds.isEmpty else { return }
        let o = file.write(buf.out, lineEnds: lineEnds)
        var lost: UInt64 = 0
        shared.stats.withLock { s in
            s.written += UInt64(o.written)
            for (reason, n) in o.lost {
                s.dropped[reason, default: 0] += UInt64(n)
                lost += UInt64(n)
            }
        }
        pendingLost += lost
        buf.out.removeAll(keepingCapacity: true)
        lineEnds.removeAll(keepingCapacity: true)
    }
}
