import CSpyglassBPF
import SpyglassFlow

/// The running kernel's drop reasons, read from its BTF at start-up (`enum skb_drop_reason`): numbers differ
/// between kernels (NO_SOCKET is 2 on Debian 12's 6.1 and 3 on 6.18), so none are compiled in.
public struct KernelDropReasons: Sendable {
    /// Code → name without the `SKB_DROP_REASON_` / `SKB_` prefix (e.g. 3 → `NO_SOCKET`).
    public let names: [UInt32: String]
    /// Codes of the two non-drops the tracepoint also sees.
    public let notDroppedYet: UInt32
    public let consumed: UInt32
    /// False on kernels before 5.17, whose kfree_skb tracepoint has no reason.
    public let hasReasonArgument: Bool
    /// `notDroppedYet` / `consumed` when this kernel's enum lacks that name (6.1 has no SKB_CONSUMED: consume_skb
    /// has its own tracepoint there). No reason code has this value, so it filters nothing out.
    public static let absent: UInt32 = 0xffff_fffe

    /// Reads the enum from /sys/kernel/btf/vmlinux (~ms).
    public static func load() -> KernelDropReasons {
        let max = 1024
        var values = [Int64](repeating: 0, count: max)
        var names = [
            (
                CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar,
                CChar,
                CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar,
                CChar,
                CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar,
                CChar,
                CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar,
                CChar
            )
        ](
            repeating: (
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ),
            count: max)
        let n = spy_btf_enum("skb_drop_reason", &values, &names, Int32(max))
        var table: [UInt32: String] = [:]
        var notDropped = absent, consumed = absent
        for i in 0..<Int(Swift.max(n, 0)) {
            let raw = withUnsafeBytes(of: names[i]) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let code = UInt32(truncatingIfNeeded: values[i])
            switch raw {
            case "SKB_NOT_DROPPED_YET": notDropped = code
            case "SKB_CONSUMED": consumed = code
            case "SKB_DROP_REASON_MAX", "SKB_DROP_REASON_SUBSYS_MASK": continue
            default: break
            }
            var name = raw
            for prefix in ["SKB_DROP_REASON_", "SKB_"] where name.hasPrefix(prefix) {
                name = String(name.dropFirst(prefix.count))
                break
            }
            if table[code] == nil { table[code] = name }
        }
        let params = spy_btf_typedef_params("btf_trace_kfree_skb")
        return KernelDropReasons(
            names: table, notDroppedYet: notDropped, consumed: consumed,
            hasReasonArgument: n > 0 && params >= 4)
    }

    /// The kernel's name of a reason code; `UNKNOWN` for the code used when the kernel gives no reason, and
    /// `SUBSYS_<s>_<n>` for subsystem reasons (high bits) not in the core enum.
    public func name(of code: UInt32) -> String {
        if code == 0xffff_ffff { return "UNKNOWN" }
        if let n = names[code] { return n }
        let subsystem = code >> 16
        return subsystem != 0 ? "SUBSYS_\(subsystem)_\(code & 0xffff)" : "\(code)"
    }

    /// The kernel's code of a reason name (nil when this kernel has no such reason).
    public func code(of name: String) -> UInt32? {
        names.first(where: { $0.value == name })?.key
    }

    /// Reason names of this kernel that DropClassification does not decide explicitly (they get its default).
    public var undecided: [String] {
        // SKB_CONSUMED and SKB_NOT_DROPPED_YET are no drops: the program ignores them before any class.
        names.values.filter { !DropClassification.isKnown($0) && $0 != "CONSUMED" && $0 != "NOT_DROPPED_YET" }.sorted()
    }

    /// For the event decoder: code → (the Hubble reason its flows carry, never unknown; kernel name). Resolved
    /// once per code at start-up: the decoder's lookup is one dictionary read.
    public func resolver() -> @Sendable (UInt32) -> (DropReason, String?) {
        var table: [UInt32: (DropReason, String)] = [:]
        for (code, name) in names { table[code] = (DropClassification.rule(for: name).hubble, name) }
        let frozen = table
        let copy = self
        return { code in
            if let hit = frozen[code] { return (hit.0, hit.1) }
            let name = copy.name(of: code)
            return (DropClassification.rule(for: name).hubble, name)
        }
    }
}
