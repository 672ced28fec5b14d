import SpyglassAPI

/// `hubble observe`'s filter flags turned into GetFlows whitelist/blacklist FlowFilters, as Hubble's CLI builds
/// them: flags that name either side (`--pod`, `--ip`, `--label`, `--namespace`, `--fqdn`, `--port`) produce a pair of
/// filters (source in one, destination in the other, OR-ed); `--from-*`/`--to-*` and side-less flags (`--verdict`,
/// `--protocol`, `--type`, `--http-*`) go into both. Flags after `--not` build the blacklist the same way.
public struct ObserveFilterBuilder {
    public enum Flag: String, CaseIterable, Sendable {
        case pod, fromPod = "from-pod", toPod = "to-pod"
        case namespace, fromNamespace = "from-namespace", toNamespace = "to-namespace"
        case label, fromLabel = "from-label", toLabel = "to-label"
        case ip, fromIP = "from-ip", toIP = "to-ip"
        case fqdn, fromFQDN = "from-fqdn", toFQDN = "to-fqdn"
        case port, fromPort = "from-port", toPort = "to-port"
        case verdict, `protocol`, type, httpStatus = "http-status", httpMethod = "http-method", httpPath = "http-path"
        case nodeName = "node-name", traceID = "trace-id", identity, fromIdentity = "from-identity", toIdentity =
            "to-identity"
    }

    public struct FilterError: Error, CustomStringConvertible {
        public let description: String
    }

    var left = Flow_FlowFilter()
    var right = Flow_FlowFilter()
    var usedEither = false
    var touched = false

    public init() {}

    /// One flag with its value (`--pod default/xwing` → `.pod`, `"default/xwing"`).
    public mutating func add(_ flag: Flag, _ value: String) throws(FilterError) {
        touched = true
        switch flag {
        case .pod:
            either(value) {
                $0.sourcePod.append($1)
            } dst: {
                $0.destinationPod.append($1)
            }
        case .fromPod: both { $0.sourcePod.append(value) }
        case .toPod: both { $0.destinationPod.append(value) }
        case .namespace:
            either(value + "/") {
                $0.sourcePod.append($1)
            } dst: {
                $0.destinationPod.append($1)
            }
        case .fromNamespace: both { $0.sourcePod.append(value + "/") }
        case .toNamespace: both { $0.destinationPod.append(value + "/") }
        case .label:
            either(value) {
                $0.sourceLabel.append($1)
            } dst: {
                $0.destinationLabel.append($1)
            }
        case .fromLabel: both { $0.sourceLabel.append(value) }
        case .toLabel: both { $0.destinationLabel.append(value) }
        case .ip:
            either(value) {
                $0.sourceIp.append($1)
            } dst: {
                $0.destinationIp.append($1)
            }
        case .fromIP: both { $0.sourceIp.append(value) }
        case .toIP: both { $0.destinationIp.append(value) }
        case .fqdn:
            either(value) {
                $0.sourceFqdn.append($1)
            } dst: {
                $0.destinationFqdn.append($1)
            }
        case .fromFQDN: both { $0.sourceFqdn.append(value) }
        case .toFQDN: both { $0.destinationFqdn.append(value) }
        case .port:
            either(value) {
                $0.sourcePort.append($1)
            } dst: {
                $0.destinationPort.append($1)
            }
        case .fromPort: both { $0.sourcePort.append(value) }
        case .toPort: both { $0.destinationPort.append(value) }
        case .identity, .fromIdentity, .toIdentity:
            guard let id = UInt32(value) else {
                throw FilterError(description: "--\(flag.rawValue): '\(value)' is not a numeric identity")
            }
            switch flag {
            case .identity:
                either(value) {
                    $0.sourceIdentity.append(id); _ = $1
                } dst: {
                    $0.destinationIdentity.append(id); _ = $1
                }
            case .fromIdentity: both { $0.sourceIdentity.append(id) }
            default: both { $0.destinationIdentity.append(id) }
            }
        case .verdict:
            guard let v = Flow_Verdict(protoName: value.uppercased()) else {
                throw FilterError(
                    description:
                        "--verdict: '\(value)' is not one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED"
                )
            }
            both { $0.verdict.append(v) }
        case .protocol: both { $0.protocol.append(value.lowercased()) }
        case .type:
            let f = try Self.eventType(value)
            both { $0.eventType.append(f) }
        case .httpStatus: both { $0.httpStatusCode.append(value) }
        case .httpMethod: both { $0.httpMethod.append(value) }
        case .httpPath: both { $0.httpPath.append(value) }
        case .nodeName: both { $0.nodeName.append(value) }
        case .traceID: both { $0.traceID.append(value) }
        }
    }

    private mutating func both(_ set: (inout Flow_FlowFilter) -> Void) {
        set(&left)
        set(&right)
    }

    private mutating func either(
        _ v: String, src: (inout Flow_FlowFilter, String) -> Void, dst: (inout Flow_FlowFilter, String) -> Void
    ) {
        usedEither = true
        src(&left, v)
        dst(&right, v)
    }

    /// The filters (empty when no flag was given).
    public var filters: [Flow_FlowFilter] {
        guard touched else { return [] }
        return usedEither ? [left, right] : [left]
    }

    /// `--type`: `trace[:observation-point]`, `drop`, `l7`, `policy-verdict`, `capture`, `trace-sock`, `debug`, `agent`.
    static func eventType(_ text: String) throws(FilterError) -> Flow_EventTypeFilter {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let types: [String: Int32] = [
            "drop": 1, "debug": 2, "capture": 3, "trace": 4, "policy-verdict": 5, "trace-sock": 7, "l7": 129,
            "agent": 130
        ]
        guard let name = parts.first, let t = types[name] else {
            throw FilterError(
                description: "--type: '\(text)' is not one of \(types.keys.sorted().joined(separator: ", "))")
        }
        var f = Flow_EventTypeFilter()
        f.type = t
        if parts.count == 2 {
            let points: [String: Int32] = [
                "to-endpoint": 0, "to-proxy": 1, "to-host": 2, "to-stack": 3, "to-overlay": 4, "from-endpoint": 5,
                "from-proxy": 6, "from-host": 7, "from-stack": 8, "from-overlay": 9, "from-network": 10,
                "to-network": 11
            ]
            guard t == 4, let sub = points[parts[1]] ?? Int32(parts[1]) else {
                throw FilterError(
                    description: "--type: '\(text)': only trace takes a sub-type such as trace:to-endpoint")
            }
            f.matchSubType = true
            f.subType = sub
        }
        return f
    }
}

extension Flow_Verdict {
    init?(protoName: String) {
        guard let v = Flow_Verdict.allCases.first(where: { FlowPrinter.name($0) == protoName }) else { return nil }
        self = v
    }
}
