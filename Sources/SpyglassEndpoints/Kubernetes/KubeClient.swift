import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A thin Kubernetes API client: paged lists and streamed watches over AsyncHTTPClient.
final class KubeClient: Sendable {
    let credentials: KubeCredentials
    let http: HTTPClient
    let limits: KubeLimits

    init(credentials: KubeCredentials, limits: KubeLimits) throws {
        try credentials.checkTransport()
        self.credentials = credentials
        self.limits = limits
        var tls: TLSConfiguration? = nil
        if credentials.server.hasPrefix("https://") {
            var t = TLSConfiguration.makeClientConfiguration()
            do {
                if let ca = credentials.certificateAuthority {
                    t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
                }
                if let cert = credentials.clientCertificate, let key = credentials.clientKey {
                    t.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                    t.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
                }
            } catch {
                throw KubeConfigError("Kubernetes TLS material for \(credentials.server) is not valid PEM: \(error)")
            }
            if credentials.insecureSkipTLSVerify { t.certificateVerification = .none }
            tls = t
        }
        var config = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: .seconds(10), read: .seconds(Int64(limits.watchTimeoutSeconds + 30))),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16),
            decompression: .disabled)
        config.httpVersion = .http1Only
        // Fail a request at the first refused or failed connection: the reflector's own backoff takes it from
        // there, and the failure shows in the metrics at once instead of after the request deadline.
        config.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    enum Failure: Error, CustomStringConvertible {
        case gone(String)
        case status(code: Int, message: String)
        case tooLarge(String)
        case decode(String)

        var description: String {
            switch self {
            case .gone(let m): "410 Gone: \(m)"
            case .status(let code, let m): "HTTP \(code): \(m)"
            case .tooLarge(let m): m
            case .decode(let m): "cannot decode: \(m)"
            }
        }
        var reason: String {
            switch self {
            case .gone: "gone"
            case .status(let code, _) where code == 401 || code == 403: "unauthorized"
            case .status: "http_status"
            case .tooLarge: "too_large"
            case .decode: "decode"
            }
        }
    }

    func request(_ path: String, query: [(String, String)], accept: String) -> HTTPClientRequest {
        var comps = URLComponents()
        comps.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // URLComponents leaves '+' and '=' alone in values; selectors and continue tokens need them escaped.
        let q = (comps.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var r = HTTPClientRequest(url: credentials.server + path + (q.isEmpty ? "" : "?" + q))
        r.headers.add(name: "Accept", value: accept)
        r.headers.add(name: "User-Agent", value: "spyglass-endpoints")
        if let t = credentials.currentToken(), !t.isEmpty { r.headers.add(name: "Authorization", value: "Bearer \(t)") }
        return r
    }

    /// Fails with `Failure` for a non-200 answer (`.gone` for 410), reading a bounded piece of the body for the
    /// message.
    func check(_ response: HTTPClientResponse) async throws {
        guard response.status != .ok else { return }
        let body = try? await response.body.collect(upTo: 64 * 1024)
        let text = body.map { String(decoding: $0.readableBytesView, as: UTF8.self) } ?? ""
        let message = (try? JSONDecoder().decode(KubeStatus.self, from: Data(text.utf8)))?.message ?? text
        if response.status.code == 410 { throw Failure.gone(message) }
        throw Failure.status(code: Int(response.status.code), message: message.isEmpty ? "\(response.status)" : message)
    }

    /// One page of a list.
    func listPage<T: KubeObject>(
        _ resource: KubeResource, as: T.Type, continueToken: String?
    ) async throws -> KubeList<T> {
        var query = resource.query
        query.append(("limit", String(limits.listPageSize)))
        if let continueToken { query.append(("continue", continueToken)) }
        let req = request(resource.path, query: query, accept: resource.listAccept)
        let response = try await http.execute(req, timeout: .seconds(60))
        try await check(response)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: limits.maxListPageBytes)
        } catch is NIOTooManyBytesError {
            throw Failure.tooLarge("list page of \(resource.kind) exceeds \(limits.maxListPageBytes) bytes")
        }
        return try KubeClient.decodeList(Data(body.readableBytesView), as: T.self, kind: resource.kind)
    }

    /// One list page's body.
    static func decodeList<T: KubeObject>(_ body: Data, as: T.Type, kind: String) throws(Failure) -> KubeList<T> {
        do {
            return try JSONDecoder().decode(KubeList<T>.self, from: body)
        } catch {
            throw Failure.decode("\(kind) list: \(error)")
        }
    }

    /// Opens a watch from `resourceVersion` and calls `onLine` for every complete line (one JSON event each) as
    /// it arrives. Returns when the server ends the stream.
    func watch(
        _ resource: KubeResource, resourceVersion: String, timeoutSeconds: Int,
        onConnected: () -> Void, onLine: (ArraySlice<UInt8>) throws -> Void
    ) async throws {
        var query = resource.query
        query.append(("watch", "1"))
        query.append(("resourceVersion", resourceVersion))
        query.append(("allowWatchBookmarks", "true"))
        query.append(("timeoutSeconds", String(timeoutSeconds)))
        let req = request(resource.path, query: query, accept: resource.watchAccept)
        let response = try await http.execute(req, timeout: .seconds(Int64(timeoutSeconds + 60)))
        try await check(response)
        onConnected()
        var lines = WatchLines(kind: resource.kind, maxLineBytes: limits.maxWatchLineBytes)
        for try await chunk in response.body { try lines.append(chunk.readableBytesView, onLine) }
        try lines.finish(onLine)
    }
}

/// Cuts a watch response into lines (one JSON event each) as its chunks arrive, holding at most one partial line.
/// Blank lines are skipped; a line longer than `maxLineBytes`, whole or not, is refused.
struct WatchLines {
    let kind: String
    let maxLineBytes: Int
    /// The partial line not handed on yet.
    private(set) var pending: [UInt8] = []

    init(kind: String, maxLineBytes: Int) {
        self.kind = kind
        self.maxLineBytes = maxLineBytes
    }

    mutating func append(_ chunk: some Collection<UInt8>, _ onLine: (ArraySlice<UInt8>) throws -> Void) throws {
        var start = pending.count
        pending.append(contentsOf: chunk)
        var lineStart = 0
        while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            try hand(pending[lineStart..<nl], onLine)
            lineStart = nl + 1
            start = lineStart
        }
        if lineStart > 0 { pending.removeFirst(lineStart) }
        if pending.count > maxLineBytes { throw tooLarge }
    }

    /// The stream ended: the last line, if it has no newline.
    mutating func finish(_ onLine: (ArraySlice<UInt8>) throws -> Void) throws {
        defer { pending = [] }
        try hand(pending[...], onLine)
    }

    private func hand(_ line: ArraySlice<UInt8>, _ onLine: (ArraySlice<UInt8>) throws -> Void) throws {
        if line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { return }
        if line.count > maxLineBytes { throw tooLarge }
        try onLine(line)
    }

    private var tooLarge: KubeClient.Failure {
        .tooLarge("a \(kind) watch event exceeds \(maxLineBytes) bytes")
    }
}

/// Bounds on what the Kubernetes source holds and reads.
public struct KubeLimits: Sendable {
    /// Objects kept per kind (pods, replicasets, jobs, services, nodes); more are refused and counted as
    /// `errors_total{reason="cap"}`.
    public var maxObjectsPerKind = 200_000
    public var listPageSize = 500
    public var maxListPageBytes = 64 << 20
    public var maxWatchLineBytes = 8 << 20
    /// Server-side watch timeout; the client re-watches from the last resource version after it.
    public var watchTimeoutSeconds = 300
    /// Reconnect backoff: doubles from `initialBackoff` to `maxBackoff`, each wait drawn uniformly from
    /// [half, full] (jitter).
    public var initialBackoff: Duration = .milliseconds(500)
    public var maxBackoff: Duration = .seconds(30)
    public init() {}
}

/// One watched collection.
struct KubeResource: Sendable {
    var kind: String
    var path: String
    var query: [(String, String)] = []
    /// Ask for PartialObjectMetadata (metadata only: far less memory and traffic for ReplicaSets and Jobs).
    var metadataOnly = false

    var listAccept: String {
        metadataOnly
            ? "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json" : "application/json"
    }
    var watchAccept: String {
        metadataOnly
            ? "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json" : "application/json"
    }
}

struct Backoff {
    let initial: Duration
    let maximum: Duration
    private(set) var current: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    mutating func next() -> Duration {
        let base = current
        current = min(maximum, current * 2)
        let f = Double.random(in: 0.5...1.0)
        return base * f
    }

    mutating func reset() { current = initial }
}
