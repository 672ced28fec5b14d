import SpyglassExport
import SpyglassFlow
import SpyglassSupport

/// One entry of the observer's ring: a flow, or a count of events lost before they reached Spyglass's pipeline.
public enum ObservedEvent: Sendable {
    /// The UUID is drawn when the flow enters the ring, so every client sees the same one for the same event.
    case flow(Flow, UUIDv4)
    /// Events lost before the pipeline (ring buffers, queues), by source.
    case lost(source: LostEventSource, count: UInt64, time: Timestamp)

    public var time: Timestamp {
        switch self {
        case .flow(let f, _): f.time
        case .lost(_, _, let t): t
        }
    }
}

/// The in-memory ring of recent events behind GetFlows (Hubble's `--hubble-event-buffer-capacity`).
///
/// Writers (the flow pipeline) never wait for readers: `append` stores into a preallocated slot under a short lock
/// and overwrites the oldest entry when full. Readers keep a sequence-number cursor; a reader whose cursor fell
/// behind the oldest entry still held learns how many it missed (Hubble's LostEvent from `HUBBLE_RING_BUFFER`).
public final class EventRing: Sendable {
    /// Hubble accepts only capacities of the form 2^n - 1 (1, 3, 7, …, 65535); the default is 4095.
    public static let defaultCapacity = 4095
    public static func isValidCapacity(_ n: Int) -> Bool { n >= 1 && n <= 65535 && (n + 1) & n == 0 }

    struct State {
        var slots: [ObservedEvent?]
        /// Sequence number of the next append; entry `seq` lives in slot `seq % capacity`.
        var next: UInt64 = 0
        var seenFlows: UInt64 = 0
        /// splitmix64 state for flow UUIDs: cheap, no system call per flow.
        var random: UInt64

        /// Stores `event` as sequence `next` (over the oldest slot) and returns what that slot held, moved out.
        mutating func replaceOldest(with event: consuming ObservedEvent) -> ObservedEvent? {
            let i = Int(next % UInt64(slots.count))
            next &+= 1
            let old = slots[i].take()
            slots[i] = consume event
            return old
        }

        mutating func nextRandom() -> UInt64 {
            random &+= 0x9E37_79B9_7F4A_7C15
            var z = random
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    public let capacity: Int
    private let state: PThreadMutex<State>

    public init(capacity: Int = EventRing.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
        var g = SystemRandomNumberGenerator()
        state = PThreadMutex(State(slots: Array(repeating: nil, count: capacity), random: g.next()))
    }

    /// O(1) and never waits for readers: the flow is stored in the oldest slot under a short lock. The flow is
    /// copied once, straight into its slot (no optional or temporary event around it: each extra copy of a flow
    /// costs a memmove of the whole struct and a reference count per field, on every flow of the node).
    public func append(_ flow: Flow) {
        var old: ObservedEvent?
        state.withLock { s in
            let uuid = UUIDv4(high: s.nextRandom(), low: s.nextRandom())
            s.seenFlows &+= 1
            old = s.replaceOldest(with: .flow(flow, uuid))
        }
        _ = old  // the displaced entry is released here, outside the lock
    }

    /// Events lost before the pipeline; GetFlows returns them as `lost_events`.
    public func appendLost(source: LostEventSource, count: UInt64, time: Timestamp) {
        var old: ObservedEvent?
        state.withLock { s in old = s.replaceOldest(with: .lost(source: source, count: count, time: time)) }
        _ = old
    }

    /// Sequence number the next appended event will get.
    public var nextSequence: UInt64 { state.withLock { $0.next } }

    /// Oldest sequence number still held.
    public var oldestSequence: UInt64 {
        state.withLock { s in s.next > UInt64(capacity) ? s.next - UInt64(capacity) : 0 }
    }

    /// Flows currently held, and every flow ever appended.
    public var counts: (held: UInt64, seen: UInt64) {
        state.withLock { s in
            var held: UInt64 = 0
            for case .flow? in s.slots { held += 1 }
            return (held, s.seenFlows)
        }
    }

    /// Events with sequence numbers in `from..<next` that are still held, at most `limit`, oldest first, plus the
    /// number of requested events already overwritten and the cursor to continue from.
    public func read(from cursor: UInt64, limit: Int = .max) -> (events: [ObservedEvent], missed: UInt64, next: UInt64)
    {
        state.withLock { s in
            let cap = UInt64(capacity)
            let oldest = s.next > cap ? s.next - cap : 0
            let start = max(cursor, oldest)
            let missed = start - min(cursor, start)
            let end = min(s.next, start &+ UInt64(clamping: limit))
            var out: [ObservedEvent] = []
            out.reserveCapacity(Int(end - start))
            var seq = start
            while seq < end {
                if let e = s.slots[Int(seq % cap)] { out.append(e) }
                seq += 1
            }
            return (out, missed, end)
        }
    }

    /// Every held event, oldest first, and the sequence number following the newest.
    public func snapshot() -> (events: [ObservedEvent], next: UInt64) {
        let r = read(from: 0)
        return (r.events, r.next)
    }
}
