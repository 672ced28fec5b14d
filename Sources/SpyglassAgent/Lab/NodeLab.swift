/// A node-shaped lab: two "node" namespaces joined by an uplink veth (`eth0` in each, 10.230.0.1 and .2, each the
/// other's default gateway), pods in their own namespaces behind each node, wired the way a CNI would:
/// - `routed`: Calico-like, the pod's /32 routed to its host veth, proxy ARP answering the pod's gateway;
/// - `bridge`: flannel/kind/docker-like, host veths enslaved to `cni0` (the pods' gateway, 10.231.N.1/24);
/// - `vxlan`: routed pods, pod subnets reached through a VXLAN tunnel `vx0` over the uplink (flannel-like).
/// Node N's pods are 10.231.N.x. The agent runs inside a node namespace, as it would on a real node. Everything
/// lives in the lab's namespaces and goes away with them (`NetworkLab.teardown`).
public final class NodeLab: Sendable {
    public enum Networking: String, Sendable, CaseIterable {
        case routed, bridge, vxlan
    }

    public struct NodePod: Sendable {
        public let name: String
        public let namespace: String
        public let node: Int
        public let ipv4: String
        /// The pod's veth in the node namespace.
        public let hostInterface: String
    }

    public let lab: NetworkLab
    public let networking: Networking
    /// Namespaces of node 1 and node 2.
    public let nodes: [String]
    public static let vxlanPort = 4789

    public init(lab: NetworkLab, networking: Networking) throws(LabError) {
        self.lab = lab
        self.networking = networking
        nodes = [try lab.addNamespace("n1"), try lab.addNamespace("n2")]
        try lab.ip(
            ["link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nodes[1]], namespace: nodes[0])
        for (i, ns) in nodes.enumerated() {
            try sysctl(ns, "net.ipv4.ip_forward=1")
            try lab.ip(["addr", "add", "10.230.0.\(i + 1)/24", "dev", "eth0"], namespace: ns)
            try lab.ip(["link", "set", "eth0", "up"], namespace: ns)
            try lab.ip(["route", "add", "default", "via", "10.230.0.\(2 - i)"], namespace: ns)
            switch networking {
            case .routed: break
            case .bridge:
                try lab.ip(["link", "add", "cni0", "type", "bridge"], namespace: ns)
                try lab.ip(["addr", "add", "10.231.\(i + 1).1/24", "dev", "cni0"], namespace: ns)
                try lab.ip(["link", "set", "cni0", "up"], namespace: ns)
            case .vxlan:
                try lab.ip(
                    [
                        "link", "add", "vx0", "type", "vxlan", "id", "42", "local", "10.230.0.\(i + 1)",
                        "remote", "10.230.0.\(2 - i)", "dstport", "\(Self.vxlanPort)", "dev", "eth0"
                    ], namespace: ns)
                try lab.ip(["addr", "add", "10.231.\(i + 1).0/32", "dev", "vx0"], namespace: ns)
                try lab.ip(["link", "set", "vx0", "up"], namespace: ns)
                let other = "10.231.\(2 - i).0"
                try lab.ip(
                    ["route", "add", "10.231.\(2 - i).0/24", "via", other, "dev", "vx0", "onlink"], namespace: ns)
            }
        }
    }

    /// The node's uplink address (node 1 or 2).
    public func nodeAddress(_ node: Int) -> String { "10.230.0.\(node)" }

    /// Adds a pod `name` (up to 8 characters of a-z0-9) on `node` (1 or 2) with address 10.231.node.host.
    public func addPod(_ name: String, node: Int, host: Int) throws(LabError) -> NodePod {
        let nodeNS = nodes[node - 1]
        let ns = try lab.addNamespace(name)
        let ip = "10.231.\(node).\(host)"
        let hostIf = (networking == .bridge ? "veth" : "lxc") + name
        try NetworkLab.validateInterfaceName(hostIf)
        try lab.ip(["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns], namespace: nodeNS)
        // The VXLAN tunnel costs 50 bytes of the uplink's 1500.
        let mtu = networking == .vxlan ? "1400" : "1500"
        for (n, ifname) in [(nodeNS, hostIf), (ns, "eth0")] {
            try lab.ip(["link", "set", ifname, "mtu", mtu], namespace: n)
        }
        switch networking {
        case .bridge:
            try lab.ip(["link", "set", hostIf, "master", "cni0", "up"], namespace: nodeNS)
            try lab.ip(["addr", "add", "\(ip)/24", "dev", "eth0"], namespace: ns)
            try lab.ip(["link", "set", "eth0", "up"], namespace: ns)
            try lab.ip(["route", "add", "default", "via", "10.231.\(node).1"], namespace: ns)
        case .routed, .vxlan:
            try sysctl(nodeNS, "net.ipv4.conf.\(hostIf).proxy_arp=1")
            try lab.ip(["link", "set", hostIf, "up"], namespace: nodeNS)
            try lab.ip(["route", "add", "\(ip)/32", "dev", hostIf], namespace: nodeNS)
            try lab.ip(["addr", "add", "\(ip)/32", "dev", "eth0"], namespace: ns)
            try lab.ip(["link", "set", "eth0", "up"], namespace: ns)
            try lab.ip(["route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"], namespace: ns)
            try lab.ip(["route", "add", "default", "via", "169.254.1.1", "dev", "eth0"], namespace: ns)
        }
        return NodePod(name: name, namespace: ns, node: node, ipv4: ip, hostInterface: hostIf)
    }

    private func sysctl(_ ns: String, _ setting: String) throws(LabError) {
        let r = try lab.run(inNamespace: ns, ["sysctl", "-q", "-w", setting])
        if !r.succeeded { throw LabError("\(r)") }
    }
}
