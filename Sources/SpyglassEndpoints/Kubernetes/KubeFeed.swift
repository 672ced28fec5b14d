import Foundation
import Logging
import SpyglassFlow

/// The Kubernetes source fed from bytes instead of an API server, for the fuzz target `FuzzKubeWatch`: list bodies
/// and watch streams go through the agent's own decoding (`KubeClient.decodeList`, `WatchLines`,
/// `Reflector.handle`), the source's state updates and the endpoint store's rebuild. Not API.
@_spi(Fuzzing) public final class KubeFeed: Sendable {
    public static let kinds = KubernetesSource.kinds

    /// One client for every feed (it never connects; the source only reads its limits).
    private static let client = try! KubeClient(
        credentials: KubeCredentials(server: "http://127.0.0.1:9"),
        limits: {
            var l = KubeLimits()
            l.maxObjectsPerKind = 16
            l.maxWatchLineBytes = 2048
            return l
        }())

    private let source: KubernetesSource
    private let store: EndpointStore
    private let reflectors: [any AnyReflector]
    public let resolver: EndpointResolver

    public init() {
        store = EndpointStore(world: WorldEndpoints(splitByFamily: false), grace: .zero, coalesce: .zero)
        store.stop()  // no background rebuilds: `rebuild()` does it here
        let k = KubernetesSource(
            client: KubeFeed.client, store: store, clusterName: "fuzz",
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        source = k
        store.register(.pods) { k.podInfos }
        store.register(.remoteNode) { k.nodeInfos }
        store.register(.apiServer) { k.apiServerInfos }
        store.register(.services) { k.serviceInfos }
        reflectors = k.reflectors()
        resolver = store.resolver
    }

    /// The store's providers hold the source, which holds the store: unregistering breaks that cycle.
    deinit {
        for rank in [EndpointSourceRank.pods, .remoteNode, .apiServer, .services] { store.unregister(rank) }
    }

    public var maxObjectsPerKind: Int { KubeFeed.client.limits.maxObjectsPerKind }
    public var maxWatchLineBytes: Int { KubeFeed.client.limits.maxWatchLineBytes }

    /// A list response body for collection `kind` (index into `kinds`). Returns the error the agent would log.
    public func list(_ kind: Int, body: [UInt8]) -> String? {
        do {
            try reflectors[kind].replace(listBody: Data(body))
            return nil
        } catch { return "\(error)" }
    }

    /// A watch response for collection `kind` arriving in `chunks`, line by line until the first error (which ends
    /// the watch in the agent too). Returns the lines handed on (events or not), the most bytes held back as a
    /// partial line between chunks, and that error.
    public func watch(_ kind: Int, chunks: [ArraySlice<UInt8>]) -> (
        lines: [ArraySlice<UInt8>], maxPending: Int, error: String?
    ) {
        let r = reflectors[kind]
        let decoder = JSONDecoder()
        var version = ""
        var seen: [ArraySlice<UInt8>] = []
        var lines = WatchLines(kind: r.resource.kind, maxLineBytes: maxWatchLineBytes)
        var maxPending = 0
        do {
            for c in chunks {
                try lines.append(c) { line in
                    seen.append(line)
                    try r.handle(line: line, decoder: decoder, version: &version)
                }
                maxPending = max(maxPending, lines.pending.count)
            }
            try lines.finish { line in
                seen.append(line)
                try r.handle(line: line, decoder: decoder, version: &version)
            }
        } catch { return (seen, maxPending, "\(error)") }
        return (seen, maxPending, nil)
    }

    /// Objects held per kind (what `hubble_endpoints_objects` reports).
    public func objects(_ kind: Int) -> Int { source.status.objects(KubeFeed.kinds[kind]) }

    public var podInfos: [EndpointInfo] { source.podInfos }
    public var serviceInfos: [EndpointInfo] { source.serviceInfos }
    public var nodeAddresses: [String: [IPAddress]] { source.nodeAddresses }

    /// Builds the resolver's snapshot from what the source holds now, as the agent's store does after a change.
    public func rebuild() { store.rebuildNow() }
}
