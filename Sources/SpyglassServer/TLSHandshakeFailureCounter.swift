import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after the TLS handler: counts failed handshakes (wrong version, missing or untrusted client
/// certificate, plain HTTP on the TLS port) and passes every error on, so the connection handler closes.
final class TLSHandshakeFailureCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let reloader: TLSCredentialsReloader
    private var handshakeDone = false
    private var counted = false

    init(reloader: TLSCredentialsReloader) {
        self.reloader = reloader
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { handshakeDone = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The server's handshake ends after it has verified the client certificate, so every refusal is counted
        // here; errors after it (a client going away mid-response) are not handshake failures.
        if !counted, !handshakeDone {
            counted = true
            reloader.countHandshakeFailure()
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeFailureCounter: Sendable {}
