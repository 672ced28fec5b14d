import CLibBPF
import CSpyglassBPF
import Foundation
import Glibc
import SpyglassFlow

/// Settings of the drop program.
public struct DropConfig: Sendable, Equatable {
    /// Drop events per reason per second (0 = unlimited); the rest are counted as suppressed.
    public var ratePerReason: UInt32 = 1000
    /// true: only drops on watched interfaces of the agent's network namespace; false: every namespace.
    public var watchedInterfacesOnly = false
    /// Which kernel reasons become drop flows (`--drop-classes`, `--drop-reasons-extra`); every free is counted.
    public var report = DropReportSet()
    public init() {}
}

/// Drop counts kept in the kernel per reason and class (exact, including suppressed drops).
public struct DropCounts: Sendable, Equatable {
    public var seen: UInt64
    public var suppressed: UInt64
}

/// Key of `DropPrograms.counts()`: the kernel's reason name and the class the kernel counted it in (a reason's
/// class is fixed, except `NO_SOCKET` for an ICMP echo reply, counted as `benign`).
public struct DropCountKey: Sendable, Hashable, Comparable {
    public var reason: String
    public var dropClass: DropClass
    public static func < (a: DropCountKey, b: DropCountKey) -> Bool {
        (a.reason, a.dropClass.rawValue) < (b.reason, b.dropClass.rawValue)
    }
}

/// Why a drop to be reported could not be parsed (`enum spy_drop_unparsed`): the metric's `why` label.
public enum DropUnparsedReason: UInt32, Sendable, CaseIterable {
    case noNetworkHeader = 0
    case outsidePacket = 1
    case notIP = 2
    case badIPHeader = 3
    case truncatedIP = 4

    public var label: String {
        switch self {
        case .noNetworkHeader: "no_network_header"
        case .outsidePacket: "outside_packet"
        case .notIP: "not_ip"
        case .badIPHeader: "bad_ip_header"
        case .truncatedIP: "truncated_ip"
        }
    }
}

/// `bpf/drop_kfree_skb.bpf.c` loaded into the kernel and attached to skb:kfree_skb. It shares the ring buffer,
/// stats, connection and interface maps of the tc programs. The tracepoint link belongs to this process: the
/// kernel detaches it when the process exits, even after SIGKILL, so no stale hook can survive a crash.
public final class DropPrograms: @unchecked Sendable {
    // @unchecked: set once in init, read-only afterwards.
    let object: OpaquePointer
    let link: OpaquePointer
    public let reasons: KernelDropReasons
    let countsMapFD: Int32
    let unparsedMapFD: Int32

    public init(sharing tc: TCPrograms, config: DropConfig, reasons: KernelDropReasons = .load()) throws {
        try Privileges.require(Privileges.dropPrograms)
        self.reasons = reasons
        if reasons.hasReasonArgument {
            let known = Set(reasons.names.values)
            if let bad = config.report.extraReasons.sorted().first(where: { !known.contains($0) }) {
                throw DatapathError.invalidConfig(
                    "--drop-reasons-extra: '\(bad)' is not a drop reason of this kernel (names without SKB_DROP_REASON_, e.g. QUEUE_PURGE)"
                )
            }
        }
        guard let bytes = Data(base64Encoded: BPFObject_drop_kfree_skb.base64) else {
            throw DatapathError.invalidConfig("embedded BPF object is corrupt (rebuild spyglass)")
        }
        var err: Int32 = 0
        let obj: OpaquePointer? = bytes.withUnsafeBytes { raw in
            spy_object_open_mem(raw.baseAddress, raw.count, "spyglass_drop", &err)
        }
        guard let obj else { throw libbpfError("opening the drop BPF object", err) }
        do {
            let set = { (name: String, value: UInt32) throws in
                try TCPrograms.setRodata(obj, name, value, in: "the drop BPF object")
            }
            // Without a reason argument every drop arrives as 0xffffffff: keep the non-drop filters off it.
            try set(
                "cfg_reason_not_dropped", reasons.hasReasonArgument ? reasons.notDroppedYet : KernelDropReasons.absent)
            try set("cfg_reason_consumed", reasons.hasReasonArgument ? reasons.consumed : KernelDropReasons.absent)
            try set("cfg_drop_rate", config.ratePerReason)
            try set("cfg_watched_only", config.watchedInterfacesOnly ? 1 : 0)
            try set("cfg_netns_inum", spy_netns_inum())
            try set("cfg_snap_len", tc.config.snapLength)
            try set("cfg_l7_snap_len", tc.config.l7SnapLength)
            try set("cfg_http_detect", tc.config.httpDetect ? 1 : 0)
            // Classes: reasons the rules map does not hold (none on a kernel whose names were read) get the default.
            let defaultRule = DropClassification.defaultRule
            try set("cfg_default_class", UInt32(defaultRule.dropClass.code))
            try set("cfg_default_report", config.report.classes.contains(defaultRule.dropClass) ? 1 : 0)
            try set(
                "cfg_reason_no_socket",
                reasons.hasReasonArgument ? (reasons.code(of: "NO_SOCKET") ?? 0xffff_fffe) : 0xffff_fffe)
            try set("cfg_benign_report", config.report.classes.contains(.benign) ? 1 : 0)
            try TCPrograms.setRodata(obj, "cfg_wakeup_bytes", tc.config.effectiveWakeupBytes, in: "the drop BPF object")
            for (name, fd) in [
                ("spy_events", tc.eventsMapFD), ("spy_stats", tc.statsMapFD),
                ("spy_conns", tc.connectionsMapFD), ("spy_ifaces", tc.interfacesMapFD),
                ("spy_l7_ports", tc.l7PortsMapFD)
            ] {
                guard let map = bpf_object__find_map_by_name(obj, name) else {
                    throw DatapathError.invalidConfig("embedded drop object has no map \(name) (rebuild spyglass)")
                }
                let rc = bpf_map__reuse_fd(map, fd)
                if rc != 0 { throw libbpfError("sharing map \(name) with the drop program", rc) }
            }
            let use = reasons.hasReasonArgument ? "spy_kfree_skb" : "spy_kfree_skb_noreason"
            let skip = reasons.hasReasonArgument ? "spy_kfree_skb_noreason" : "spy_kfree_skb"
            guard let prog = bpf_object__find_program_by_name(obj, use),
                let other = bpf_object__find_program_by_name(obj, skip)
            else {
                throw DatapathError.invalidConfig("embedded drop object lacks its programs (rebuild spyglass)")
            }
            bpf_program__set_autoload(other, false)
            let rc = bpf_object__load(obj)
            if rc != 0 {
                let e = libbpfError("loading the kfree_skb drop program", rc)
                if case .libbpf(_, let errno, _) = e, errno == EINVAL || errno == ENOENT || errno == ENOTSUPP_ {
                    throw DatapathError.kernelFeature("BTF-typed tracepoint skb:kfree_skb (\(e))")
                }
                throw e
            }
            guard let counts = bpf_object__find_map_by_name(obj, "spy_drop_counts") else {
                throw DatapathError.invalidConfig("embedded drop object has no map spy_drop_counts (rebuild spyglass)")
            }
            countsMapFD = bpf_map__fd(counts)
            guard let unparsed = bpf_object__find_map_by_name(obj, "spy_drop_unparsed"),
                let rules = bpf_object__find_map_by_name(obj, "spy_drop_rules")
            else {
                throw DatapathError.invalidConfig("embedded drop object lacks its drop maps (rebuild spyglass)")
            }
            unparsedMapFD = bpf_map__fd(unparsed)
            try Self.writeRules(bpf_map__fd(rules), reasons: reasons, report: config.report)
            guard let l = bpf_program__attach(prog) else {
                throw libbpfError("attaching to the skb:kfree_skb tracepoint", Int32(-errno))
            }
            link = l
            object = obj
        } catch {
            bpf_object__close(obj)
            throw error
        }
    }

    deinit {
        bpf_link__destroy(link)
        bpf_object__close(object)
    }

    /// One entry per reason of the running kernel: its class and whether it is reported. Written before the
    /// program is attached, so no free is ever classified by the default while the table fills.
    static func writeRules(_ fd: Int32, reasons: KernelDropReasons, report: DropReportSet) throws {
        for (code, name) in reasons.names {
            var key = code
            // struct spy_drop_rule { __u8 cls; __u8 report; __u8 multicast_benign; __u8 pad; }
            var value: (UInt8, UInt8, UInt8, UInt8) = (
                DropClassification.rule(for: name).dropClass.code,
                report.reports(name) ? 1 : 0,
                DropClassification.multicastIsBenign.contains(name) ? 1 : 0, 0
            )
            let rc = bpf_map_update_elem(fd, &key, &value, 0)
            if rc != 0 { throw libbpfError("writing the drop class of \(name)", rc) }
        }
    }

    /// Reported drops the kernel could not parse, by why (summed over CPUs).
    public func unparsedCounts() -> [DropUnparsedReason: UInt64] {
        let cpus = max(Int(libbpf_num_possible_cpus()), 1)
        var values = [UInt64](repeating: 0, count: cpus)
        var out: [DropUnparsedReason: UInt64] = [:]
        for why in DropUnparsedReason.allCases {
            var key = why.rawValue
            out[why] = bpf_map_lookup_elem(unparsedMapFD, &key, &values) == 0 ? values.reduce(0, &+) : 0
        }
        return out
    }

    /// Exact counts from the kernel (summed over CPUs), keyed by the kernel's reason name and class.
    public func counts() -> [DropCountKey: DropCounts] {
        let cpus = Int(libbpf_num_possible_cpus())
        var out: [DropCountKey: DropCounts] = [:]
        // struct spy_drop_key { __u32 reason; __u32 cls; }
        var key: (UInt32, UInt32) = (0, 0)
        var next: (UInt32, UInt32) = (0, 0)
        var first = true
        var values = [UInt64](repeating: 0, count: 2 * max(cpus, 1))
        while true {
            let rc =
                first ? bpf_map_get_next_key(countsMapFD, nil, &next) : bpf_map_get_next_key(countsMapFD, &key, &next)
            if rc != 0 { break }
            first = false
            key = next
            if bpf_map_lookup_elem(countsMapFD, &key, &values) == 0 {
                var c = DropCounts(seen: 0, suppressed: 0)
                for cpu in 0..<max(cpus, 1) {
                    c.seen &+= values[2 * cpu]
                    c.suppressed &+= values[2 * cpu + 1]
                }
                let k = DropCountKey(
                    reason: reasons.name(of: key.0),
                    dropClass: DropClass(code: UInt8(truncatingIfNeeded: key.1)) ?? .drop)
                out[k, default: DropCounts(seen: 0, suppressed: 0)].seen &+= c.seen
                out[k, default: DropCounts(seen: 0, suppressed: 0)].suppressed &+= c.suppressed
            }
        }
        return out
    }
}
