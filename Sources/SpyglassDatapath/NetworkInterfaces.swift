import CSpyglassBPF
import Glibc

/// A network interface of the agent's network namespace.
public struct InterfaceInfo: Sendable, Equatable, Hashable {
    public var index: UInt32
    public var name: String
    /// Driver name from ethtool ("veth", "bridge", ...), empty when unknown.
    public var driver: String

    public var isLoopback: Bool { name == "lo" }
    public var isVeth: Bool { driver == "veth" }
}

/// Lists interfaces and resolves `--interface` patterns (names and shell globs).
public enum NetworkInterfaces {
    public static func list() -> [InterfaceInfo] {
        guard let head = if_nameindex() else { return [] }
        defer { if_freenameindex(head) }
        var out: [InterfaceInfo] = []
        var p = head
        while p.pointee.if_index != 0, let cname = p.pointee.if_name {
            let name = String(cString: cname)
            out.append(InterfaceInfo(index: p.pointee.if_index, name: name, driver: driver(of: name)))
            p = p.advanced(by: 1)
        }
        return out
    }

    public static func driver(of name: String) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        return spy_iface_driver(name, &buf, buf.count) == 0 ? stringFromCBuffer(buf) : ""
    }

    public static func index(of name: String) -> UInt32? {
        let i = if_nametoindex(name)
        return i == 0 ? nil : i
    }

    /// Interfaces matching `patterns`; with no patterns every non-loopback interface.
    public static func select(_ patterns: [String], from all: [InterfaceInfo]) -> [InterfaceInfo] {
        if patterns.isEmpty { return all.filter { !$0.isLoopback } }
        return all.filter { info in patterns.contains { matches(pattern: $0, name: info.name) } }
    }

    /// Literal names (no glob characters) that name no existing interface: a start-up error.
    public static func missingLiterals(_ patterns: [String], in all: [InterfaceInfo]) -> [String] {
        patterns.filter { pattern in !isGlob(pattern) && !all.contains(where: { $0.name == pattern }) }
    }

    public static func isGlob(_ pattern: String) -> Bool {
        pattern.contains(where: { "*?[".contains($0) })
    }

    public static func matches(pattern: String, name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
