import ArgumentParser
import Foundation
import SpyglassObserver

/// Hubble's API flags (Cilium's names) for `run` and `demo`.
struct HubbleAPIOptions: ParsableArguments {
    @Option(
        name: .customLong("enable-hubble"), help: "Serve Hubble's gRPC API (observer.Observer, peer.Peer) (true|false)."
    )
    var enabled = true

    @Option(name: .customLong("hubble-socket-path"), help: "Unix socket for Hubble's API (empty: none).")
    var socketPath = HubbleServerConfig.defaultSocketPath

    @Option(
        name: .customLong("hubble-listen-address"),
        help: "Also serve Hubble's API on TCP, as [host]:port (e.g. :4244); empty: unix socket only.")
    var listenAddress = ""

    @Option(name: .customLong("hubble-tls-cert-file"), help: "PEM certificate (chain) of the TCP listener.")
    var tlsCertFile = ""

    @Option(name: .customLong("hubble-tls-key-file"), help: "PEM private key of that certificate.")
    var tlsKeyFile = ""

    @Option(
        name: .customLong("hubble-tls-client-ca-files"),
        help: ArgumentHelp(
            "PEM CAs that client certificates must chain to (repeatable or comma-separated); setting any turns on mTLS.",
            valueName: "file"))
    var tlsClientCAFiles: [String] = []

    @Flag(name: .customLong("hubble-disable-tls"), help: "Serve the TCP listener without TLS.")
    var disableTLS = false

    @Option(name: .customLong("hubble-event-buffer-capacity"), help: "Events kept for GetFlows: 2^n-1, at most 65535.")
    var bufferCapacity = EventRing.defaultCapacity

    /// nil when `--enable-hubble=false`. Bad combinations are errors that name the flag.
    func config() throws -> HubbleServerConfig? {
        let clientCAs = tlsClientCAFiles.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard enabled else { return nil }
        guard EventRing.isValidCapacity(bufferCapacity) else {
            throw ValidationError(
                "--hubble-event-buffer-capacity: \(bufferCapacity) is not 2^n-1 between 1 and 65535 (e.g. 4095)")
        }
        var c = HubbleServerConfig(
            socketPath: socketPath, listenAddress: listenAddress, eventBufferCapacity: bufferCapacity)
        let tlsFlags = [
            ("--hubble-tls-cert-file", !tlsCertFile.isEmpty), ("--hubble-tls-key-file", !tlsKeyFile.isEmpty),
            ("--hubble-tls-client-ca-files", !clientCAs.isEmpty)
        ].filter(\.1).map(\.0)
        if listenAddress.isEmpty || disableTLS {
            if let first = tlsFlags.first {
                throw ValidationError(
                    listenAddress.isEmpty
                        ? "\(first) is set but --hubble-listen-address is not: TLS applies to the TCP listener only"
                        : "\(first) and --hubble-disable-tls: choose one")
            }
        }
        if !listenAddress.isEmpty {
            guard HubbleServerConfig.splitHostPort(listenAddress) != nil else {
                throw ValidationError("--hubble-listen-address: '\(listenAddress)' is not [host]:port (e.g. :4244)")
            }
            if !disableTLS {
                guard !tlsCertFile.isEmpty, !tlsKeyFile.isEmpty else {
                    throw ValidationError(
                        "--hubble-listen-address needs --hubble-tls-cert-file and --hubble-tls-key-file, or --hubble-disable-tls"
                    )
                }
                c.tls = .init(certFile: tlsCertFile, keyFile: tlsKeyFile, clientCAFiles: clientCAs)
            }
        }
        return c
    }
}
