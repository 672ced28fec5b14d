import SpyglassFlow
import NIOCore
import Synchronization

/// Open connections of one server: enforces the connection limit and lets shutdown reach them all.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
        var refused = 0
    }

    private let state = PThreadMutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Registers the channel; false when the limit is reached or the server is shutting down.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = state.withLock { state in
            guard !state.closing else { return false }
            guard state.channels.count < limit else {
                state.refused += 1
                return false
            }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    var count: Int { state.withLock { $0.channels.count } }

    /// Connections refused because the limit was reached.
    var refused: Int { state.withLock { $0.refused } }

    /// Stops admitting and returns the channels open now.
    func beginClosing() -> [any Channel] {
        state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
    }
}
