import SpyglassFlow

/// Computing context label values straight into a `LabelWriter` (no intermediate Strings).
extension ContextOptions {
    enum Side { case source, destination }

    /// Writes the context label values in `labelNames` order. `invert` is httpV2's request point of view
    /// (docs/hubble-compatibility.md §3.5): labelsContext `source_*` read the destination endpoint and IP (and vice
    /// versa), and the computed `source` and `destination` values are swapped; `traffic_direction` is not inverted.
    ///
    /// With a `cache` (the engine's, reset per flow), the labelsContext values are formatted once per flow for each
    /// (labelsContext, invert) pair and copied byte for byte into the other handlers' keys.
    @inline(__always) func write(
        _ flow: Flow, invert: Bool, to w: inout LabelWriter, cache: LabelsContextCache? = nil
    ) {
        if !labelsContext.isEmpty {
            // The cache key: the label set plus the perspective (httpV2 inverts source and destination).
            let key = labelsContextKey | (invert ? LabelsContextCache.invertBit : 0)
            if let cache, cache.replay(key, into: &w) {
                // Same labelsContext and perspective already formatted for this flow.
            } else {
                let mark = w.mark
                let values = w.valueCount
                // The endpoints are passed as borrowed arguments: no copy (and no retains) per label.
                if invert {
                    writeLabelsContext(flow, flow.destination, flow.source, true, &w)
                } else {
                    writeLabelsContext(flow, flow.source, flow.destination, false, &w)
                }
                cache?.store(key, w.raw, from: mark, values: w.valueCount - values)
            }
        }
        if invert {
            if hasSource {
                writeList(list(for: .destination, flow.trafficDirection), .destination, flow, &w)
                w.endValue()
            }
            if hasDestination {
                writeList(list(for: .source, flow.trafficDirection), .source, flow, &w)
                w.endValue()
            }
        } else {
            if hasSource {
                writeList(list(for: .source, flow.trafficDirection), .source, flow, &w)
                w.endValue()
            }
            if hasDestination {
                writeList(list(for: .destination, flow.trafficDirection), .destination, flow, &w)
                w.endValue()
            }
        }
    }

    /// docs/hubble-compatibility.md §3.2: the ingress list when the flow is INGRESS and it is set, else the egress list
    /// when EGRESS and set, else the plain list (possibly unset).
    @inline(__always) func list(for side: Side, _ direction: TrafficDirection) -> [ContextIdentifier]? {
        switch side {
        case .source:
            if direction == .ingress, let l = sourceIngressContext { return l }
            if direction == .egress, let l = sourceEgressContext { return l }
            return sourceContext
        case .destination:
            if direction == .ingress, let l = destinationIngressContext { return l }
            if direction == .egress, let l = destinationEgressContext { return l }
            return destinationContext
        }
    }

    /// First identifier with a non-empty value wins; all empty gives "".
    @inline(__always) func writeList(_ list: [ContextIdentifier]?, _ side: Side, _ flow: Flow, _ w: inout LabelWriter) {
        guard let list else { return }
        for id in list {
            let mark = w.mark
            ContextOptions.writeIdentifier(id, side, flow, &w)
            if w.mark != mark { return }
        }
    }

    static func writeIdentifier(_ id: ContextIdentifier, _ side: Side, _ flow: Flow, _ w: inout LabelWriter) {
        switch id {
        case .dns:
            let names = side == .source ? flow.sourceNames : flow.destinationNames
            for (i, n) in names.enumerated() {
                if i > 0 { w.appendByte(0x2C) }
                w.append(n)
            }
            return
        case .ip:
            if let ip = flow.ip { w.appendIP(side == .source ? ip.source : ip.destination) }
            return
        default:
            break
        }
        guard let ep = side == .source ? flow.source : flow.destination else { return }
        switch id {
        case .identity:
            for (i, l) in ep.labels.enumerated() {
                if i > 0 { w.appendByte(0x2C) }
                w.append(l)
            }
        case .namespace:
            w.append(ep.namespace)
        case .pod:
            // Quirk kept: a namespace with an empty pod name gives "ns/", which counts as non-empty.
            if !ep.namespace.isEmpty {
                w.append(ep.namespace)
                w.appendByte(0x2F)
            }
            w.append(ep.podName)
        case .podName:
            w.append(ep.podName)
        case .reservedIdentity:
            if ep.labels.contains("reserved:kube-apiserver") {
                w.append("reserved:kube-apiserver")
            } else if let l = ep.labels.first(where: { $0.utf8.starts(with: "reserved:".utf8) }) {
                w.append(l)
            }
        case .workload:
            if let first = ep.workloads.first {
                if !ep.namespace.isEmpty {
                    w.append(ep.namespace)
                    w.appendByte(0x2F)
                }
                w.append(first.name)
            }
        case .workloadName:
            if let first = ep.workloads.first { w.append(first.name) }
        case .app:
            writeApp(ep, &w)
        case .dns, .ip:
            break
        }
    }

    static let appPrefixes: [String] = ["k8s:app.kubernetes.io/name=", "k8s:k8s-app=", "k8s:app="]

    /// App label lookup (docs/hubble-compatibility.md §3.1): the first label, in the endpoint's own order, that starts
    /// with one of the prefixes and has a non-empty value.
    static func writeApp(_ ep: Endpoint, _ w: inout LabelWriter) {
        for label in ep.labels {
            for prefix in appPrefixes {
                let u = label.utf8
                if u.count > prefix.utf8.count && u.starts(with: prefix.utf8) {
                    w.append(Substring(label).utf8.dropFirst(prefix.utf8.count))
                    return
                }
            }
        }
    }

    /// App value as a String (tests, endpoint matching).
    static func appValue(_ ep: Endpoint) -> String {
        var w = LabelWriter()
        writeApp(ep, &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// `src` / `dst` are already swapped when `invert` is set.
    func writeLabelsContext(_ flow: Flow, _ src: Endpoint?, _ dst: Endpoint?, _ invert: Bool, _ w: inout LabelWriter) {
        for label in labelsContext {
            writeLabelsContext(label, flow, src, dst, invert, &w)
            w.endValue()
        }
    }

    @inline(__always) func writeLabelsContext(
        _ label: LabelsContextLabel, _ flow: Flow, _ src: Endpoint?, _ dst: Endpoint?, _ invert: Bool,
        _ w: inout LabelWriter
    ) {
        switch label {
        case .sourceIP:
            if let ip = flow.ip { w.appendIP(invert ? ip.destination : ip.source) }
        case .sourcePod:
            if let p = src?.podName { w.append(p) }
        case .sourceNamespace:
            if let n = src?.namespace { w.append(n) }
        case .sourceWorkload:
            if let wl = src?.workloads.first { w.append(wl.name) }
        case .sourceWorkloadKind:
            if let wl = src?.workloads.first { w.append(wl.kind) }
        case .sourceApp:
            if let src { ContextOptions.writeApp(src, &w) }
        case .destinationIP:
            if let ip = flow.ip { w.appendIP(invert ? ip.source : ip.destination) }
        case .destinationPod:
            if let p = dst?.podName { w.append(p) }
        case .destinationNamespace:
            if let n = dst?.namespace { w.append(n) }
        case .destinationWorkload:
            if let wl = dst?.workloads.first { w.append(wl.name) }
        case .destinationWorkloadKind:
            if let wl = dst?.workloads.first { w.append(wl.kind) }
        case .destinationApp:
            if let dst { ContextOptions.writeApp(dst, &w) }
        case .trafficDirection:
            switch flow.trafficDirection {
            case .ingress: w.append("ingress")
            case .egress: w.append("egress")
            case .unknown: w.append("unknown")
            }
        }
    }
}
