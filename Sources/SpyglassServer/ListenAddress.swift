import NIOCore

/// A listen address in the syntax of Hubble's `--hubble-metrics-server` flag (Go's `host:port`):
/// `:9965` (all interfaces), `127.0.0.1:9965`, `[::1]:9965`, `localhost:9965`, `0.0.0.0:0`.
/// Port 0 asks the kernel for an ephemeral port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Host: Sendable, Hashable {
        /// Empty host: every interface (IPv6 dual-stack `::` when available, else `0.0.0.0`).
        case any
        case ipv4(String)
        /// Without brackets; may carry a zone (`fe80::1%eth0`).
        case ipv6(String)
        /// A name resolved when binding (first address returned by the resolver).
        case name(String)
    }

    public var host: Host
    public var port: Int

    public init(host: Host, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses a `--hubble-metrics-server` value. Throws `MetricsServerError` (kind `.invalidAddress`)
    /// whose message names the flag and the offending value.
    public init(parsing value: String) throws(MetricsServerError) {
        let example = "expected [host]:port, e.g. \":9965\" or \"127.0.0.1:9965\""
        func fail(_ reason: String) -> MetricsServerError { .invalidAddress(value, reason) }

        guard !value.isEmpty else { throw fail("empty address; \(example)") }
        guard !value.contains(where: { $0.isWhitespace }) else { throw fail("contains white space") }

        let hostPart: Substring
        let portPart: Substring
        var bracketed = false
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { throw fail("missing \"]\" in address") }
            hostPart = value[value.index(after: value.startIndex)..<close]
            let rest = value[value.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw fail(rest.isEmpty ? "missing port; \(example)" : "unexpected \"\(rest)\" after \"]\"")
            }
            portPart = rest.dropFirst()
            bracketed = true
        } else {
            guard let colon = value.lastIndex(of: ":") else { throw fail("missing port; \(example)") }
            hostPart = value[..<colon]
            portPart = value[value.index(after: colon)...]
            if hostPart.contains(":") {
                throw fail("too many colons; IPv6 addresses must be in brackets, e.g. \"[::1]:9965\"")
            }
            if hostPart.contains("[") || hostPart.contains("]") { throw fail("unexpected bracket in host") }
        }

        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portPart), port <= 65535
        else {
            throw fail("port \"\(portPart)\" is not a number from 0 to 65535")
        }

        let host = String(hostPart)
        if bracketed {
            guard Self.isIPv6(host) else { throw fail("\"\(host)\" is not an IPv6 address") }
            self.init(host: .ipv6(host), port: port)
        } else if host.isEmpty {
            self.init(host: .any, port: port)
        } else if Self.isIPv4(host) {
            self.init(host: .ipv4(host), port: port)
        } else if Self.isHostName(host) {
            self.init(host: .name(host), port: port)
        } else {
            throw fail("\"\(host)\" is neither an IPv4 address, a bracketed IPv6 address nor a host name")
        }
    }

    public var description: String {
        switch host {
        case .any: ":\(port)"
        case .ipv4(let a), .name(let a): "\(a):\(port)"
        case .ipv6(let a): "[\(a)]:\(port)"
        }
    }

    static func isIPv4(_ s: String) -> Bool {
        (try? SocketAddress(ipAddress: s, port: 0)).map { if case .v4 = $0 { true } else { false } } ?? false
    }

    static func isIPv6(_ s: String) -> Bool {
        // A zone (`%eth0`) is accepted when the address part is valid and the zone looks like an interface name.
        let parts = s.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let zone = parts[1]
            guard !zone.isEmpty, zone.count <= 15,
                zone.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) })
            else { return false }
        }
        guard let address = try? SocketAddress(ipAddress: String(parts[0]), port: 0) else { return false }
        if case .v6 = address { return true }
        return false
    }

    /// RFC 1123 host names; an all-numeric dotted string is a (bad) IPv4 address, not a name.
    static func isHostName(_ s: String) -> Bool {
        guard s.utf8.count <= 253 else { return false }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-"),
                label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            else { return false }
        }
        return !labels.allSatisfy { $0.allSatisfy(\.isNumber) }
    }
}
