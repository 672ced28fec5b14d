import CSpyglassBPF
import Glibc
import SpyglassSupport

/// What a network interface is to the node, which decides whether Spyglass hooks it, which observation points
/// its hooks report, and where a packet is reported once (README "Interface roles").
public enum InterfaceRole: String, Sendable, CaseIterable {
    /// The host side of a pod's veth (routed or enslaved to a bridge): `from-endpoint` / `to-endpoint`.
    case endpoint
    /// The node's uplink (`--devices`, or auto-detected): `from-network` / `to-network`.
    case device
    /// A VXLAN or Geneve tunnel: the pod-to-pod packets inside it, `from-overlay` / `to-overlay`.
    case overlay
    /// A Linux bridge (`cni0`, `docker0`): not hooked, its ports are (as endpoints).
    case bridge
    case loopback
    /// Anything else (dummy, tun, bond ports, L3 tunnels, interfaces without a global address): not hooked.
    case other

    /// Hooked without `--interface`.
    public var watchedByDefault: Bool { self == .endpoint || self == .device || self == .overlay }

    /// (ingress, egress) observation points of the hooks.
    public var observationPoints: (ingress: UInt8, egress: UInt8) {
        switch self {
        case .endpoint: (UInt8(SPY_OBS_FROM_ENDPOINT), UInt8(SPY_OBS_TO_ENDPOINT))
        case .overlay: (UInt8(SPY_OBS_FROM_OVERLAY), UInt8(SPY_OBS_TO_OVERLAY))
        // A bridge or other interface named with --interface faces the network, as a device.
        case .device, .bridge, .loopback, .other: (UInt8(SPY_OBS_FROM_NETWORK), UInt8(SPY_OBS_TO_NETWORK))
        }
    }
}

/// What the tc hooks of one watched interface are told (`spy_iface_config`).
public struct InterfaceSetting: Sendable, Equatable {
    public var role: InterfaceRole
    /// `SPY_IFACE_F_*`
    public var flags: UInt8 = 0
    /// On a device: the UDP port of a watched tunnel whose encapsulated packets are not reported here.
    public var tunnelPort: UInt16 = 0
    public init(role: InterfaceRole, flags: UInt8 = 0, tunnelPort: UInt16 = 0) {
        self.role = role
        self.flags = flags
        self.tunnelPort = tunnelPort
    }
}

/// Cilium's `--devices` syntax: interface names, and a trailing `+` as a prefix wildcard (`eth+`).
public struct DevicePatterns: Sendable, Equatable {
    public let patterns: [String]
    public init(_ patterns: [String]) { self.patterns = patterns }
    public var isEmpty: Bool { patterns.isEmpty }

    public func matches(_ name: String) -> Bool {
        patterns.contains { p in p.hasSuffix("+") ? name.hasPrefix(p.dropLast()) : name == p }
    }

    /// Why a pattern can never name an interface (for the flag's error), or nil.
    public static func problem(with pattern: String) -> String? {
        let stem = pattern.hasSuffix("+") ? String(pattern.dropLast()) : pattern
        if stem.isEmpty && !pattern.isEmpty { return nil }  // "+": every interface, as Cilium
        if pattern.isEmpty { return "empty device name" }
        if stem.count > 15 { return "'\(pattern)' is longer than an interface name (15 characters)" }
        if stem.contains(where: { $0 == "/" || $0 == " " || $0 == "+" || $0 == "," }) {
            return "'\(pattern)' is not an interface name (a trailing '+' is the only wildcard)"
        }
        return nil
    }
}

/// The node's addresses and default routes, read over rtnetlink.
public struct NodeNetwork: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public var ifindex: UInt32
        public var isIPv4: Bool
        public var isGlobal: Bool
        public var prefixLength: UInt8
        /// 16 bytes, IPv4 in the first 4 (the layout of events and `spy_host_addrs`).
        public var bytes: [UInt8]
    }
    public var addresses: [Address] = []
    public var defaultRouteIfindexes: Set<UInt32> = []
    /// VXLAN/Geneve interfaces → their UDP port.
    public var tunnelPorts: [UInt32: UInt16] = [:]

    public init(addresses: [Address] = [], defaultRouteIfindexes: Set<UInt32> = [], tunnelPorts: [UInt32: UInt16] = [:])
    {
        self.addresses = addresses
        self.defaultRouteIfindexes = defaultRouteIfindexes
        self.tunnelPorts = tunnelPorts
    }

    /// Reads the current network namespace; throws with the errno when rtnetlink refuses.
    public static func read() throws -> NodeNetwork {
        var raw = [spy_rtnl_addr](repeating: spy_rtnl_addr(), count: 4096)
        let n = spy_rtnl_addresses(&raw, Int32(raw.count))
        if n < 0 {
            throw DatapathError.invalidConfig(
                "reading interface addresses over rtnetlink: \(Errno.describe(-n))")
        }
        var routes = [UInt32](repeating: 0, count: 256)
        let r = spy_rtnl_default_route_ifindexes(&routes, Int32(routes.count))
        if r < 0 {
            throw DatapathError.invalidConfig("reading default routes over rtnetlink: \(Errno.describe(-r))")
        }
        var tunnels = [spy_rtnl_tunnel](repeating: spy_rtnl_tunnel(), count: 256)
        let t = spy_rtnl_tunnels(&tunnels, Int32(tunnels.count))
        if t < 0 {
            throw DatapathError.invalidConfig(
                "reading tunnel interfaces over rtnetlink: \(Errno.describe(-t))")
        }
        let addresses = raw.prefix(Int(n)).map { a in
            Address(
                ifindex: a.ifindex, isIPv4: a.family == UInt8(AF_INET), isGlobal: a.scope == 0,
                prefixLength: a.prefixlen, bytes: withUnsafeBytes(of: a.addr) { Array($0) })
        }
        return NodeNetwork(
            addresses: addresses, defaultRouteIfindexes: Set(routes.prefix(Int(r))),
            tunnelPorts: Dictionary(
                tunnels.prefix(Int(t)).map { ($0.ifindex, $0.port) }, uniquingKeysWith: { a, _ in a }))
    }

    public func hasGlobalAddress(_ ifindex: UInt32) -> Bool {
        addresses.contains { $0.ifindex == ifindex && $0.isGlobal }
    }

    /// Every address of the node plus the IPv4 subnet broadcasts: packets to them are delivered to the node.
    public var hostAddresses: Set<[UInt8]> {
        var out = Set(addresses.map(\.bytes))
        for a in addresses where a.isIPv4 && a.prefixLength < 31 {
            let v = UInt32(a.bytes[0]) << 24 | UInt32(a.bytes[1]) << 16 | UInt32(a.bytes[2]) << 8 | UInt32(a.bytes[3])
            let b = v | (UInt32.max >> UInt32(a.prefixLength))
            out.insert(
                [UInt8(b >> 24), UInt8(b >> 16 & 0xff), UInt8(b >> 8 & 0xff), UInt8(b & 0xff)]
                    + [UInt8](repeating: 0, count: 12))
        }
        return out
    }
}

public enum InterfaceRoles {
    /// The role of `iface`. With `devices` given, exactly the interfaces it names are devices (whatever their
    /// driver, veths included); without, a device is an interface that carries a default route, or a non-veth that
    /// holds a global address (as Cilium's auto-detection). Bridges and tunnels are never auto-detected as devices:
    /// they hold addresses (`cni0` the pod gateway, `flannel.1` its VTEP) but the node's traffic leaves elsewhere.
    public static func role(of iface: InterfaceInfo, devices: DevicePatterns, network: NodeNetwork) -> InterfaceRole {
        if iface.isLoopback { return .loopback }
        if devices.matches(iface.name) { return .device }
        if network.tunnelPorts[iface.index] != nil { return .overlay }
        switch iface.driver {
        case "bridge": return .bridge
        case "vxlan", "geneve": return .overlay
        default: break
        }
        if devices.isEmpty && network.defaultRouteIfindexes.contains(iface.index) { return .device }
        if iface.isVeth { return .endpoint }
        if devices.isEmpty && network.hasGlobalAddress(iface.index) { return .device }
        return .other
    }

    /// `spy_iface_config.flags` for a watched interface: at monitor aggregation low and up, a packet entering it
    /// is not reported there when the point where it leaves the node's datapath is watched — every endpoint,
    /// device and tunnel of the node is watched, and (for an endpoint, whose packets may leave the node) at least
    /// one device. Packets addressed to the node itself are kept by the kernel (`spy_host_addrs`).
    public static func flags(
        for role: InterfaceRole, aggregation: AggregationLevel, allSendingPointsWatched: Bool, deviceWatched: Bool
    ) -> UInt8 {
        guard aggregation != .none, allSendingPointsWatched else { return 0 }
        switch role {
        case .endpoint: return deviceWatched ? UInt8(SPY_IFACE_F_SUPPRESS_INGRESS) : 0
        case .device, .overlay: return UInt8(SPY_IFACE_F_SUPPRESS_INGRESS)
        case .bridge, .loopback, .other: return 0
        }
    }
}
