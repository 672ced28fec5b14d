extension MetricsServer {
    /// Limits and sizes of the metrics server. Defaults suit a Prometheus scraping every few seconds.
    public struct Configuration: Sendable {
        /// Largest request line plus header fields accepted; beyond it the server answers
        /// `431 Request Header Fields Too Large` and closes the connection.
        public var maxRequestHeaderBytes: Int = 16 * 1024
        /// The idle and header timeout: a connection is closed when a request is not fully received within this
        /// time of the connection opening or the previous response finishing (idle keep-alive and slowloris
        /// clients), or when a response cannot be handed to the kernel within this time (clients that do not
        /// read). Short, so a hostile crowd holds each slot briefly; Prometheus sends its request at once.
        public var readTimeout: Duration = .seconds(5)
        /// Open connections at most. When all are taken, the one that has waited longest for a request (never one
        /// being answered) is closed to make room; only when every slot is answering is a new one refused.
        public var maxConnections: Int = 256
        /// Open connections one client IP may hold; more are closed as soon as they are accepted.
        public var maxConnectionsPerClient: Int = 16
        /// Threads rendering (and gzipping) expositions, so slow renders never block an event loop
        /// and one slow scrape does not hold up the others.
        public var renderThreads: Int = 2
        /// Event loop threads accepting and serving connections.
        public var eventLoopThreads: Int = 1
        /// `shutdown()` lets in-flight requests finish for this long, then closes what is left.
        public var shutdownGracePeriod: Duration = .seconds(5)
        /// Listen backlog.
        public var backlog: Int32 = 256
        /// HTTPS (and mTLS) settings; nil serves plain HTTP. The TLS handshake is bounded by `readTimeout` too.
        public var tls: MetricsServerTLS? = nil

        public init() {}
    }
}
