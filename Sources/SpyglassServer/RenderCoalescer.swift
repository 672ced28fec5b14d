import NIOCore
import NIOPosix
import SpyglassSupport

/// One exposition, as rendered for a kind of request.
struct RenderedExposition: Sendable {
    var body: ByteBuffer
    var contentType: String
    var gzipped: Bool
}

/// Concurrent scrapes that ask for the same thing (same `Accept`, same gzip choice) share one render: a crowd of
/// scrapers costs one render and one compression, not one each. Nothing is cached once the render is done.
final class RenderCoalescer: Sendable {
    struct Key: Hashable, Sendable {
        var accept: String?
        var gzip: Bool
    }

    private let inFlight = PThreadMutex<[Key: EventLoopFuture<RenderedExposition>]>([:])
    private let joined = PThreadMutex<Int>(0)

    /// Scrapes that were answered from a render another scrape had started.
    var coalesced: Int { joined.withLock { $0 } }

    /// The render for `key`: the one in flight, or a new one on `pool`. The result is delivered on `eventLoop`.
    func render(
        _ key: Key, pool: NIOThreadPool, eventLoop: any EventLoop,
        _ work: @escaping @Sendable () throws -> RenderedExposition
    ) -> EventLoopFuture<RenderedExposition> {
        let (future, isNew) = inFlight.withLock { map -> (EventLoopFuture<RenderedExposition>, Bool) in
            if let f = map[key] { return (f, false) }
            let f = pool.runIfActive(eventLoop: eventLoop, work)
            map[key] = f
            return (f, true)
        }
        if isNew {
            future.whenComplete { [inFlight] _ in
                inFlight.withLock { map in
                    if let f = map[key], f === future { map[key] = nil }
                }
            }
            return future
        }
        joined.withLock { $0 += 1 }
        return future.hop(to: eventLoop)
    }
}
