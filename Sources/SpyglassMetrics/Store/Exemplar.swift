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
        let budget = Exemplar.maxRunes - Exemplar.labelName.count
        // UTF-8 length bounds the rune count from above, so the common 32-hex-digit ID needs no scalar walk.
        guard !traceID.isEmpty, traceID.utf8.count <= budget || traceID.unicodeScalars.count <= budget else {
            return nil
        }
        self.traceID = traceID
        self.value = value
        self.timestampNanos = timestampNanos
    }
}
