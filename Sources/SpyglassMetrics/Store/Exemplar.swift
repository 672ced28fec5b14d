/// The latest exemplar of a counter series or histogram bucket (`{traceID="..."}` label set).
struct Exemplar: Sendable, Equatable {
    /// Go's client limits an exemplar's label set to 128 runes in total (names plus values).
    static let maxRunes = 128
    static let labelName = "traceID"

    var traceID: String
    var value: Double
    /// Unix time in nanoseconds.
    var timestampNanos: Int64

    /// nil when the trace ID is empty or the label set would exceed 128 runes (the Go client rejects those).
    init?(traceID: String, value: Double, timestampNanos: Int64) {
        guard !traceID.isEmpty, traceID.unicodeScalars.count + Exemplar.labelName.count <= Exemplar.maxRunes else {
            return nil
        }
        self.traceID = traceID
        self.value = value
        self.timestampNanos = timestampNanos
    }
}
