import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SpyglassAPI

/// How a client reaches a Hubble server: `--server` (`unix:///path`, `/path`, `host:port`) and Hubble's client TLS
/// flags.
public struct HubbleClientTarget: Sendable {
    public var server: String
    public var tls: Bool
    public var tlsServerName: String?
    public var caFiles: [String]
    public var clientCertFile: String?
    public var clientKeyFile: String?

    public init(
        server: String, tls: Bool = false, tlsServerName: String? = nil, caFiles: [String] = [],
        clientCertFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.server = server
        self.tls = tls
        self.tlsServerName = tlsServerName
        self.caFiles = caFiles
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
    }

    public static let defaultServer = "unix://" + HubbleServerConfig.defaultSocketPath

    /// Human form for messages (`unix:///var/run/spyglass/hubble.sock`).
    public var display: String {
        if server.hasPrefix("/") { return "unix://" + server }
        return server
    }

    public func transport() throws -> HTTP2ClientTransport.Posix {
        let target: any ResolvableTarget
        if server.hasPrefix("unix://") {
            target = .unixDomainSocket(path: String(server.dropFirst("unix://".count)))
        } else if server.hasPrefix("/") {
            target = .unixDomainSocket(path: server)
        } else {
            var hostPort = server
            if hostPort.hasPrefix("dns:///") { hostPort = String(hostPort.dropFirst(7)) }
            guard let (host, port) = HubbleServerConfig.splitHostPort(hostPort) else {
                throw HubbleServerError("--server: '\(server)' is not a unix socket path or host:port")
            }
            let h = host.isEmpty ? "127.0.0.1" : host
            target =
                h.contains(":")
                ? .ipv6(host: h, port: port)
                : (h.first?.isNumber == true ? .ipv4(host: h, port: port) : .dns(host: h, port: port))
        }
        var security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext
        if tls {
            if (clientCertFile == nil) != (clientKeyFile == nil) {
                throw HubbleServerError("--tls-client-cert-file and --tls-client-key-file go together")
            }
            let roots: TLSConfig.TrustRootsSource =
                caFiles.isEmpty ? .systemDefault : .certificates(caFiles.map { .file(path: $0, format: .pem) })
            if let cert = clientCertFile, let key = clientKeyFile {
                security = .mTLS(
                    certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem)
                ) { c in
                    c.trustRoots = roots
                }
            } else {
                security = .tls { c in c.trustRoots = roots }
            }
        }
        var config = HTTP2ClientTransport.Posix.Config.defaults
        if let name = tlsServerName { config.http2.authority = name }
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
    }
}
