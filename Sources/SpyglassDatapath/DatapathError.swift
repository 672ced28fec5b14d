import CSpyglassBPF
import Glibc
import SpyglassSupport

/// Errors of the kernel side, each a one-line message that names the cause.
public enum DatapathError: Error, CustomStringConvertible, Equatable {
    case notRoot
    /// The effective capability set lacks these (checked before any eBPF call; see `Privileges`).
    case missingCapabilities([CapabilityRequirement])
    case kernelFeature(String)
    case noSuchInterface(String)
    /// Another running Spyglass agent holds the hook on this interface (the first agent keeps it).
    case watchedByAnotherAgent(String)
    case libbpf(operation: String, errno: Int32, detail: String)
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .notRoot:
            return "spyglass needs root (or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON) to load eBPF programs"
        case .missingCapabilities(let lacking):
            let list = lacking.map(\.description).joined(separator: ", ")
            return
                "spyglass needs root or these capabilities, which it lacks: \(list). Grant them (systemd AmbientCapabilities=, Kubernetes securityContext.capabilities.add)"
        case .kernelFeature(let what):
            return "the running kernel lacks a feature spyglass needs: \(what)"
        case .noSuchInterface(let name):
            return "--interface: no network interface named '\(name)'"
        case .watchedByAnotherAgent(let name):
            return "--interface: \(name) is already watched by another running Spyglass agent (stop it first)"
        case .libbpf(let op, let errno, let detail):
            let reason = Errno.describe(errno)
            return detail.isEmpty ? "\(op) failed: \(reason)" : "\(op) failed: \(reason) (\(detail))"
        case .invalidConfig(let message):
            return message
        }
    }
}

/// Turns a libbpf negative-errno return into a DatapathError with libbpf's own last log line.
func libbpfError(_ operation: String, _ code: Int32) -> DatapathError {
    let errno = code < 0 ? -code : code
    var buf = [CChar](repeating: 0, count: 512)
    spy_libbpf_last_log(&buf, buf.count)
    let detail = stringFromCBuffer(buf)
    // With CAP_BPF held, EACCES is the verifier rejecting a program, not a missing privilege.
    if errno == EPERM || errno == EACCES, !(CapabilitySet.effective()?.contains(.bpf) ?? false) { return .notRoot }
    return .libbpf(operation: operation, errno: errno, detail: detail)
}

/// A NUL-terminated C buffer as a Swift string.
func stringFromCBuffer(_ buf: [CChar]) -> String {
    let bytes = buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
