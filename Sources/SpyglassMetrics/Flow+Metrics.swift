import SpyglassFlow

/// Flow facts the handlers need that the Flow model does not carry directly.
extension Flow {
    /// `reason` label of `hubble_drop_total` (docs/hubble-compatibility.md §11.4): the Hubble enum name when the kernel's reason
    /// has an exact Hubble equivalent (or there is no kernel reason); otherwise the kernel's own reason name
    /// (without `SKB_DROP_REASON_`). The flow itself always carries the nearest Hubble reason.
    var dropReasonLabel: String {
        if let k = kernelDropReason, !k.isEmpty, !DropClassification.rule(for: k).exact { return k }
        return dropReasonDesc.name
    }

    /// `reporter` label of the http handlers: `client` for EGRESS, `server` for INGRESS, else `unknown`.
    var httpReporter: String {
        switch trafficDirection {
        case .egress: "client"
        case .ingress: "server"
        case .unknown: "unknown"
        }
    }
}

/// Lower-case policy match names (docs/hubble-compatibility.md §2.7).
enum PolicyMatchName {
    static func name(_ code: UInt32) -> String {
        switch code {
        case 0: "none"
        case 1: "l3-only"
        case 2: "l3-l4"
        case 3: "l4-only"
        case 4: "all"
        case 5: "l3-proto"
        case 6: "proto-only"
        default: "unknown"
        }
    }
}
