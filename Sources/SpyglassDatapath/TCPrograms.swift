import CLibBPF
import CSpyglassBPF
import Foundation
import Glibc

/// The tc programs of `bpf/flow_tc.bpf.c`, loaded into the kernel with their maps. Closing it unloads them
/// (hooks attached by `TCAttacher` keep a reference until detached).
public final class TCPrograms: @unchecked Sendable {
    // @unchecked: the pointers are written once in init and only read afterwards; libbpf objects are immutable
    // after load.
    let object: OpaquePointer
    public let ingressFD: Int32
    public let egressFD: Int32
    public let eventsMapFD: Int32
    public let statsMapFD: Int32
    public let interfacesMapFD: Int32
    public let connectionsMapFD: Int32
    public let l7PortsMapFD: Int32
    public let hostAddressesMapFD: Int32
    /// `spy_l7_skip`: HTTP body parts the kernel leaves out of L7 events (`L7SkipMap`).
    public let l7SkipMapFD: Int32
    public let config: DatapathConfig

    public init(config: DatapathConfig, verboseLibbpf: Bool = false) throws {
        try config.validate()
        try Privileges.require(Privileges.tcPrograms)
        spy_libbpf_capture_logs(verboseLibbpf ? 1 : 0)
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else {
            throw DatapathError.kernelFeature("BTF (/sys/kernel/btf/vmlinux is missing)")
        }
        guard let bytes = Data(base64Encoded: BPFObject_flow_tc.base64) else {
            throw DatapathError.invalidConfig("embedded BPF object is corrupt (rebuild spyglass)")
        }
        var err: Int32 = 0
        let obj: OpaquePointer? = bytes.withUnsafeBytes { raw in
            spy_object_open_mem(raw.baseAddress, raw.count, "spyglass_tc", &err)
        }
        guard let obj else { throw libbpfError("opening the BPF object", err) }
        self.object = obj
        self.config = config
        do {
            try Self.setRodata(obj, "cfg_snap_len", config.snapLength)
            try Self.setRodata(obj, "cfg_aggregation", UInt32(config.aggregation == .none ? 0 : 3))
            try Self.setRodata(obj, "cfg_interval_ns", config.aggregationIntervalNs)
            try Self.setRodata(obj, "cfg_wakeup_bytes", config.effectiveWakeupBytes)
            try Self.setRodata(obj, "cfg_report_flags", config.reportFlags)
            try Self.setRodata(obj, "cfg_l7_snap_len", config.l7SnapLength)
            try Self.setRodata(obj, "cfg_http_detect", UInt32(config.httpDetect ? 1 : 0))
            // Aggregation intervals are counted in jiffies when CONFIG_HZ is known (free to read in the kernel).
            let hz = UInt64(spy_kernel_hz())
            try Self.setRodata(obj, "cfg_ns_per_jiffy", hz == 0 ? UInt64(0) : 1_000_000_000 / hz)
            try Self.setMaxEntries(obj, "spy_events", config.ringBufferBytes)
            try Self.setMaxEntries(obj, "spy_conns", config.connectionTableSize)
            let rc = bpf_object__load(obj)
            if rc != 0 {
                let e = libbpfError("loading the tc programs", rc)
                if case .libbpf(_, let errno, _) = e, errno == EINVAL || errno == ENOTSUPP_ {
                    throw DatapathError.kernelFeature("tc eBPF programs with ring buffers (\(e))")
                }
                throw e
            }
            ingressFD = try Self.programFD(obj, "spy_tc_ingress")
            egressFD = try Self.programFD(obj, "spy_tc_egress")
            eventsMapFD = try Self.mapFD(obj, "spy_events")
            statsMapFD = try Self.mapFD(obj, "spy_stats")
            interfacesMapFD = try Self.mapFD(obj, "spy_ifaces")
            connectionsMapFD = try Self.mapFD(obj, "spy_conns")
            l7PortsMapFD = try Self.mapFD(obj, "spy_l7_ports")
            hostAddressesMapFD = try Self.mapFD(obj, "spy_host_addrs")
            l7SkipMapFD = try Self.mapFD(obj, "spy_l7_skip")
            for (ports, kind) in [(config.httpPorts, UInt8(SPY_L7_HTTP)), (config.dnsPorts, UInt8(SPY_L7_DNS))] {
                for port in ports {
                    var key = UInt32(port)
                    var value = kind
                    if bpf_map_update_elem(l7PortsMapFD, &key, &value, UInt64(BPF_ANY)) != 0 {
                        throw libbpfError("writing the L7 port map", Int32(-errno))
                    }
                }
            }
        } catch {
            bpf_object__close(obj)
            throw error
        }
    }

    deinit { bpf_object__close(object) }

    /// Names the programs carry in the kernel; used to recognise our own stale hooks.
    public static let programNames = ["spy_tc_ingress", "spy_tc_egress"]

    /// Sets the observation points reported for one interface.
    public func setObservationPoints(
        ifindex: UInt32, ingress: UInt8, egress: UInt8, flags: UInt8 = 0, tunnelPort: UInt16 = 0
    ) throws {
        var key = ifindex
        var value = spy_iface_config(
            ingress_point: ingress, egress_point: egress, flags: flags, pad: 0,
            tunnel_port: tunnelPort, pad2: 0)
        let rc = bpf_map_update_elem(interfacesMapFD, &key, &value, UInt64(BPF_ANY))
        if rc != 0 { throw libbpfError("writing the interface map", Int32(-errno)) }
    }

    public func removeObservationPoints(ifindex: UInt32) {
        var key = ifindex
        _ = bpf_map_delete_elem(interfacesMapFD, &key)
    }

    /// Replaces the node's own addresses (`spy_host_addrs`): packets addressed to them are never suppressed as
    /// receive-side observations. Addresses are 16 bytes, IPv4 in the first 4 (as in events). Returns how many could
    /// not be stored (the map holds 1024).
    @discardableResult
    public func setHostAddresses(_ addresses: Set<[UInt8]>) -> Int {
        var key = [UInt8](repeating: 0, count: 16), next = [UInt8](repeating: 0, count: 16)
        var stale: [[UInt8]] = []
        var rc = bpf_map_get_next_key(hostAddressesMapFD, nil, &key)
        while rc == 0 {
            if !addresses.contains(key) { stale.append(key) }
            rc = bpf_map_get_next_key(hostAddressesMapFD, &key, &next)
            key = next
        }
        for var k in stale { _ = bpf_map_delete_elem(hostAddressesMapFD, &k) }
        var failed = 0
        for address in addresses where address.count == 16 {
            var k = address
            var one: UInt8 = 1
            if bpf_map_update_elem(hostAddressesMapFD, &k, &one, UInt64(BPF_ANY)) != 0 { failed += 1 }
        }
        return failed
    }

    /// Sums the per-CPU datapath counters.
    public func stats() -> DatapathStats {
        let cpus = Int(libbpf_num_possible_cpus())
        var values = [UInt64](repeating: 0, count: max(cpus, 1))
        var totals = [UInt64](repeating: 0, count: Int(SPY_STAT_COUNT.rawValue))
        for i in 0..<totals.count {
            var key = UInt32(i)
            if bpf_map_lookup_elem(statsMapFD, &key, &values) == 0 {
                totals[i] = values.reduce(0, &+)
            }
        }
        return DatapathStats(
            packets: totals[Int(SPY_STAT_PACKETS.rawValue)],
            events: totals[Int(SPY_STAT_EVENTS.rawValue)],
            ringBufferFull: totals[Int(SPY_STAT_RINGBUF_FULL.rawValue)],
            aggregated: totals[Int(SPY_STAT_AGGREGATED.rawValue)],
            nonIP: totals[Int(SPY_STAT_NON_IP.rawValue)],
            connectionTableFull: totals[Int(SPY_STAT_CONN_TABLE_FULL.rawValue)],
            dropsSuppressed: totals[Int(SPY_STAT_DROPS_SUPPRESSED.rawValue)],
            dropsNonIP: totals[Int(SPY_STAT_DROP_NON_IP.rawValue)],
            dropEvents: totals[Int(SPY_STAT_DROP_EVENTS.rawValue)],
            dropRingBufferFull: totals[Int(SPY_STAT_DROP_RINGBUF_FULL.rawValue)],
            receiveSuppressed: totals[Int(SPY_STAT_RX_SUPPRESSED.rawValue)],
            tunnelSkipped: totals[Int(SPY_STAT_TUNNEL_SKIPPED.rawValue)],
            l7BodySkipped: totals[Int(SPY_STAT_L7_BODY_SKIPPED.rawValue)]
        )
    }

    // MARK: - libbpf plumbing

    /// Sets a `const volatile` global; `value`'s type must have the variable's size (the shim checks).
    static func setRodata<T: FixedWidthInteger>(
        _ obj: OpaquePointer, _ name: String, _ value: T,
        in object: String = "the BPF object"
    ) throws {
        var v = value
        let rc = withUnsafeBytes(of: &v) { raw in spy_object_set_rodata(obj, name, raw.baseAddress, raw.count) }
        if rc != 0 { throw libbpfError("setting \(name) in \(object)", rc) }
    }

    private static func setMaxEntries(_ obj: OpaquePointer, _ name: String, _ value: UInt32) throws {
        guard let map = bpf_object__find_map_by_name(obj, name) else {
            throw DatapathError.invalidConfig("embedded BPF object has no map \(name) (rebuild spyglass)")
        }
        let rc = bpf_map__set_max_entries(map, value)
        if rc != 0 { throw libbpfError("sizing map \(name)", rc) }
    }

    private static func programFD(_ obj: OpaquePointer, _ name: String) throws -> Int32 {
        guard let prog = bpf_object__find_program_by_name(obj, name) else {
            throw DatapathError.invalidConfig("embedded BPF object has no program \(name) (rebuild spyglass)")
        }
        return bpf_program__fd(prog)
    }

    private static func mapFD(_ obj: OpaquePointer, _ name: String) throws -> Int32 {
        guard let map = bpf_object__find_map_by_name(obj, name) else {
            throw DatapathError.invalidConfig("embedded BPF object has no map \(name) (rebuild spyglass)")
        }
        return bpf_map__fd(map)
    }
}

/// ENOTSUPP (524) is kernel-internal and not in Glibc's headers.
let ENOTSUPP_: Int32 = 524

/// Totals of the kernel's per-CPU counters (`enum spy_stat`).
public struct DatapathStats: Sendable, Equatable {
    public var packets: UInt64
    public var events: UInt64
    public var ringBufferFull: UInt64
    public var aggregated: UInt64
    public var nonIP: UInt64
    public var connectionTableFull: UInt64
    /// Drop events suppressed by the per-reason rate limit (counted per reason by `DropPrograms.counts()`).
    public var dropsSuppressed: UInt64
    /// Drops of non-IP packets, not reported.
    public var dropsNonIP: UInt64
    /// Drop events written, and lost because the ring buffer was full.
    public var dropEvents: UInt64
    public var dropRingBufferFull: UInt64
    /// Receive-side reports suppressed because the packet is reported where it leaves (monitor aggregation >= low).
    public var receiveSuppressed: UInt64
    /// Encapsulated packets of a watched tunnel not reported on a device (their inner packets are).
    public var tunnelSkipped: UInt64
    /// L7 candidates left out because they lie inside an HTTP body user space skips by count (`L7SkipMap`); they
    /// are folded or traced like any other data segment, so this counts apart from the sum above.
    public var l7BodySkipped: UInt64
    public init(
        packets: UInt64 = 0, events: UInt64 = 0, ringBufferFull: UInt64 = 0, aggregated: UInt64 = 0,
        nonIP: UInt64 = 0, connectionTableFull: UInt64 = 0, dropsSuppressed: UInt64 = 0, dropsNonIP: UInt64 = 0,
        dropEvents: UInt64 = 0, dropRingBufferFull: UInt64 = 0, receiveSuppressed: UInt64 = 0,
        tunnelSkipped: UInt64 = 0, l7BodySkipped: UInt64 = 0
    ) {
        self.l7BodySkipped = l7BodySkipped
        self.receiveSuppressed = receiveSuppressed
        self.tunnelSkipped = tunnelSkipped
        self.dropEvents = dropEvents
        self.dropRingBufferFull = dropRingBufferFull
        self.dropsSuppressed = dropsSuppressed
        self.dropsNonIP = dropsNonIP
        self.packets = packets
        self.events = events
        self.ringBufferFull = ringBufferFull
        self.aggregated = aggregated
        self.nonIP = nonIP
        self.connectionTableFull = connectionTableFull
    }
}
