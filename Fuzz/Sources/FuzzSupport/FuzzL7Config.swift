import SpyglassFlow

public enum FuzzL7Config {
    /// Small tables and buffers, so eviction, budget and oversize paths are reached by short inputs.
    public static let small = L7Config(
        dnsPorts: [53], httpPorts: [80, 8080], redactURLQuery: true,
        limits: L7Limits(
            maxPendingDNSQueries: 4, maxDNSTCPStreams: 2, maxDNSTCPMessageBytes: 512, maxHTTPConnections: 2,
            maxPendingRequestsPerConnection: 3, maxPendingHTTPRequests: 4, maxHTTPHeaderBytes: 1024,
            maxHTTPHeaderCount: 16, maxReassemblyBytes: 2048, maxNameEntries: 8, maxNamesPerIP: 2))
}
