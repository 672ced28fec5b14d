/// A configuration error naming the flag (static exporter, e.g. `--hubble-export-allowlist: …`) or the place in
/// the dynamic config file (e.g. `flowLogs[1] "audit": filePath: …`).
public struct ExportConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: String
    public var message: String
    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}
