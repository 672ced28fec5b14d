/// HTTPS for the metrics server, with Hubble's flags (`--hubble-metrics-server-enable-tls` and the three file
/// flags). Setting any client CA file turns on mutual TLS: every client must present a certificate signed by one
/// of those CAs. TLS 1.3 is the minimum, as in Hubble.
///
/// The files are re-read when they change (polled every `reloadInterval`: inode, size, mtime and ctime, so
/// Kubernetes' symlink swaps of mounted secrets are seen). New connections use the new certificate; open ones
/// keep theirs. A new set that does not load is logged and counted, and the previous one stays in use.
public struct MetricsServerTLS: Sendable, Equatable {
    /// `--hubble-metrics-server-tls-cert-file`: the server certificate (and any intermediates), PEM.
    public var certificateFile: String
    /// `--hubble-metrics-server-tls-key-file`: its private key, PEM.
    public var keyFile: String
    /// `--hubble-metrics-server-tls-client-ca-files`: CA certificates (PEM) that client certificates must chain to.
    /// Empty: clients are not asked for a certificate.
    public var clientCAFiles: [String]
    /// How often the files are checked for changes.
    public var reloadInterval: Duration

    public init(
        certificateFile: String, keyFile: String, clientCAFiles: [String] = [], reloadInterval: Duration = .seconds(1)
    ) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFiles = clientCAFiles
        self.reloadInterval = reloadInterval
    }

    /// True when client certificates are required and verified.
    public var mutualTLS: Bool { !clientCAFiles.isEmpty }

    /// Every file with the flag it came from, in the order they are checked.
    var files: [(flag: String, path: String)] {
        [("--hubble-metrics-server-tls-cert-file", certificateFile), ("--hubble-metrics-server-tls-key-file", keyFile)]
            + clientCAFiles.map { ("--hubble-metrics-server-tls-client-ca-files", $0) }
    }
}

/// What the TLS side of the metrics server has done, for the agent's self-metrics.
public struct MetricsServerTLSStatistics: Sendable, Equatable {
    /// Certificate sets loaded (the first one included).
    public var loads = 0
    /// Changed certificate sets that could not be loaded (the previous set stayed in use).
    public var loadFailures = 0
    /// Handshakes that failed: wrong protocol version, client certificate missing or not trusted, not TLS at all.
    public var handshakeFailures = 0
    /// Connections closed at once because no certificate has been loaded yet.
    public var refusedWithoutCertificate = 0
    /// True until the certificate files exist and have been loaded.
    public var waitingForCertificates = true
    /// Expiry of the server certificate in use (seconds since 1970), nil before one is loaded.
    public var certificateNotAfter: Double? = nil
}
