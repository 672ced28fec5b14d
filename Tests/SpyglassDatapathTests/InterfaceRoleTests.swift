import CSpyglassBPF
import Testing

@testable import SpyglassDatapath

@Suite("Interface roles")
struct InterfaceRoleTests {
    func iface(_ index: UInt32, _ name: String, _ driver: String) -> InterfaceInfo {
        InterfaceInfo(index: index, name: name, driver: driver)
    }
    func global(_ ifindex: UInt32, _ b: [UInt8]) -> NodeNetwork.Address {
        NodeNetwork.Address(
            ifindex: ifindex, isIPv4: true, isGlobal: true, prefixLength: 24,
            bytes: b + [UInt8](repeating: 0, count: 12))
    }

    @Test func devicesFlagSyntaxIsCiliums() {
        let d = DevicePatterns(["eth+", "bond0"])
        #expect(d.matches("eth0") && d.matches("eth12") && d.matches("bond0"))
        #expect(!d.matches("bond01") && !d.matches("veth0") && !d.matches("et"))
        #expect(DevicePatterns.problem(with: "eth+") == nil && DevicePatterns.problem(with: "+") == nil)
        #expect(DevicePatterns.problem(with: "") != nil)
        #expect(DevicePatterns.problem(with: "eth*") == nil, "'*' is a legal character of an interface name")
        #expect(DevicePatterns.problem(with: "e+th") != nil && DevicePatterns.problem(with: "a/b") != nil)
        #expect(DevicePatterns.problem(with: String(repeating: "x", count: 16)) != nil)
    }

    /// A bridge CNI node: uplink with the default route, cni0 (holds the pod gateway address), two bridge ports, a
    /// VXLAN tunnel with its own address, docker0 without ports, a dummy interface.
    @Test func autoDetectionOnCommonLayouts() {
        let all = [
            iface(1, "lo", ""), iface(2, "ens3", "virtio_net"), iface(3, "cni0", "bridge"),
            iface(4, "veth1a2b", "veth"),
            iface(5, "veth3c4d", "veth"), iface(6, "flannel.1", "vxlan"), iface(7, "docker0", "bridge"),
            iface(8, "dummy0", "dummy"), iface(9, "ens4", "virtio_net"), iface(10, "cali12", "veth")
        ]
        let net = NodeNetwork(
            addresses: [
                global(2, [192, 0, 2, 10]), global(3, [10, 244, 0, 1]), global(6, [10, 244, 0, 0]),
                global(7, [172, 17, 0, 1]), global(9, [198, 51, 100, 7])
            ],
            defaultRouteIfindexes: [2], tunnelPorts: [6: 8472])
        let roles = all.map { InterfaceRoles.role(of: $0, devices: DevicePatterns([]), network: net) }
        #expect(
            roles == [.loopback, .device, .bridge, .endpoint, .endpoint, .overlay, .bridge, .other, .device, .endpoint])
        #expect(roles.map(\.watchedByDefault) == [false, true, false, true, true, true, false, false, true, true])
        // kind: the node's uplink is itself a veth, with the default route.
        let kind = NodeNetwork(addresses: [global(20, [172, 18, 0, 2])], defaultRouteIfindexes: [20])
        #expect(
            InterfaceRoles.role(of: iface(20, "eth0", "veth"), devices: DevicePatterns([]), network: kind) == .device)
        #expect(
            InterfaceRoles.role(of: iface(21, "vethabc", "veth"), devices: DevicePatterns([]), network: kind)
                == .endpoint)
        // A plain host without pods: just its uplink.
        #expect(
            InterfaceRoles.role(
                of: iface(2, "ens3", "virtio_net"), devices: DevicePatterns([]),
                network: NodeNetwork(addresses: [global(2, [192, 0, 2, 10])])) == .device)
    }

    @Test func devicesFlagOverridesDetection() {
        let net = NodeNetwork(addresses: [global(9, [198, 51, 100, 7])], defaultRouteIfindexes: [2])
        let d = DevicePatterns(["eth+"])
        #expect(InterfaceRoles.role(of: iface(2, "ens3", "virtio_net"), devices: d, network: net) == .other)
        #expect(InterfaceRoles.role(of: iface(9, "ens4", "virtio_net"), devices: d, network: net) == .other)
        #expect(
            InterfaceRoles.role(of: iface(4, "eth0", "veth"), devices: d, network: net) == .device,
            "a veth named there is a device")
        #expect(InterfaceRoles.role(of: iface(5, "lxc1", "veth"), devices: d, network: net) == .endpoint)
    }

    @Test func observationPointsAndSuppression() {
        #expect(InterfaceRole.endpoint.observationPoints == (UInt8(SPY_OBS_FROM_ENDPOINT), UInt8(SPY_OBS_TO_ENDPOINT)))
        #expect(InterfaceRole.device.observationPoints == (UInt8(SPY_OBS_FROM_NETWORK), UInt8(SPY_OBS_TO_NETWORK)))
        #expect(InterfaceRole.overlay.observationPoints == (UInt8(SPY_OBS_FROM_OVERLAY), UInt8(SPY_OBS_TO_OVERLAY)))
        let s = UInt8(SPY_IFACE_F_SUPPRESS_INGRESS)
        func f(_ r: InterfaceRole, _ a: AggregationLevel = .medium, all: Bool = true, device: Bool = true) -> UInt8 {
            InterfaceRoles.flags(for: r, aggregation: a, allSendingPointsWatched: all, deviceWatched: device)
        }
        #expect(f(.endpoint) == s && f(.device) == s && f(.overlay) == s)
        #expect(f(.endpoint, .none) == 0 && f(.device, .none) == 0, "none: every hook reports")
        #expect(f(.endpoint, device: false) == 0, "no device watched: a packet leaving the node is only seen entering")
        #expect(f(.device, device: false) == s)
        #expect(f(.endpoint, all: false) == 0 && f(.device, all: false) == 0, "an unwatched endpoint or device")
        #expect(f(.other) == 0 && f(.bridge) == 0)
    }

    @Test func hostAddressesIncludeSubnetBroadcasts() {
        let net = NodeNetwork(addresses: [global(2, [10, 1, 2, 3])])
        let z = [UInt8](repeating: 0, count: 12)
        #expect(net.hostAddresses == [[10, 1, 2, 3] + z, [10, 1, 2, 255] + z])
    }

    /// The real rtnetlink dump of this namespace: loopback's 127.0.0.1 is always there.
    @Test func rtnetlinkReadsThisNamespace() throws {
        let net = try NodeNetwork.read()
        let lo = [UInt8]([127, 0, 0, 1]) + [UInt8](repeating: 0, count: 12)
        #expect(net.addresses.contains { $0.bytes == lo && $0.isIPv4 && !$0.isGlobal }, "\(net.addresses)")
    }
}
