import NIOSSL

/// One loaded set of certificate, key and client CAs, turned into the TLS context new connections use.
struct TLSCredentials: Sendable {
    let context: NIOSSLContext
    /// The leaf certificate: its expiry and serial number are reported.
    let certificate: NIOSSLCertificate

    enum LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        /// These files do not exist (yet): Hubble waits for them.
        case missing([String])
        /// A file exists but cannot be used; the message names the flag and the file.
        case invalid(String)

        var description: String {
            switch self {
            case .missing(let paths): "waiting for \(paths.joined(separator: ", "))"
            case .invalid(let message): message
            }
        }
    }

    static func load(_ settings: MetricsServerTLS) throws(LoadError) -> TLSCredentials {
        try load(files: settings.files)
    }

    /// Reads and checks every file, then builds a TLS 1.3-only server context (client certificates required
    /// and verified when client CAs are set). `files`: the certificate, the key, then any client CAs, each with the
    /// flag it came from (error messages name it).
    static func load(files: [(flag: String, path: String)], applicationProtocols: [String] = []) throws(LoadError)
        -> TLSCredentials
    {
        var contents: [[UInt8]] = []
        var missing: [String] = []
        for (flag, path) in files {
            do {
                contents.append(try SmallFile.read(path))
            } catch {
                switch error {
                case .missing: missing.append(path)
                case .tooLarge:
                    throw .invalid("\(flag) \(path): larger than \(SmallFile.maxBytes) bytes, not a PEM file")
                case .system(let reason): throw .invalid("\(flag) \(path): cannot read: \(reason)")
                }
            }
        }
        if !missing.isEmpty { throw .missing(missing) }

        let chain = try certificates(contents[0], flag: files[0].flag, path: files[0].path)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: contents[1], format: .pem)
        } catch {
            throw .invalid("\(files[1].flag) \(files[1].path): not a PEM private key (or it is encrypted)")
        }
        var clientCAs: [NIOSSLCertificate] = []
        for i in 2..<files.count {
            clientCAs += try certificates(contents[i], flag: files[i].flag, path: files[i].path)
        }

        var configuration: TLSConfiguration
        if clientCAs.isEmpty {
            configuration = .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        } else {
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key),
                trustRoots: .certificates(clientCAs))
            // Lets clients with several certificates pick one these CAs signed.
            configuration.sendCANameList = true
        }
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = applicationProtocols
        // A client that ignores our close_notify must not hold its connection open for long.
        configuration.shutdownTimeout = .seconds(2)
        do {
            let context = try NIOSSLContext(configuration: configuration)
            return TLSCredentials(context: context, certificate: chain[0])
        } catch {
            // BoringSSL refuses a key that does not belong to the certificate here.
            throw .invalid(
                "\(files[1].flag) \(files[1].path): does not match the certificate in \(files[0].path) (\(error))")
        }
    }

    private static func certificates(_ bytes: [UInt8], flag: String, path: String) throws(LoadError)
        -> [NIOSSLCertificate]
    {
        let parsed: [NIOSSLCertificate]
        do {
            parsed = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw .invalid("\(flag) \(path): not a PEM certificate")
        }
        guard !parsed.isEmpty else { throw .invalid("\(flag) \(path): contains no PEM certificate") }
        return parsed
    }
}

/// A TLS 1.3-only server context from PEM files, read and checked exactly as the metrics server's (for other
/// listeners of the agent, such as Hubble's API).
public enum TLSServerContext {
    /// - Parameters: each file with the flag it came from; `applicationProtocols`: ALPN names to offer.
    public static func make(
        certificate: (flag: String, path: String), key: (flag: String, path: String),
        clientCAs: [(flag: String, path: String)], applicationProtocols: [String]
    ) throws(TLSServerContextError) -> NIOSSLContext {
        do {
            return try TLSCredentials.load(
                files: [certificate, key] + clientCAs, applicationProtocols: applicationProtocols
            ).context
        } catch {
            switch error {
            case .missing(let paths):
                throw TLSServerContextError(description: "cannot read \(paths.joined(separator: ", "))")
            case .invalid(let message): throw TLSServerContextError(description: message)
            }
        }
    }
}

public struct TLSServerContextError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
