import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix
import NIOSSL
import SpyglassFlow
import SpyglassServer
import SpyglassSupport

/// The TCP listener of Hubble's API with TLS 1.3 as the minimum (grpc-swift's own Posix transport accepts TLS 1.2),
/// as the metrics server: a listener factory for grpc-swift's custom HTTP/2 transport that puts a NIOSSL handler
/// with the metrics server's TLS context (same file checks, same TLS settings) in front of gRPC.
struct TLS13ListenerFactory: HTTP2ServerTransport.ListenerFactory {
    let eventLoopGroup: any EventLoopGroup
    let host: String
    let port: Int
    let context: NIOSSLContext
    /// The bound port, once listening.
    let boundPort = PThreadMutex<Int>(0)

    init(
        host: String, port: Int, tls: HubbleServerConfig.TLS,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        self.host = host
        self.port = port
        eventLoopGroup = group
        context = try TLSServerContext.make(
            certificate: ("--hubble-tls-cert-file", tls.certFile), key: ("--hubble-tls-key-file", tls.keyFile),
            clientCAs: tls.clientCAFiles.map { ("--hubble-tls-client-ca-files", $0) },
            applicationProtocols: ["grpc-exp", "h2"])
    }

    func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        let context = self.context
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { listenerConfigurator.configure(channel: $0) }
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }.flatMap {
                    connectionConfigurator.configure(channel: channel, tls: .configured(requireALPN: false))
                }
            }
        let bound = channel.channel.localAddress?.port ?? 0
        boundPort.withLock { $0 = bound }
        return channel
    }
}
