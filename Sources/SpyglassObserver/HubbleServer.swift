import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import SpyglassAPI
import SpyglassFlow
import SpyglassSupport

/// Where and how Hubble's API is served (Hubble's `--hubble-socket-path`, `--hubble-listen-address` and TLS flags).
public struct HubbleServerConfig: Sendable, Equatable {
    public static let defaultSocketPath = "/var/run/spyglass/hubble.sock"

    public struct TLS: Sendable, Equatable {
        public var certFile: String
        public var keyFile: String
        /// Non-empty: clients must present a certificate signed by one of these CAs (mTLS).
        public var clientCAFiles: [String]
        public init(certFile: String, keyFile: String, clientCAFiles: [String] = []) {
            self.certFile = certFile
            self.keyFile = keyFile
            self.clientCAFiles = clientCAFiles
        }
    }

    /// Empty: no unix socket.
    public var socketPath: String
    /// `[host]:port`; empty: no TCP listener.
    public var listenAddress: String
    /// For the TCP listener; nil means plaintext (`--hubble-disable-tls`).
    public var tls: TLS?
    public var eventBufferCapacity: Int

    public init(
        socketPath: String = HubbleServerConfig.defaultSocketPath, listenAddress: String = "", tls: TLS? = nil,
        eventBufferCapacity: Int = EventRing.defaultCapacity
    ) {
        self.socketPath = socketPath
        self.listenAddress = listenAddress
        self.tls = tls
        self.eventBufferCapacity = eventBufferCapacity
    }

    /// `host:port` / `:port` / `[v6]:port` → (host, port); nil when malformed.
    public static func splitHostPort(_ s: String) -> (host: String, port: Int)? {
        guard let colon = s.lastIndex(of: ":") else { return nil }
        var host = String(s[..<colon])
        guard let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

public struct HubbleServerError: Error, CustomStringConvertible {
    public let description: String
    /// The unix socket is served by another live process (another agent on this node).
    public var socketInUse = false
    public init(_ d: String, socketInUse: Bool = false) {
        description = d
        self.socketInUse = socketInUse
    }
}

/// Runs `observer.Observer`, `peer.Peer` and `grpc.health.v1.Health` on the unix socket and, optionally, on TCP
/// (TLS 1.3 with the certificate given, mTLS when client CAs are given).
public final class HubbleServer: Sendable {
    public let config: HubbleServerConfig
    public let ring: EventRing
    let node: ObserverNodeInfo
    let logger: Logger
    let onLost: @Sendable (UInt64) -> Void
    let peers: @Sendable () -> [HubblePeer]?
    let peerPollInterval: Duration
    private let running = PThreadMutex<[(stop: @Sendable () -> Void, task: Task<Void, any Error>)]>([])
    private let tcpPortBox = PThreadMutex<Int>(0)
    private let ownsSocket = PThreadMutex<Bool>(false)

    public init(
        config: HubbleServerConfig, ring: EventRing, node: ObserverNodeInfo, logger: Logger,
        peers: @escaping @Sendable () -> [HubblePeer]? = { nil }, peerPollInterval: Duration = .seconds(5),
        onLost: @escaping @Sendable (UInt64) -> Void = { _ in }
    ) {
        self.peers = peers
        self.peerPollInterval = peerPollInterval
        self.config = config
        self.ring = ring
        self.node = node
        self.logger = logger
        self.onLost = onLost
    }

    /// The bound TCP port (after start; 0 without a TCP listener).
    public var tcpPort: Int { tcpPortBox.withLock { $0 } }

    func services() -> [any RegistrableRPCService] {
        [
            ObserverService(ring: ring, node: node, onLost: onLost),
            PeerService(node: node, pollInterval: peerPollInterval, peers: peers), HealthService()
        ]
    }

    /// Starts the listeners. A unix socket another running agent serves is left to it (logged, returned as false);
    /// any other failure stops everything started and throws.
    @discardableResult
    public func start() async throws -> Bool {
        var onSocket = false
        do {
            if !config.socketPath.isEmpty {
                do {
                    try await startUnix(config.socketPath)
                    onSocket = true
                } catch let e as HubbleServerError where e.socketInUse {
                    logger.warning("\(e.description): Hubble's API is not served on it by this agent")
                } catch  where config.socketPath == HubbleServerConfig.defaultSocketPath {
                    // The default path needs root (or a writable /var/run/spyglass); an agent run with only its
                    // capabilities keeps running without the socket. A path given explicitly must work.
                    logger.warning(
                        "Hubble's API is not served on \(config.socketPath): \(error) (set --hubble-socket-path to a writable place)"
                    )
                }
            }
            if !config.listenAddress.isEmpty { try await startTCP(config.listenAddress) }
        } catch {
            await stop()
            throw error
        }
        return onSocket
    }

    /// True when something accepts connections on the unix socket at `path`.
    static func socketIsLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    private func startUnix(_ path: String) async throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
        // A socket file left by an earlier run that is not listening any more is replaced; anything else is refused.
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                throw HubbleServerError("--hubble-socket-path: \(path) exists and is not a socket")
            }
            if Self.socketIsLive(path) {
                throw HubbleServerError(
                    "--hubble-socket-path: \(path) is served by another running process", socketInUse: true)
            }
            unlink(path)
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: path), transportSecurity: .plaintext)
        try await run(transport, what: "unix://\(path)")
        chmod(path, 0o660)  // root and the socket's group (as Hubble's socket)
        ownsSocket.withLock { $0 = true }
    }

    private func startTCP(_ address: String) async throws {
        guard let (host, port) = HubbleServerConfig.splitHostPort(address) else {
            throw HubbleServerError("--hubble-listen-address: \(address) is not [host]:port")
        }
        let bindHost = host.isEmpty ? "0.0.0.0" : host
        let addr: GRPCNIOTransportCore.SocketAddress =
            bindHost.contains(":") ? .ipv6(host: bindHost, port: port) : .ipv4(host: bindHost, port: port)
        if let tls = config.tls {
            let factory: TLS13ListenerFactory
            do {
                factory = try TLS13ListenerFactory(host: bindHost, port: port, tls: tls)
            } catch {
                throw HubbleServerError("hubble TLS: \(error)")
            }
            let transport = HTTP2ServerTransport.Custom(listenerFactory: factory)
            let server = GRPCServer(transport: transport, services: services())
            let failure = PThreadMutex<String?>(nil)
            let task = Task {
                do { try await server.serve() } catch {
                    failure.withLock { $0 = "\(error)" }
                    throw error
                }
            }
            // The custom transport reports no address: wait for the factory to have bound (or the server to fail).
            let deadline = ContinuousClock.now + .seconds(10)
            while factory.boundPort.withLock({ $0 }) == 0 {
                if let why = failure.withLock({ $0 }) {
                    throw HubbleServerError("--hubble-listen-address: cannot listen on \(address): \(why)")
                }
                if ContinuousClock.now > deadline {
                    task.cancel()
                    throw HubbleServerError("--hubble-listen-address: \(address) did not start listening")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            running.withLock { $0.append(({ server.beginGracefulShutdown() }, task)) }
            tcpPortBox.withLock { $0 = factory.boundPort.withLock { $0 } }
            logger.info(
                "serving Hubble's API on TLS 1.3\(tls.clientCAFiles.isEmpty ? "" : " with client certificates") \(address)"
            )
            return
        }
        let transport = HTTP2ServerTransport.Posix(address: addr, transportSecurity: .plaintext)
        let bound = try await run(transport, what: "plaintext \(address)")
        if let port = bound.ipv4?.port ?? bound.ipv6?.port { tcpPortBox.withLock { $0 = port } }
    }

    @discardableResult
    private func run(_ transport: HTTP2ServerTransport.Posix, what: String) async throws
        -> GRPCNIOTransportCore.SocketAddress
    {
        let server = GRPCServer(transport: transport, services: services())
        let task = Task { try await server.serve() }
        do {
            let bound = try await transport.listeningAddress
            running.withLock { $0.append(({ server.beginGracefulShutdown() }, task)) }
            logger.info("serving Hubble's API on \(what)")
            return bound
        } catch {
            task.cancel()
            _ = await task.result
            if case .failure(let e) = await task.result { throw HubbleServerError("Hubble API on \(what): \(e)") }
            throw HubbleServerError("Hubble API on \(what): \(error)")
        }
    }

    /// Ends every RPC (followers included) and closes the listeners; removes the socket file this server made.
    public func stop() async {
        let all = running.withLock { r in
            defer { r = [] }
            return r
        }
        for (stop, task) in all {
            stop()
            task.cancel()
            _ = await task.result
        }
        if ownsSocket.withLock({ o in
            defer { o = false }; return o
        }) {
            unlink(config.socketPath)
        }
    }
}

extension HubbleServerConfig {
    /// The `host:port` Peer.Notify announces: the listen host when it is a specific address, else this node's
    /// first non-loopback IPv4 address; empty without a TCP listener.
    public func peerAddress() -> String {
        guard !listenAddress.isEmpty, let (host, port) = HubbleServerConfig.splitHostPort(listenAddress) else {
            return ""
        }
        if !host.isEmpty && host != "0.0.0.0" && host != "::" {
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return "127.0.0.1:\(port)" }
        defer { freeifaddrs(list) }
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let cur = p {
            defer { p = cur.pointee.ifa_next }
            guard let sa = cur.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
                cur.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0
            else { continue }
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var a = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count)) != nil
            }
            if ok {
                return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    + ":\(port)"
            }
        }
        return "127.0.0.1:\(port)"
    }
}
