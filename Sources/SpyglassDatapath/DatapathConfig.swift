import CSpyglassBPF

/// Monitor aggregation level (Cilium's `--monitor-aggregation`). Cilium accepts more level names; `lowest`, `low`
/// and `maximum` map to the nearest level Spyglass implements (see README).
public enum AggregationLevel: String, Sendable, CaseIterable {
    case none
    case medium

    /// Parses Cilium's accepted spellings: ""/none/disabled/0, lowest/1, low/2, medium/3, max/maximum/4.
    public init?(cilium text: String) {
        switch text.lowercased() {
        case "", "none", "disabled", "0": self = .none
        case "lowest", "low", "medium", "max", "maximum", "1", "2", "3", "4": self = .medium
        default: return nil
        }
    }
}

/// Kernel-side settings, written into the BPF object's read-only data before load.
public struct DatapathConfig: Sendable, Equatable {
    public var aggregation: AggregationLevel = .medium
    /// `--monitor-aggregation-interval`.
    public var aggregationIntervalNs: UInt64 = 5_000_000_000
    /// TCP flags whose first appearance in a direction triggers a report (`--monitor-aggregation-flags`).
    public var reportFlags: UInt8 = 0xff
    /// Bytes of each frame copied into an event.
    public var snapLength: UInt32 = 128
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    public var ringBufferBytes: UInt32 = 8 << 20
    /// The reader is woken once this many bytes are queued (and on every poll timeout).
    public var wakeupBytes: UInt64 = 64 << 10
    /// A wakeup threshold at or beyond the ring's size would never fire (the reader would drain only on its poll
    /// timeout); a quarter of the ring keeps the batching and leaves room while the reader wakes up.
    public var effectiveWakeupBytes: UInt64 { min(wakeupBytes, UInt64(ringBufferBytes) / 4) }
    /// Connection state entries (LRU).
    public var connectionTableSize: UInt32 = 65536
    /// Bytes copied of packets that carry DNS or HTTP (always reported, whatever the aggregation).
    public var l7SnapLength: UInt32 = 1024
    /// Ports whose TCP/UDP payload is DNS (`--dns-port`) or HTTP (`--http-port`).
    public var dnsPorts: [UInt16] = [53]
    public var httpPorts: [UInt16] = [80, 8080, 8000, 3000, 5000]
    /// Also report TCP payloads that start like an HTTP request or status line on any port.
    public var httpDetect = true

    public init() {}

    /// Checks ranges; the message names the offending flag.
    public func validate() throws {
        if snapLength < UInt32(SPY_MIN_SNAP_LEN) || snapLength > UInt32(SPY_MAX_SNAP_LEN) {
            throw DatapathError.invalidConfig(
                "--snap-length: \(snapLength) is out of range (\(SPY_MIN_SNAP_LEN)...\(SPY_MAX_SNAP_LEN) bytes)")
        }
        if l7SnapLength < 256 || l7SnapLength > UInt32(SPY_MAX_SNAP_LEN) {
            throw DatapathError.invalidConfig(
                "--l7-snap-length: \(l7SnapLength) is out of range (256...\(SPY_MAX_SNAP_LEN) bytes)")
        }
        if let p = dnsPorts.first(where: { $0 == 0 }) ?? httpPorts.first(where: { $0 == 0 }) {
            throw DatapathError.invalidConfig("--dns-port/--http-port: port \(p) is not a valid port")
        }
        let page: UInt32 = 4096
        if ringBufferBytes < page || ringBufferBytes & (ringBufferBytes - 1) != 0 {
            throw DatapathError.invalidConfig(
                "--ring-buffer-size-mb: the ring buffer must be a power of two of at least 4 KiB (got \(ringBufferBytes) bytes)"
            )
        }
        if aggregationIntervalNs == 0 {
            throw DatapathError.invalidConfig("--monitor-aggregation-interval: must be greater than zero")
        }
        if connectionTableSize < 64 {
            throw DatapathError.invalidConfig(
                "--connection-table-size: at least 64 entries (got \(connectionTableSize))")
        }
    }
}

/// Parses `--monitor-aggregation-flags` (Cilium: `all`, `none` or a comma list of fin syn rst psh ack urg ece cwr).
public func parseAggregationFlags(_ text: String) -> UInt8? {
    let items = text.lowercased().split(whereSeparator: { $0 == "," || $0 == " " })
    var mask: UInt8 = 0
    for item in items {
        switch item {
        case "all": mask |= 0xff
        case "none": break
        case "fin": mask |= 0x01
        case "syn": mask |= 0x02
        case "rst": mask |= 0x04
        case "psh": mask |= 0x08
        case "ack": mask |= 0x10
        case "urg": mask |= 0x20
        case "ece": mask |= 0x40
        case "cwr": mask |= 0x80
        default: return nil
        }
    }
    return mask
}
