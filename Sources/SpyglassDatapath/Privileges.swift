import Glibc

/// Linux capabilities the agent uses, with the reason each is needed (shown when one is missing).
public enum Capability: Int, CaseIterable, Sendable, CustomStringConvertible {
    case netAdmin = 12
    case sysAdmin = 21
    case sysResource = 24
    case perfmon = 38
    case bpf = 39

    public var description: String {
        switch self {
        case .netAdmin: "CAP_NET_ADMIN"
        case .sysAdmin: "CAP_SYS_ADMIN"
        case .sysResource: "CAP_SYS_RESOURCE"
        case .perfmon: "CAP_PERFMON"
        case .bpf: "CAP_BPF"
        }
    }
}

/// A capability and what the agent does with it.
public struct CapabilityRequirement: Sendable, Equatable, CustomStringConvertible {
    public let capability: Capability
    public let purpose: String

    public var description: String { "\(capability) (\(purpose))" }
}

/// A process's effective capability set, as the kernel reports it in /proc/self/status (`CapEff`).
public struct CapabilitySet: Sendable, Equatable {
    public let bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    public func contains(_ capability: Capability) -> Bool { bits & (1 << UInt64(capability.rawValue)) != 0 }

    /// The calling process's effective set; nil when /proc cannot tell (then the kernel's own checks decide).
    public static func effective(statusFile: String = "/proc/self/status") -> CapabilitySet? {
        guard let file = fopen(statusFile, "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("CapEff:") else { continue }
            let hex = String(text.dropFirst("CapEff:".count).filter(\.isHexDigit))
            return UInt64(hex, radix: 16).map(CapabilitySet.init(bits:))
        }
        return nil
    }
}

/// The least privilege the agent runs with: which capabilities each part needs, checked before the kernel is
/// asked, so a missing one is named with its purpose instead of surfacing as a bare EPERM from libbpf.
///
/// Measured on Linux 6.18 (README "Security", Tests/SpyglassEndToEndTests/LeastPrivilegeTests.swift): the tc
/// programs need CAP_BPF, CAP_PERFMON (the verifier refuses their bpf_jiffies64 calls without it) and
/// CAP_NET_ADMIN; the kfree_skb drop program needs CAP_BPF and CAP_PERFMON. CAP_SYS_RESOURCE is needed only on
/// kernels before 5.11, which charge BPF memory to RLIMIT_MEMLOCK instead of the memory cgroup, and only when that
/// limit's hard value is not already unlimited. CAP_SYS_ADMIN is not needed (`spyglass demo` uses it to create
/// network namespaces).
public enum Privileges {
    static let bpf = CapabilityRequirement(capability: .bpf, purpose: "to create eBPF maps and load eBPF programs")

    public static var tcPrograms: [CapabilityRequirement] {
        [
            bpf,
            CapabilityRequirement(
                capability: .perfmon,
                purpose: "for the verifier to accept the tc programs' bpf_jiffies64 and kernel-memory reads"),
            CapabilityRequirement(capability: .netAdmin, purpose: "to load tc programs and attach them to interfaces")
        ] + memlock()
    }

    public static let dropPrograms: [CapabilityRequirement] = [
        bpf,
        CapabilityRequirement(capability: .perfmon, purpose: "to load and attach the skb:kfree_skb tracing program")
    ]

    /// CAP_SYS_RESOURCE when this kernel charges BPF maps to RLIMIT_MEMLOCK (before 5.11) and libbpf could not
    /// raise that limit without it.
    public static func memlock(kernelRelease: String = kernelRelease(), memlockHardLimit: UInt64 = memlockHardLimit())
        -> [CapabilityRequirement]
    {
        guard !chargesBPFToMemoryCgroup(kernelRelease: kernelRelease), memlockHardLimit != UInt64.max else { return [] }
        return [
            CapabilityRequirement(
                capability: .sysResource,
                purpose:
                    "to raise RLIMIT_MEMLOCK for BPF maps on this kernel (before 5.11); or set the memlock limit to unlimited"
            )
        ]
    }

    /// Linux 5.11 moved BPF memory accounting from RLIMIT_MEMLOCK to the memory cgroup.
    static func chargesBPFToMemoryCgroup(kernelRelease: String) -> Bool {
        let numbers = kernelRelease.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return true }  // unknown format: let the kernel decide
        return (numbers[0], numbers[1]) >= (5, 11)
    }

    public static func kernelRelease() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "" }
        return withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    public static func memlockHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0 else { return UInt64.max }
        return UInt64(limit.rlim_max)
    }

    /// The requirements not met by `effective`, in the order given (duplicates removed).
    public static func missing(_ requirements: [CapabilityRequirement], effective: CapabilitySet?)
        -> [CapabilityRequirement]
    {
        guard let effective else { return [] }
        var seen = Set<Int>()
        return requirements.filter {
            !effective.contains($0.capability) && seen.insert($0.capability.rawValue).inserted
        }
    }

    /// Throws `DatapathError.missingCapabilities` naming every requirement the process lacks.
    public static func require(_ requirements: [CapabilityRequirement], effective: CapabilitySet? = .effective())
        throws(DatapathError)
    {
        let lacking = missing(requirements, effective: effective)
        if !lacking.isEmpty { throw DatapathError.missingCapabilities(lacking) }
    }
}
