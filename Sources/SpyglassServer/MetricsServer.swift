import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SpyglassSupport
import Synchronization

/// The Hubble-compatible metrics HTTP server (`--hubble-metrics-server`, default `:9965`).
///
/// Serves `GET`/`HEAD /metrics` from a `MetricsProvider` (rendered off the event loop, gzipped
/// when the client allows it) and `GET /healthz`. Everything else is 404 (405 for other methods
/// on those two paths). With `Configuration.tls` it serves HTTPS only (TLS 1.3, optionally mTLS); until
/// the certificate files exist, connections are accepted and closed at once.
///
/// Lifecycle: `init` validates the address (throws on a bad `--hubble-metrics-server` string),
/// `start()` binds and returns the bound address, `shutdown()` stops accepting, lets in-flight
/// requests finish (up to `Configuration.shutdownGracePeriod`), closes every connection and
/// releases the server's threads. Both are `async`; `shutdown()` returns when everything is
/// released and is idempotent. A server is started at most once.
public final class MetricsServer: Sendable {
    /// Where the server actually listens (the port is the real one when port 0 was asked for).
    public struct BoundAddress: Sendable, Hashable, CustomStringConvertible {
        /// Numeric IP address, without brackets (`127.0.0.1`, `::`).
        public let ip: String
        public let port: Int

        public var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
    }

    private enum Lifecycle {
        case created
        case starting
        case running(
            group: MultiThreadedEventLoopGroup, pool: NIOThreadPool, channel: any Channel, bound: BoundAddress,
            certificatePoller: RepeatedTask?)
        case stopping
        case stopped
    }

    public let address: ListenAddress
    public let configuration: Configuration
    private let provider: any MetricsProvider
    private let logger: Logger
    private let connections: ConnectionRegistry
    private let coalescer = RenderCoalescer()
    let tls: TLSCredentialsReloader?
    private let lifecycle = PThreadMutex(Lifecycle.created)

    /// - Parameter address: a `--hubble-metrics-server` value such as `:9965`, `127.0.0.1:9965`, `[::1]:0`.
    /// - Throws: `MetricsServerError` of kind `.invalidAddress`, naming the flag and the value.
    public convenience init(
        address: String, provider: any MetricsProvider, configuration: Configuration = .init(),
        logger: Logger = Logger(label: "spyglass.metrics-server")
    ) throws(MetricsServerError) {
        self.init(
            address: try ListenAddress(parsing: address), provider: provider, configuration: configuration,
            logger: logger)
    }

    public init(
        address: ListenAddress, provider: any MetricsProvider, configuration: Configuration = .init(),
        logger: Logger = Logger(label: "spyglass.metrics-server")
    ) {
        self.address = address
        self.provider = provider
        self.configuration = configuration
        self.logger = logger
        self.connections = ConnectionRegistry(
            limit: max(1, configuration.maxConnections),
            perClientLimit: configuration.maxConnectionsPerClient)
        self.tls = configuration.tls.map { TLSCredentialsReloader(settings: $0, logger: logger) }
    }

    /// The bound address while running, nil before `start()` and after `shutdown()`.
    public var boundAddress: BoundAddress? {
        lifecycle.withLock { if case .running(_, _, _, let bound, _) = $0 { bound } else { nil } }
    }

    /// TLS reloads, failures and handshake refusals; nil when the server speaks plain HTTP.
    public var tlsStatistics: MetricsServerTLSStatistics? { tls?.statistics }

    /// Connections closed at once because `maxConnections` were open and all busy answering.
    public var refusedOverLimit: Int { connections.refused }
    /// Connections closed at once because their client IP held `maxConnectionsPerClient`.
    public var refusedPerClient: Int { connections.refusedPerClient }
    /// Idle connections (waiting for a request) closed to make room for a new one at `maxConnections`.
    public var evictedIdle: Int { connections.evicted }
    /// Scrapes answered from a render a concurrent scrape had started.
    public var coalescedScrapes: Int { coalescer.coalesced }

    /// Number of open client connections (for tests and diagnostics).
    public var openConnections: Int { connections.count }

    /// Binds and starts serving. Returns the bound address (with the real port when port 0 was given).
    /// - Throws: `MetricsServerError` of kind `.addressInUse`, `.bindFailed`, `.invalidState` or
    ///   `.tlsCredentials` (a certificate file exists but is unreadable or invalid).
    @discardableResult
    public func start() async throws(MetricsServerError) -> BoundAddress {
        let mayStart = lifecycle.withLock { state in
            guard case .created = state else { return false }
            state = .starting
            return true
        }
        guard mayStart else {
            throw MetricsServerError(kind: .invalidState, message: "metrics server on \(address) was already started")
        }
        do throws(MetricsServerError) {
            try tls?.loadInitial()
        } catch {
            lifecycle.withLock { $0 = .stopped }
            throw error
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let pool = NIOThreadPool(numberOfThreads: max(1, configuration.renderThreads))
        pool.start()
        do throws(MetricsServerError) {
            let channel = try await bind(group: group, pool: pool)
            let bound = Self.boundAddress(of: channel, fallbackPort: address.port)
            let poller = tls.map { Self.pollCertificates($0, group: group, pool: pool) }
            let stillStarting = lifecycle.withLock { state in
                guard case .starting = state else { return false }
                state = .running(group: group, pool: pool, channel: channel, bound: bound, certificatePoller: poller)
                return true
            }
            guard stillStarting else {
                // shutdown() ran while we were binding.
                poller?.cancel()
                try? await channel.close()
                await Self.release(group: group, pool: pool)
                throw MetricsServerError(
                    kind: .invalidState, message: "metrics server on \(address) was shut down while starting")
            }
            logger.info(
                "metrics server listening",
                metadata: [
                    "address": "\(bound)", "scheme": "\(tls == nil ? "http" : "https")"
                ])
            return bound
        } catch {
            await Self.release(group: group, pool: pool)
            lifecycle.withLock { $0 = .stopped }
            throw error
        }
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, closes all
    /// connections and releases the threads. Returns when done. Idempotent: later or concurrent
    /// calls return at once.
    public func shutdown() async {
        let previous = lifecycle.withLock { state in
            let previous = state
            switch state {
            case .running, .starting, .created: state = .stopping
            case .stopping, .stopped: break
            }
            return previous
        }
        guard case .running(let group, let pool, let listener, _, let poller) = previous else {
            if case .created = previous { lifecycle.withLock { $0 = .stopped } }
            return
        }

        poller?.cancel()
        try? await listener.close()
        let open = connections.beginClosing()
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent())
        }
        let everyoneClosed = EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: group.next())
        let deadline = group.next().scheduleTask(in: TimeAmount(configuration.shutdownGracePeriod)) {
            for channel in open { channel.close(promise: nil) }
        }
        try? await everyoneClosed.get()
        deadline.cancel()

        await Self.release(group: group, pool: pool)
        lifecycle.withLock { $0 = .stopped }
        logger.info("metrics server stopped", metadata: ["address": "\(address)"])
    }

    /// Starts the server and serves until the calling task is cancelled (then shuts down
    /// gracefully) or until `shutdown()` is called elsewhere. For a service group that runs each
    /// service as a child task.
    public func run() async throws(MetricsServerError) {
        try await start()
        while !Task.isCancelled, boundAddress != nil {
            try? await Task.sleep(for: .milliseconds(250))
        }
        await shutdown()
    }

    // MARK: - binding

    private func bind(group: MultiThreadedEventLoopGroup, pool: NIOThreadPool) async throws(MetricsServerError)
        -> any Channel
    {
        let bootstrap = makeBootstrap(group: group, pool: pool)
        let hosts: [String]
        switch address.host {
        case .any: hosts = ["::", "0.0.0.0"]  // dual-stack when IPv6 exists, IPv4 otherwise
        case .ipv4(let h), .ipv6(let h), .name(let h): hosts = [h]
        }
        var lastError: any Error = ChannelError.inappropriateOperationForState
        for (i, host) in hosts.enumerated() {
            do {
                return try await bootstrap.bind(host: host, port: address.port).get()
            } catch {
                lastError = error
                let isLast = i == hosts.count - 1
                if !isLast, let io = error as? IOError, io.errnoCode == EAFNOSUPPORT || io.errnoCode == EADDRNOTAVAIL {
                    continue
                }
                break
            }
        }
        throw describeBindError(lastError)
    }

    private func describeBindError(_ error: any Error) -> MetricsServerError {
        let prefix = "cannot listen on \(address) (--hubble-metrics-server)"
        if let io = error as? IOError {
            if io.errnoCode == EADDRINUSE {
                return MetricsServerError(kind: .addressInUse, message: "\(prefix): address already in use")
            }
            return MetricsServerError(kind: .bindFailed, message: "\(prefix): \(Errno.describe(io.errnoCode))")
        }
        if error is SocketAddressError {
            return MetricsServerError(kind: .bindFailed, message: "\(prefix): cannot resolve host")
        }
        return MetricsServerError(kind: .bindFailed, message: "\(prefix): \(error)")
    }

    private func makeBootstrap(group: MultiThreadedEventLoopGroup, pool: NIOThreadPool) -> ServerBootstrap {
        let connections = self.connections
        let coalescer = self.coalescer
        let provider = self.provider
        let logger = self.logger
        let tls = self.tls
        let timeout = TimeAmount(configuration.readTimeout)
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = max(256, configuration.maxRequestHeaderBytes)
            limits.maxHeaderFieldSize = max(256, configuration.maxRequestHeaderBytes)
            limits.maxHeaderFieldCount = 1000
            return limits
        }()
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                // nil: plain HTTP. A TLS server without a certificate yet refuses (Hubble waits for the files too).
                var tlsContext: NIOSSLContext? = nil
                if let tls {
                    guard let context = tls.context else {
                        tls.countRefusedWithoutCertificate()
                        logger.debug("no TLS certificate loaded yet, closing new connection")
                        channel.close(promise: nil)
                        return channel.eventLoop.makeSucceededVoidFuture()
                    }
                    tlsContext = context
                }
                switch connections.admit(channel) {
                case .admitted:
                    break
                case .clientLimit:
                    logger.debug(
                        "per-client connection limit reached, closing new connection",
                        metadata: ["limit": "\(connections.perClientLimit)"])
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                case .limit, .closing:
                    logger.warning(
                        "connection limit reached, closing new connection",
                        metadata: ["limit": "\(connections.limit)"])
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tlsContext, let tls {
                        try sync.addHandler(NIOSSLServerHandler(context: tlsContext))
                        try sync.addHandler(TLSHandshakeFailureCounter(reloader: tls))
                    }
                    try sync.configureHTTPServerPipeline(
                        withPipeliningAssistance: true,
                        withErrorHandling: false,
                        withOutboundHeaderValidation: true,
                        withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: limits
                    )
                    try sync.addHandler(
                        HTTPConnectionHandler(
                            provider: provider, renderPool: pool, timeout: timeout, logger: logger,
                            coalescer: coalescer, registry: connections)
                    )
                }
            }
    }

    /// Checks the certificate files every `reloadInterval` on the render pool (file reads stay off the event loop).
    private static func pollCertificates(
        _ reloader: TLSCredentialsReloader, group: MultiThreadedEventLoopGroup, pool: NIOThreadPool
    ) -> RepeatedTask {
        let interval = TimeAmount(reloader.settings.reloadInterval)
        let loop = group.next()
        return loop.scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { _ in
            pool.runIfActive(eventLoop: loop) { reloader.poll() }
        }
    }

    private static func boundAddress(of channel: any Channel, fallbackPort: Int) -> BoundAddress {
        let local = channel.localAddress
        return BoundAddress(ip: local?.ipAddress ?? "?", port: local?.port ?? fallbackPort)
    }

    private static func release(group: MultiThreadedEventLoopGroup, pool: NIOThreadPool) async {
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }
}
