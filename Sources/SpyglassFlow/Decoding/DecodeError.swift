/// Why a ring-buffer record could not be decoded. Each case has a stable, short `reason` used as the label value of
/// `spyglass_decode_errors_total{reason}`; the associated values are for logs only.
public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The record is shorter than the part that must be read next (the 8-byte header, then the 96-byte fixed part).
    case short(length: Int)
    /// `hdr.version` is not `SPY_EVENT_VERSION`.
    case version(UInt16)
    /// `hdr.header_len` is below `sizeof(struct spy_packet_event)` or beyond the end of the record.
    case headerLen(UInt16, recordLength: Int)
    /// `hdr.header_len + hdr.snap_len` is beyond the end of the record.
    case snapLen(UInt16, available: Int)
    /// `hdr.kind` is not a known `enum spy_event_kind`.
    case kind(UInt16)
    /// `ip_version` is not 0, 4 or 6.
    case ipVersion(UInt8)

    /// Stable metric label value.
    public var reason: String {
        switch self {
        case .short: "short"
        case .version: "version"
        case .headerLen: "header_len"
        case .snapLen: "snap_len"
        case .kind: "kind"
        case .ipVersion: "ip_version"
        }
    }

    /// Every `reason` value, so a metric can pre-register its series at zero.
    public static let allReasons: [String] = ["short", "version", "header_len", "snap_len", "kind", "ip_version"]

    public var description: String {
        switch self {
        case .short(let n): "event record too short (\(n) bytes)"
        case .version(let v): "unsupported event version \(v)"
        case .headerLen(let h, let n): "bad header_len \(h) for a \(n)-byte record"
        case .snapLen(let s, let a): "snap_len \(s) exceeds the \(a) bytes after the fixed part"
        case .kind(let k): "unknown event kind \(k)"
        case .ipVersion(let v): "bad ip_version \(v)"
        }
    }
}
