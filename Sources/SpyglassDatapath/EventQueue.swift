import SpyglassSupport

/// Bounded hand-over of event batches from the ring-buffer reader thread to the consumer thread. When the
/// consumer falls behind and the queue is full, the reader's batch is dropped and its events are counted as
/// lost (`hubble_lost_events_total{source="observer_events_queue"}`), never silently.
public final class EventQueue: Sendable {
    private struct State {
        var ready: [EventBatch] = []
        var free: [EventBatch] = []
        var closed = false
        var lostEvents: UInt64 = 0
        var lostDropEvents: UInt64 = 0
    }

    private let state: PThreadMutex<State>
    /// Signalled when a batch is ready or the queue closes.
    private let notEmpty = PThreadCondition()
    public let capacity: Int

    /// `capacity` batches of `batchBytes` each are preallocated and recycled.
    public init(capacity: Int = 64, batchBytes: Int = EventBatch.defaultCapacity) {
        self.capacity = capacity
        var s = State()
        s.ready.reserveCapacity(capacity)
        s.free = (0..<capacity + 2).map { _ in EventBatch(capacity: batchBytes) }
        state = PThreadMutex(s)
    }

    /// An empty batch for the producer (a fresh one if the pool is empty).
    public func takeEmpty() -> EventBatch {
        state.withLock { s in
            s.free.popLast() ?? EventBatch(capacity: s.free.first?.storage.count ?? EventBatch.defaultCapacity)
        }
    }

    /// Hands a filled batch to the consumer. Returns false (and counts the events lost) when the queue is full.
    @discardableResult
    public func push(_ batch: EventBatch) -> Bool {
        let capacity = self.capacity
        return state.withLock { s in
            if s.ready.count >= capacity || s.closed {
                s.lostEvents &+= UInt64(batch.count)
                // Only on overflow: tell drop events apart so drop accounting stays exact.
                batch.forEach { record in
                    if record.count >= 4 && record.loadUnaligned(fromByteOffset: 2, as: UInt16.self) == 2 {
                        s.lostDropEvents &+= 1
                    }
                }
                batch.reset()
                s.free.append(batch)
                return false
            }
            s.ready.append(batch)
            notEmpty.signal()
            return true
        }
    }

    /// Next batch, waiting up to `timeoutMs`; nil on timeout or when closed and drained.
    public func pop(timeoutMs: Int) -> EventBatch? {
        state.withLock(
            waitingOn: notEmpty, timeoutNs: Int64(timeoutMs) * 1_000_000, until: { !$0.ready.isEmpty || $0.closed }
        ) { s in
            s.ready.isEmpty ? nil : s.ready.removeFirst()
        }
    }

    /// Returns a consumed batch to the pool.
    public func recycle(_ batch: EventBatch) {
        batch.reset()
        let capacity = self.capacity
        state.withLock { s in
            if s.free.count < capacity + 2 { s.free.append(batch) }
        }
    }

    /// Wakes the consumer; later pushes are counted as lost.
    public func close() {
        state.withLock { s in
            s.closed = true
            notEmpty.broadcast()
        }
    }

    /// Events dropped because the queue was full (monotonic).
    public var lost: UInt64 { state.withLock { $0.lostEvents } }

    public var isClosed: Bool { state.withLock { $0.closed && $0.ready.isEmpty } }

    /// Of `lost`, the drop events (kind 2).
    public var lostDrops: UInt64 { state.withLock { $0.lostDropEvents } }

    public var depth: Int { state.withLock { $0.ready.count } }
}
