import Foundation

/// Resident memory (`VmRSS` from `/proc/<pid>/status`) in KiB: of this process by default, of `pid` otherwise; nil
/// when the status file cannot be read (the process has exited) or holds no `VmRSS` line.
public func residentKiB(of pid: pid_t? = nil) -> Int? {
    let path = "/proc/\(pid.map(String.init) ?? "self")/status"
    guard let status = try? String(contentsOfFile: path, encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
}
