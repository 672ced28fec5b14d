import Foundation
import SpyglassFlow
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// The drop classification: every reason of the running kernel decided on purpose, the classes the issue names, a
/// Hubble reason that never reads as success, and the flags that widen the reported set.
struct DropClassificationTests {
    /// Reading the kernel's BTF needs no privilege; a kernel without BTF has nothing to classify.
    static let btf = FileManager.default.isReadableFile(atPath: "/sys/kernel/btf/vmlinux")

    @Test(.enabled(if: btf || KernelTestGate.isCI, "needs /sys/kernel/btf/vmlinux"))
    func everyReasonOfTheRunningKernelIsDecided() throws {
        let reasons = KernelDropReasons.load()
        #expect(reasons.names.count > 50, "the kernel's enum skb_drop_reason was not read")
        // A new kernel reason fails here, so someone decides its class instead of it falling to the default.
        #expect(
            reasons.undecided.isEmpty,
            "reasons without a decision (add them to DropClassification.rules): \(reasons.undecided)")
    }

    @Test func theIssuesExamplesHaveTheirClasses() {
        let expected: [String: DropClass] = [
            // Not drops: socket lifecycle, frees of delivered packets, multicast control with no listener.
            "QUEUE_PURGE": .socket, "TCP_ABORT_ON_DATA": .socket, "SOCKET_CLOSE": .socket, "TCP_CLOSE": .socket,
            "NOT_SPECIFIED": .benign, "SOCKET_FILTER": .benign,
            // Drops: policy, routes, neighbours, no socket, checksums, full queues, fragments, other host.
            "NETFILTER_DROP": .drop, "IP_OUTNOROUTES": .drop, "NEIGH_FAILED": .drop, "NO_SOCKET": .drop,
            "TCP_CSUM": .drop, "UDP_CSUM": .drop, "IP_CSUM": .drop, "QDISC_DROP": .drop, "SOCKET_RCVBUFF": .drop,
            "TCP_LISTEN_OVERFLOW": .drop, "IP_INHDR": .drop, "FRAG_REASM_TIMEOUT": .drop, "OTHERHOST": .drop,
            "PKT_TOO_SMALL": .drop, "IPV6_BAD_EXTHDR": .drop
        ]
        for (name, cls) in expected {
            #expect(DropClassification.rule(for: name).dropClass == cls, "\(name)")
        }
        // Unknown names (a newer kernel, subsystem reasons, no reason at all) are reported: a loss is never hidden.
        #expect(DropClassification.rule(for: "SOME_FUTURE_REASON").dropClass == .drop)
        #expect(DropClassification.rule(for: "UNKNOWN").dropClass == .drop)
    }

    @Test func everyRuleCarriesAHubbleReasonThatIsNotSuccess() {
        for (name, rule) in DropClassification.rules {
            #expect(rule.hubble != .unknown && rule.hubble.rawValue > 0, "\(name)")
            #expect(
                rule.hubble.name != String(rule.hubble.rawValue),
                "\(name) maps to \(rule.hubble.rawValue), not a Hubble DropReason")
        }
        #expect(DropClassification.defaultRule.hubble != .unknown)
        // Exact equivalents keep their Hubble name in hubble_drop_total; the rest keep the kernel's name.
        #expect(
            DropClassification.rule(for: "NETFILTER_DROP")
                == DropReasonRule(dropClass: .drop, hubble: .policyDenied, exact: true))
        #expect(DropClassification.rule(for: "NO_SOCKET").hubble.name == "SOCKET_LOOKUP_FAILED")
        #expect(!DropClassification.rule(for: "NO_SOCKET").exact)
    }

    @Test func theResolverNeverAnswersUnknown() {
        let reasons = KernelDropReasons(
            names: [3: "NO_SOCKET", 12: "NETFILTER_DROP", 105: "QUEUE_PURGE"],
            notDroppedYet: 0, consumed: 1, hasReasonArgument: true)
        let resolve = reasons.resolver()
        #expect(resolve(3) == (DropReason(rawValue: 178), "NO_SOCKET"))
        #expect(resolve(12) == (.policyDenied, "NETFILTER_DROP"))
        #expect(resolve(105).0 == .invalidPacketDropped)
        #expect(resolve(999).0 == .invalidPacketDropped)  // a code this table lacks: the default rule
        #expect(resolve(0xffff_ffff) == (.invalidPacketDropped, "UNKNOWN"))
    }

    @Test func flagsWidenTheReportedSet() throws {
        let plain = DropReportSet()
        #expect(plain.reports("NETFILTER_DROP") && !plain.reports("QUEUE_PURGE") && !plain.reports("NOT_SPECIFIED"))
        let extra = DropReportSet(extraReasons: ["QUEUE_PURGE"])
        #expect(extra.reports("QUEUE_PURGE") && !extra.reports("TCP_CLOSE"))
        let classes = try DropClassification.classes(from: "drop,socket").get()
        #expect(classes == [.drop, .socket])
        #expect(DropReportSet(classes: classes).reports("TCP_CLOSE"))
        guard case .failure(let e) = DropClassification.classes(from: "drop,lost") else {
            Issue.record("an unknown class must be rejected")
            return
        }
        #expect(e.message.contains("--drop-classes") && e.message.contains("'lost'"))
    }
}
