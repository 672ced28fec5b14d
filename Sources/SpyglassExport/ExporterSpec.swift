import SpyglassFlow

/// A validated exporter: what the static flags or one dynamic flow log resolve to.
struct ExporterSpec: Sendable {
    /// The `exporter` label of Spyglass's self-metrics: `static`, or `dynamic:<name>`.
    var label: String
    var filePath: String
    var maxSizeMB: Int
    /// Overrides `maxSizeMB` (tests use byte-sized limits).
    var maxSizeBytes: Int? = nil
    var maxBackups: Int
    var compress: Bool
    var filters: FlowFilterSet
    var mask: FieldMask?
    /// Aggregation is active when this is set (non-empty paths and an interval > 0).
    var aggregate: FieldMask?
    var aggregationInterval: Duration
    /// After this time the exporter stays configured but writes nothing (dynamic flow logs).
    var end: Timestamp?
    var fileMode: UInt32
    var queueCapacity: Int

    /// Whether a FlowFilter reads `uuid` (then the UUID is put on the flow before filtering).
    var filtersUseUUID: Bool {
        (filters.allow + filters.deny).contains { !$0.filter.uuid.isEmpty }
    }
}
