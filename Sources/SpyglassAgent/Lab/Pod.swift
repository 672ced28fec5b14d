/// One end of the lab: a network namespace with an `eth0` whose veth peer sits in the root
/// namespace, enslaved to the lab bridge.
public struct Pod: Sendable, Hashable, CustomStringConvertible {
    /// The name given to `addPod` (`client`).
    public let name: String
    /// The network namespace (`<prefix>-client`), usable as `/run/netns/<namespace>`.
    public let namespace: String
    /// The veth end in the root namespace (`<prefix>c0`), where the agent attaches.
    public let hostInterface: String
    /// Its ifindex in the root namespace.
    public let hostIfindex: Int
    /// The interface inside the namespace (`eth0`).
    public let interface: String
    /// Its ifindex inside the namespace.
    public let ifindex: Int
    /// The MAC address of `interface`.
    public let mac: String
    /// IPv4 address without prefix length (`10.199.0.2`), and with it (`10.199.0.2/24`).
    public let ipv4: String
    public let ipv4CIDR: String
    /// IPv6 address without prefix length, when one was given.
    public let ipv6: String?
    public let ipv6CIDR: String?

    public var netnsPath: String { "/run/netns/\(namespace)" }

    public var description: String {
        "\(name) (\(ipv4CIDR), netns \(namespace), host side \(hostInterface)#\(hostIfindex))"
    }
}
