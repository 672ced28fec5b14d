import Logging
import NIOSSL
import SpyglassSupport
import Synchronization

/// Keeps the TLS context that new connections use, and swaps it when the certificate files change.
///
/// `poll()` runs every `reloadInterval` (off the event loops). A change is loaded once the files have stayed the
/// same for one interval, so a certificate and key written one after the other are not loaded half-updated. A
/// change that does not load is counted once, logged, and the previous context stays in use.
final class TLSCredentialsReloader: Sendable {
    static let waitingMessage = "Waiting for TLS certificates to become available"

    private struct State {
        var credentials: TLSCredentials?
        /// File states of the last load attempt; unchanged files are not loaded again.
        var attempted: [TLSFileState] = []
        /// File states seen by the previous poll; a change is loaded only once it is stable.
        var previousPoll: [TLSFileState] = []
        var statistics = MetricsServerTLSStatistics()
    }

    let settings: MetricsServerTLS
    private let logger: Logger
    private let state = PThreadMutex(State())

    init(settings: MetricsServerTLS, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The context for a new connection; nil while waiting for the files.
    var context: NIOSSLContext? { state.withLock { $0.credentials?.context } }

    var statistics: MetricsServerTLSStatistics { state.withLock { $0.statistics } }

    func countHandshakeFailure() { state.withLock { $0.statistics.handshakeFailures += 1 } }
    func countRefusedWithoutCertificate() { state.withLock { $0.statistics.refusedWithoutCertificate += 1 } }

    /// First load, at start-up. Files that do not exist yet are waited for (logged); files that exist but cannot
    /// be used stop start-up with an error naming the flag and the file.
    func loadInitial() throws(MetricsServerError) {
        let files = currentFileStates()
        state.withLock {
            $0.attempted = files
            $0.previousPoll = files
        }
        do {
            install(try TLSCredentials.load(settings))
        } catch {
            switch error {
            case .missing(let paths):
                logger.warning("\(Self.waitingMessage)", metadata: ["missing": "\(paths.joined(separator: ", "))"])
            case .invalid(let message):
                throw MetricsServerError(kind: .tlsCredentials, message: "metrics server TLS: \(message)")
            }
        }
    }

    /// Checks the files and loads them when they changed (and have not changed since the previous poll).
    func poll() {
        let files = currentFileStates()
        let shouldLoad = state.withLock { s -> Bool in
            defer { s.previousPoll = files }
            guard files != s.attempted, files == s.previousPoll else { return false }
            s.attempted = files
            return true
        }
        guard shouldLoad else { return }
        do {
            install(try TLSCredentials.load(settings))
        } catch {
            switch error {
            case .missing(let paths):
                let waiting = state.withLock { $0.credentials == nil }
                if waiting {
                    logger.warning("\(Self.waitingMessage)", metadata: ["missing": "\(paths.joined(separator: ", "))"])
                } else {
                    logger.warning(
                        "TLS certificate files are missing; new connections keep using the loaded certificate",
                        metadata: ["missing": "\(paths.joined(separator: ", "))"])
                }
            case .invalid(let message):
                state.withLock { $0.statistics.loadFailures += 1 }
                logger.error("TLS certificates not reloaded, keeping the previous ones: \(message)")
            }
        }
    }

    private func install(_ credentials: TLSCredentials) {
        let reloaded = state.withLock {
            let hadCredentials = $0.credentials != nil
            $0.credentials = credentials
            $0.statistics.loads += 1
            $0.statistics.waitingForCertificates = false
            $0.statistics.certificateNotAfter = Double(credentials.certificate.notValidAfter)
            return hadCredentials
        }
        let serial = credentials.certificate.serialNumber.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
        logger.info(
            reloaded ? "TLS certificates reloaded" : "TLS certificates loaded",
            metadata: [
                "certificate": "\(settings.certificateFile)", "serial": "\(serial)",
                "mtls": "\(settings.mutualTLS)"
            ])
    }

    private func currentFileStates() -> [TLSFileState] {
        settings.files.map { TLSFileState.of($0.path) }
    }
}
