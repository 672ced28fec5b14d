import SpyglassFlow

public enum FuzzL7Config {
    /// Small tables and buffers, so eviction, budget and oversize paths are reached by short inputs.
    public static let small = L7Config(
        dnsPorts: [53], httpPorts: [80, 8080], httpDetect: true, redactURLQuery: true,
        limits: L7Limits(
            maxPendingDNSQueries: 4, maxDNSTCPStreams: 2, maxDNSTCPMessageBytes: 512, maxHTTPConnections: 2,
            maxPendingRequestsPerConnection: 3, maxPendingHTTPRequests: 4, maxHTTPHeaderBytes: 1024,
            maxHTTPHeaderCount: 16, maxReassemblyBytes: 2048, maxNameEntries: 8, maxNamesPerIP: 2,
            // Byte budgets a few entries fill: pending HTTP and names 1.5 KiB each, DNS queries 384 B, claims 128 B.
            memoryLimit: 4096))
}
