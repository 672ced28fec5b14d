import SpyglassFlow
import Testing

@testable import SpyglassMetrics

/// The engine formats a labelsContext once per flow and reuses the bytes for the other handlers with the same
/// labelsContext and perspective: every family must hold exactly what it holds when its handler runs alone.
@Suite struct SharedContextTests {
    static let labels7 =
        "source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"

    func series(_ spec: String) throws -> [String: [String]] {
        let (config, _) = try MetricsConfig.parse(spec)
        let engine = MetricsEngine(config: config)
        for _ in 0..<2 { for f in Fixtures.all { engine.process(f) } }
        var out: [String: [String]] = [:]
        for family in engine.slot.load().families {
            out[family.name] = family.snapshot().map { "\($0.labels.joined(separator: "|")) = \($0.value)" }.sorted()
        }
        return out
    }

    func check(_ handlers: [String]) throws {
        let together = try series(handlers.joined(separator: " "))
        var alone: [String: [String]] = [:]
        for h in handlers { alone.merge(try series(h)) { a, _ in a } }
        #expect(together == alone)
        #expect(together.values.contains { !$0.isEmpty })
    }

    @Test func sharedLabelsContextMatchesHandlersAlone() throws {
        let names = ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2", "policy", "flows-to-world"]
        try check(names.map { "\($0):labelsContext=\(Self.labels7)" })
    }

    @Test func mixedContextsAndInvertedPerspective() throws {
        try check([
            "flow:labelsContext=source_ip,destination_pod,traffic_direction",
            "httpV2:labelsContext=source_ip,destination_pod,traffic_direction;sourceContext=pod;destinationContext=ip",
            "dns:query;labelsContext=source_app,destination_app;sourceContext=namespace",
            "drop:labelsContext=source_ip,destination_pod,traffic_direction",
            "tcp:labelsContext=source_app,destination_app;destinationContext=workload",
            "port-distribution:labelsContext=source_ip,destination_pod",
            "icmp"
        ])
        try check([
            "http:labelsContext=\(Self.labels7)",
            "flow:labelsContext=\(Self.labels7)",
            "dns:labelsContext=\(Self.labels7)"
        ])
    }
}
