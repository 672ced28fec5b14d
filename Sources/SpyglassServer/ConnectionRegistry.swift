import NIOCore
import SpyglassSupport
import Synchronization

/// Open connections of one server: enforces the global and per-client limits and lets shutdown reach them all.
///
/// Hostile clients must not lock Prometheus out. A client (remote IP) may hold at most `perClientLimit`
/// connections; when all `limit` slots are taken, the connection that has been waiting longest for a request (not
/// one being answered) is closed to make room, so a crowd of idle or slowloris connections only delays itself.
final class ConnectionRegistry: Sendable {
    enum Admission: Equatable {
        case admitted
        /// The client already holds `perClientLimit` connections.
        case clientLimit
        /// Every slot is busy answering a request.
        case limit
        case closing
    }

    private struct Entry {
        var channel: any Channel
        var client: String
        var order: UInt64
        /// Answering a request: never evicted.
        var busy = false
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perClient: [String: Int] = [:]
        var next: UInt64 = 0
        var closing = false
        var refused = 0
        var refusedPerClient = 0
        var evicted = 0

        mutating func remove(_ id: ObjectIdentifier) -> Entry? {
            guard let e = entries.removeValue(forKey: id) else { return nil }
            let n = (perClient[e.client] ?? 1) - 1
            perClient[e.client] = n > 0 ? n : nil
            return e
        }
    }

    private let state = PThreadMutex(State())
    let limit: Int
    let perClientLimit: Int

    init(limit: Int, perClientLimit: Int = .max) {
        self.limit = max(1, limit)
        self.perClientLimit = max(1, perClientLimit)
    }

    /// Registers the channel, closing the longest-waiting idle connection when every slot is taken.
    func admit(_ channel: any Channel) -> Admission {
        let client = channel.remoteAddress?.ipAddress ?? "?"
        let id = ObjectIdentifier(channel)
        var victim: (any Channel)?
        let result = state.withLock { s -> Admission in
            guard !s.closing else { return .closing }
            guard s.perClient[client, default: 0] < perClientLimit else {
                s.refusedPerClient += 1
                return .clientLimit
            }
            if s.entries.count >= limit {
                var oldest: (ObjectIdentifier, UInt64)?
                for (k, e) in s.entries where !e.busy && (oldest == nil || e.order < oldest!.1) {
                    oldest = (k, e.order)
                }
                guard let (k, _) = oldest, let e = s.remove(k) else {
                    s.refused += 1
                    return .limit
                }
                victim = e.channel
                s.evicted += 1
            }
            s.entries[id] = Entry(channel: channel, client: client, order: s.next)
            s.next += 1
            s.perClient[client, default: 0] += 1
            return .admitted
        }
        victim?.close(promise: nil)
        if result == .admitted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.remove(id) }
            }
        }
        return result
    }

    /// Marks the connection as answering a request (`true`) or waiting for one (`false`).
    func setBusy(_ channel: any Channel, _ busy: Bool) {
        state.withLock { s in
            let id = ObjectIdentifier(channel)
            if s.entries[id] != nil { s.entries[id]!.busy = busy }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Connections refused because every slot was busy answering.
    var refused: Int { state.withLock { $0.refused } }
    /// Connections refused because their client already held `perClientLimit`.
    var refusedPerClient: Int { state.withLock { $0.refusedPerClient } }
    /// Idle connections closed to make room for a new one.
    var evicted: Int { state.withLock { $0.evicted } }

    /// Stops admitting and returns the channels open now.
    func beginClosing() -> [any Channel] {
        state.withLock { state in
            state.closing = true
            return state.entries.values.map(\.channel)
        }
    }
}
