import Glibc
import SpyglassSupport

/// Bounded hand-over of event batches from the ring-buffer reader thread to the consumer thread. When the
/// consumer falls behind and the queue is full, the reader's batch is dropped and its events are counted as
/// lost (`hubble_lost_events_total{source="observer_events_queue"}`), never silently.
public final class EventQueue: @unchecked Sendable {
    // @unchecked: every field is guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var notEmpty = pthread_cond_t()
    private var ready: [EventBatch] = []
    private var free: [EventBatch] = []
    private var closed = false
    private var lostEvents: UInt64 = 0
    private var lostDropEvents: UInt64 = 0
    public let capacity: Int

    /// `capacity` batches of `batchBytes` each are preallocated and recycled.
    public init(capacity: Int = 64, batchBytes: Int = EventBatch.defaultCapacity) {
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        ready.reserveCapacity(capacity)
        free = (0..<capacity + 2).map { _ in EventBatch(capacity: batchBytes) }
    }

    deinit {
        pthread_cond_destroy(&notEmpty)
        pthread_mutex_destroy(&mutex)
    }

    /// An empty batch for the producer (a fresh one if the pool is empty).
    public func takeEmpty() -> EventBatch {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return free.popLast() ?? EventBatch(capacity: free.first?.storage.count ?? EventBatch.defaultCapacity)
    }

    /// Hands a filled batch to the consumer. Returns false (and counts the events lost) when the queue is full.
    @discardableResult
    public func push(_ batch: EventBatch) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if ready.count >= capacity || closed {
            lostEvents &+= UInt64(batch.count)
            // Only on overflow: tell drop events apart so drop accounting stays exact.
            batch.forEach { record in
                if record.count >= 4 && record.loadUnaligned(fromByteOffset: 2, as: UInt16.self) == 2 {
                    lostDropEvents &+= 1
                }
            }
            batch.reset()
            free.append(batch)
            return false
        }
        ready.append(batch)
        pthread_cond_signal(&notEmpty)
        return true
    }

    /// Next batch, waiting up to `timeoutMs`; nil on timeout or when closed and drained.
    public func pop(timeoutMs: Int) -> EventBatch? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if ready.isEmpty && !closed {
            // pthread_cond_timedwait's deadline is on CLOCK_REALTIME.
            let now = SystemClock.wall()
            var deadline = timespec()
            let ns = Int(now.nanos) + (timeoutMs % 1000) * 1_000_000
            deadline.tv_sec = time_t(now.seconds) + timeoutMs / 1000 + ns / 1_000_000_000
            deadline.tv_nsec = ns % 1_000_000_000
            _ = pthread_cond_timedwait(&notEmpty, &mutex, &deadline)
        }
        return ready.isEmpty ? nil : ready.removeFirst()
    }

    /// Returns a consumed batch to the pool.
    public func recycle(_ batch: EventBatch) {
        batch.reset()
        pthread_mutex_lock(&mutex)
        if free.count < capacity + 2 { free.append(batch) }
        pthread_mutex_unlock(&mutex)
    }

    /// Wakes the consumer; later pushes are counted as lost.
    public func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&notEmpty)
        pthread_mutex_unlock(&mutex)
    }

    /// Events dropped because the queue was full (monotonic).
    public var lost: UInt64 {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return lostEvents
    }

    public var isClosed: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return closed && ready.isEmpty
    }

    /// Of `lost`, the drop events (kind 2).
    public var lostDrops: UInt64 {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return lostDropEvents
    }

    public var depth: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return ready.count
    }
}
