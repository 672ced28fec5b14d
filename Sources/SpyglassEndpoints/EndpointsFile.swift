import Foundation
import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization
import Yams

/// The endpoints file (`--endpoints-file`): addresses and networks Kubernetes does not know (or no Kubernetes at
/// all), YAML or JSON (Yams reads both).
///
/// ```yaml
/// # Either a mapping with `endpoints:` or a bare list of entries.
/// endpoints:
///   - addresses: [10.20.0.0/16]          # required, non-empty: IPv4/IPv6 addresses and/or CIDRs
///     namespace: billing                 # optional
///     workload: ledger                   # optional: workloads[0].name
///     kind: VirtualMachine               # optional: workloads[0].kind (only with workload)
///     labels: {app: ledger, tier: db}    # optional: a map (becomes k8s:key=value) or a list of
///                                        #   "source:key=value" / "key=value" strings (default source k8s)
///   - addresses: [192.0.2.10, "2001:db8::10"]
///     namespace: shop
///     pod: checkout-0                    # optional: pod_name
///     workload: checkout
///     kind: StatefulSet
///     labels: ["k8s:app=checkout"]
///     identity: 40000                    # optional: numeric identity (default: derived from the labels)
///     cluster: east                      # optional: cluster_name (default: the agent's --cluster-name)
///   - addresses: [10.96.0.10]
///     service: {name: kube-dns, namespace: kube-system}   # optional: these addresses are this service's
///                                                          #   frontends (source_service / destination_service)
/// ```
///
/// An entry with a namespace also gets `k8s:io.kubernetes.pod.namespace=<namespace>`, as pods do. Unknown keys are
/// errors (a typo should not silently drop data). The same address or network in two entries: the first entry
/// wins. JSON is the same structure (`{"endpoints": [{"addresses": ["10.0.0.1"], ...}]}`).
public enum EndpointsFile {
    static let entryKeys: Set<String> = [
        "addresses", "namespace", "pod", "workload", "kind", "labels", "identity", "cluster", "service"
    ]

    /// Parses the file's text. Errors name the file, the entry (`endpoints[2]`), the field, the line and what is
    /// wrong.
    public static func parse(_ text: String, path: String, clusterName: String = "") throws(EndpointsFileError)
        -> [EndpointInfo]
    {
        let root: Node?
        do {
            root = try YAMLDocument.load(text)
        } catch {
            switch error {
            case .tooDeep(let problem): throw EndpointsFileError(path: path, location: nil, message: problem)
            case .syntax(let e as YamlError): throw EndpointsFileError(path: path, location: nil, message: describe(e))
            case .syntax(let e): throw EndpointsFileError(path: path, location: nil, message: "\(e)")
            }
        }
        guard let root else { return [] }  // empty file: no entries
        let list: Node.Sequence
        var prefix = "endpoints"
        switch root {
        case .sequence(let s):
            list = s
            prefix = ""
        case .mapping(let m):
            for (k, _) in m where k.string != "endpoints" {
                throw EndpointsFileError(
                    path: path, location: at("", k),
                    message: "unknown top-level key '\(k.string ?? "?")' (expected 'endpoints')")
            }
            guard let v = m["endpoints"] else { return [] }
            if case .scalar(let s) = v, s.string.isEmpty || s.string == "null" || s.string == "~" { return [] }
            guard case .sequence(let s) = v else {
                throw EndpointsFileError(path: path, location: at("endpoints", v), message: "must be a list of entries")
            }
            list = s
        case .scalar(let s) where s.string.isEmpty:
            return []
        default:
            throw EndpointsFileError(
                path: path, location: at("", root),
                message: "the file must be a list of entries or a mapping with 'endpoints'")
        }

        var out: [EndpointInfo] = []
        for (i, node) in list.enumerated() {
            let here = "\(prefix)[\(i)]"
            guard case .mapping(let m) = node else {
                throw EndpointsFileError(path: path, location: at(here, node), message: "an entry must be a mapping")
            }
            for (k, _) in m where !entryKeys.contains(k.string ?? "") {
                throw EndpointsFileError(
                    path: path, location: at(here, k),
                    message:
                        "unknown field '\(k.string ?? "?")' (expected one of \(entryKeys.sorted().joined(separator: ", ")))"
                )
            }
            func string(_ key: String) throws(EndpointsFileError) -> String {
                guard let v = m[key] else { return "" }
                guard case .scalar(let s) = v else {
                    throw EndpointsFileError(path: path, location: at("\(here).\(key)", v), message: "must be a string")
                }
                return s.string
            }
            // addresses
            guard let addrNode = m["addresses"] else {
                throw EndpointsFileError(
                    path: path, location: at(here, node), message: "missing required field 'addresses'")
            }
            var addrNodes: [Node] = []
            switch addrNode {
            case .sequence(let s): addrNodes = Array(s)
            case .scalar: addrNodes = [addrNode]
            default:
                throw EndpointsFileError(
                    path: path, location: at("\(here).addresses", addrNode), message: "must be a list of IPs or CIDRs")
            }
            if addrNodes.isEmpty {
                throw EndpointsFileError(
                    path: path, location: at("\(here).addresses", addrNode), message: "must not be empty")
            }
            var prefixes: [IPPrefix] = []
            for (j, a) in addrNodes.enumerated() {
                guard case .scalar(let s) = a, let p = IPPrefix(s.string) else {
                    throw EndpointsFileError(
                        path: path, location: at("\(here).addresses[\(j)]", a),
                        message: "'\(a.string ?? "?")' is not an IPv4/IPv6 address or CIDR")
                }
                prefixes.append(p)
            }
            let namespace = try string("namespace")
            let pod = try string("pod")
            let workload = try string("workload")
            let kind = try string("kind")
            if !kind.isEmpty && workload.isEmpty {
                throw EndpointsFileError(
                    path: path, location: at("\(here).kind", m["kind"]!), message: "'kind' needs 'workload'")
            }
            var cluster = try string("cluster")
            if m["cluster"] == nil { cluster = clusterName }
            // labels
            var labels: [String] = []
            if let l = m["labels"] {
                switch l {
                case .mapping(let lm):
                    for (k, v) in lm {
                        guard let key = k.string, !key.isEmpty, case .scalar(let sv) = v else {
                            throw EndpointsFileError(
                                path: path, location: at("\(here).labels", k),
                                message: "labels must map names to strings")
                        }
                        labels.append("k8s:\(key)=\(sv.string)")
                    }
                case .sequence(let ls):
                    for (j, v) in ls.enumerated() {
                        guard case .scalar(let sv) = v, let label = normalizeLabel(sv.string) else {
                            throw EndpointsFileError(
                                path: path, location: at("\(here).labels[\(j)]", v),
                                message: "'\(v.string ?? "?")' is not a label (source:key=value or key=value)")
                        }
                        labels.append(label)
                    }
                case .scalar(let s) where s.string.isEmpty || s.string == "null" || s.string == "~":
                    break
                default:
                    throw EndpointsFileError(
                        path: path, location: at("\(here).labels", l), message: "must be a map or a list of strings")
                }
            }
            if !namespace.isEmpty { labels.append("k8s:\(EndpointLabels.namespaceKey)=\(namespace)") }
            // identity
            var identity: UInt32?
            if let idNode = m["identity"] {
                guard case .scalar(let s) = idNode, let v = UInt32(s.string), v > 0 else {
                    throw EndpointsFileError(
                        path: path, location: at("\(here).identity", idNode),
                        message: "'\(idNode.string ?? "?")' is not a positive 32-bit number")
                }
                identity = v
            }
            // service
            var service: Service?
            if let sNode = m["service"] {
                guard case .mapping(let sm) = sNode else {
                    throw EndpointsFileError(
                        path: path, location: at("\(here).service", sNode),
                        message: "must be a mapping {name, namespace}")
                }
                for (k, _) in sm where k.string != "name" && k.string != "namespace" {
                    throw EndpointsFileError(
                        path: path, location: at("\(here).service", k),
                        message: "unknown field '\(k.string ?? "?")' (expected name, namespace)")
                }
                guard let name = sm["name"]?.string, !name.isEmpty else {
                    throw EndpointsFileError(
                        path: path, location: at("\(here).service.name", sNode), message: "missing service name")
                }
                service = Service(name: name, namespace: sm["namespace"]?.string ?? namespace)
            }
            out.append(
                EndpointInfo(
                    prefixes: prefixes, namespace: namespace, podName: pod, labels: labels,
                    workloads: workload.isEmpty ? [] : [Workload(name: workload, kind: kind)], clusterName: cluster,
                    identity: identity, service: service))
        }
        return out
    }

    /// `key=value` gets the `k8s:` source; `source:key=value` and bare `reserved:x` stay as they are.
    static func normalizeLabel(_ s: String) -> String? {
        let t = String(s.trimmingWhitespace())
        if t.isEmpty { return nil }
        if let colon = t.firstIndex(of: ":"), let eq = t.firstIndex(of: "="), colon < eq { return t }
        if t.hasPrefix("reserved:") { return t }
        if t.contains("=") && !t.hasPrefix("=") { return "k8s:\(t)" }
        return nil
    }

    static func at(_ path: String, _ node: Node) -> String {
        let line = node.mark.map { " (line \($0.line))" } ?? ""
        return path.isEmpty ? "line \(node.mark?.line ?? 0)" : path + line
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            "not valid YAML/JSON at line \(mark.line) column \(mark.column): \(problem)"
        case .reader(let problem, let offset, _, _):
            "cannot read as text\(offset.map { " at byte \($0)" } ?? ""): \(problem)"
        default:
            "not valid YAML/JSON: \(e)"
        }
    }
}

/// What is wrong with an endpoints file, naming the file, the entry and field, and the line.
public struct EndpointsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// e.g. `endpoints[2].addresses[1] (line 9)`; nil for whole-file problems.
    public var location: String?
    public var message: String
    public var description: String {
        "endpoints file \(path): " + (location.map { "\($0): " } ?? "") + message
    }
}

/// Loads the endpoints file, re-reads it when its content changes (polled by hash), and keeps the last good
/// entries when a new version is bad.
final class EndpointsFileSource: Sendable {
    let path: String
    let status: SourceStatus
    private let clusterName: String
    private let store: EndpointStore
    private let logger: Logger
    private let poller: FilePoller
    private struct State {
        var infos: [EndpointInfo] = []
        var lastError: EndpointsFileError?
    }
    private let state = PThreadMutex(State())

    init(path: String, interval: Duration, clusterName: String, store: EndpointStore, logger: Logger) {
        self.path = path
        self.clusterName = clusterName
        self.store = store
        self.logger = logger
        poller = FilePoller(path: path, interval: interval)
        status = SourceStatus(name: "file", kinds: ["entries"], reasons: ["read", "parse"])
    }

    var infos: [EndpointInfo] { state.withLock { $0.infos } }
    var lastError: EndpointsFileError? { state.withLock { $0.lastError } }

    /// Reads the file if its content changed. Returns the error of a bad or unreadable file (the last good
    /// entries stay), nil when the file is fine (changed or not).
    @discardableResult
    func reload() -> EndpointsFileError? { poller.check(handle) }

    private func handle(_ change: FilePoller.Change) -> EndpointsFileError? {
        switch change {
        case .unchanged:
            return state.withLock { $0.lastError }
        case .failed(let error):
            return fail(EndpointsFileError(path: path, location: nil, message: "cannot read: \(error)"), reason: "read")
        case .changed(let bytes, _):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return fail(
                    EndpointsFileError(path: path, location: nil, message: "is not UTF-8 text"), reason: "parse")
            }
            do {
                let infos = try EndpointsFile.parse(text, path: path, clusterName: clusterName)
                state.withLock {
                    $0.infos = infos
                    $0.lastError = nil
                }
                status.setObjects("entries", infos.count)
                status.setSynced(true)
                status.event()
                logger.info("endpoints file loaded", metadata: ["path": "\(path)", "entries": "\(infos.count)"])
                store.invalidate()
                return nil
            } catch {
                return fail(error, reason: "parse")
            }
        }
    }

    /// Counts and logs a problem. The poller reports each distinct content or read error once, so each is one.
    private func fail(_ e: EndpointsFileError, reason: String) -> EndpointsFileError {
        state.withLock { $0.lastError = e }
        status.error(reason, message: e.description)
        logger.error("\(e.description); keeping the last good entries")
        return e
    }

    /// Re-reads the file every interval until the task is cancelled.
    func run() async {
        await poller.run { [self] change in _ = handle(change) }
    }
}
