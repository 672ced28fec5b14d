import Foundation
import SpyglassDatapath
import Testing

/// The capability check itself, without the kernel: reading CapEff, what is missing, the memlock rule, the message.
@Suite struct PrivilegesTests {
    func statusFile(_ capEff: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-status-\(UUID().uuidString)")
            .path
        try
            "Name:\tspyglass\nCapInh:\t0000000000000000\nCapPrm:\t\(capEff)\nCapEff:\t\(capEff)\nCapBnd:\t000001ffffffffff\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsTheEffectiveSet() throws {
        // CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39): what `setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin` gives.
        let path = try statusFile("000000c000001000")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let set = try #require(CapabilitySet.effective(statusFile: path))
        #expect(set.contains(.bpf) && set.contains(.perfmon) && set.contains(.netAdmin))
        #expect(!set.contains(.sysAdmin) && !set.contains(.sysResource))
        #expect(CapabilitySet.effective(statusFile: "/nonexistent/status") == nil)
        #expect(CapabilitySet.effective() != nil, "this process's own /proc/self/status")
    }

    @Test func everyMissingCapabilityIsNamedWithItsPurpose() {
        let onlyNetAdmin = CapabilitySet(bits: 1 << 12)
        let missing = Privileges.missing(Privileges.tcPrograms + Privileges.dropPrograms, effective: onlyNetAdmin)
        #expect(missing.map(\.capability).filter { $0 != .sysResource } == [.bpf, .perfmon], "each named once")
        let message = DatapathError.missingCapabilities(missing).description
        #expect(
            message.hasPrefix("spyglass needs root or these capabilities, which it lacks: CAP_BPF (to create eBPF maps")
        )
        #expect(message.contains("CAP_PERFMON (for the verifier"))
        #expect(!message.contains("CAP_NET_ADMIN"))
        #expect(throws: DatapathError.missingCapabilities(missing)) {
            try Privileges.require(Privileges.tcPrograms + Privileges.dropPrograms, effective: onlyNetAdmin)
        }
        // Unknown effective set (no /proc): the kernel's own checks decide.
        #expect(Privileges.missing(Privileges.tcPrograms, effective: nil).isEmpty)
        let all = CapabilitySet(bits: (1 << 12) | (1 << 24) | (1 << 38) | (1 << 39))
        #expect(throws: Never.self) { try Privileges.require(Privileges.tcPrograms, effective: all) }
    }

    @Test(arguments: [
        ("6.18.44-fc-v669", UInt64(65536), false),
        ("5.11.0", UInt64(65536), false),
        ("5.10.0-28-amd64", UInt64(65536), true),  // Debian 11: BPF maps still charged to RLIMIT_MEMLOCK
        ("5.10.0-28-amd64", UInt64.max, false),  // …unless the hard limit is already unlimited
        ("5.8.0", UInt64(8 << 20), true),
        ("weird", UInt64(65536), false)
    ])
    func sysResourceOnlyWhereMemlockStillCounts(release: String, hardLimit: UInt64, needed: Bool) {
        let requirement = Privileges.memlock(kernelRelease: release, memlockHardLimit: hardLimit)
        #expect(requirement.map(\.capability) == (needed ? [.sysResource] : []))
    }
}
