import Dispatch
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// One event waiting for an exporter's writer thread.
enum ExportItem: Sendable {
    case flow(Flow, UUIDv4?)
    case lost(source: LostEventSource, count: UInt64, cpu: Int32?, time: Timestamp)
}

/// A bounded multi-producer, single-consumer queue. `push` never blocks: when the queue is full the item is
/// dropped and counted. The consumer takes everything queued at once (the arrays are swapped, not copied).
final class ExportQueue: Sendable {
    private struct State {
        var items: [ExportItem] = []
        var dropped: UInt64 = 0
        var droppedUnreported: UInt64 = 0
        var consumerWaiting = false
        var closed = false
    }

    let capacity: Int
    private let state: PThreadMutex<State>
    private let wake = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        var s = State()
        s.items.reserveCapacity(min(self.capacity, 4096))
        state = PThreadMutex(s)
    }

    /// False when the item was dropped (queue full or closed).
    @discardableResult
    func push(_ item: ExportItem) -> Bool {
        let (ok, signal) = state.withLock { s -> (Bool, Bool) in
            if s.closed || s.items.count >= capacity {
                s.dropped += 1
                s.droppedUnreported += 1
                return (false, false)
            }
            s.items.append(item)
            if s.consumerWaiting {
                s.consumerWaiting = false
                return (true, true)
            }
            return (true, false)
        }
        if signal { wake.signal() }
        return ok
    }

    /// Moves everything queued into `batch` (which must be empty), waiting up to `timeoutNs` when there is nothing.
    /// Returns the drops not yet reported and whether the queue is closed and drained.
    func take(into batch: inout [ExportItem], timeoutNs: UInt64) -> (droppedSinceLastTake: UInt64, finished: Bool) {
        for attempt in 0..<2 {
            let r = state.withLock { s -> (UInt64, Bool, Bool) in
                let d = s.droppedUnreported
                s.droppedUnreported = 0
                if !s.items.isEmpty {
                    swap(&batch, &s.items)
                    return (d, false, true)
                }
                if s.closed { return (d, true, true) }
                if attempt == 0 { s.consumerWaiting = true }
                return (d, false, false)
            }
            if r.2 || attempt == 1 { return (r.0, r.1) }
            if r.0 > 0 { return (r.0, false) }
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(min(timeoutNs, UInt64(Int.max)))))
            state.withLock { $0.consumerWaiting = false }
        }
        return (0, false)
    }

    /// No more items are accepted; the consumer drains what is queued.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }

    var droppedTotal: UInt64 { state.withLock { $0.dropped } }
    var count: Int { state.withLock { $0.items.count } }
}
