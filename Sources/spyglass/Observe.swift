import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SpyglassObserver
import SpyglassSupport
import SwiftProtobuf

/// `spyglass observe`: Hubble's `hubble observe` against a Spyglass (or Hubble) server, or over flow-log files.
struct Observe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show flows from Hubble's API (a Spyglass or Hubble node) or from Hubble JSON flow logs, with hubble observe's flags.",
        discussion: """
            Either-side flags (--pod, --namespace, --label, --ip, --fqdn, --port, --identity) match the source OR the \
            destination; --from-*/--to-* one side. Different flags must all match; repeated values of one flag are \
            alternatives. --not negates the filter flag that follows it (e.g. --not --verdict FORWARDED).
            """)

    @OptionGroup var connection: HubbleClientOptions

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new flows.")
    var follow = false
    @Option(name: .customLong("last"), help: "The last N flows (default 20 when not following and no --since/--first).")
    var last: UInt64?
    @Option(name: .customLong("first"), help: "The first N flows.")
    var first: UInt64?
    @Flag(name: .customLong("all"), help: "Every flow the server holds.")
    var all = false
    @Option(name: .customLong("since"), help: "Flows since this time: RFC 3339 or a duration ago (e.g. 5m).")
    var since: String?
    @Option(name: .customLong("until"), help: "Flows until this time: RFC 3339 or a duration ago.")
    var until: String?
    @Option(name: [.customShort("o"), .customLong("output")], help: "compact, json, jsonpb, dict or table.")
    var output = "compact"
    @Option(
        name: .customLong("input-file"),
        help: "Read Hubble JSON flow logs from this file ('-' for stdin) instead of a server.")
    var inputFile: String?
    @Flag(name: .customLong("print-node-name"), help: "Print each flow's node name.")
    var printNodeName = false
    @Flag(name: .customLong("utc"), help: "Print times in UTC instead of local time.")
    var utc = false
    @Option(
        name: .customLong("field-mask"),
        help: "Only these Flow fields (comma-separated proto paths, e.g. time,source.pod_name,verdict).")
    var fieldMask: String?
    @Flag(name: .customLong("not"), help: "Negate the filter flag that follows.")
    var not: Int

    @Option(name: .customLong("pod")) var pod: [String] = []
    @Option(name: .customLong("from-pod")) var fromPod: [String] = []
    @Option(name: .customLong("to-pod")) var toPod: [String] = []
    @Option(name: [.customShort("n"), .customLong("namespace")]) var namespace: [String] = []
    @Option(name: .customLong("from-namespace")) var fromNamespace: [String] = []
    @Option(name: .customLong("to-namespace")) var toNamespace: [String] = []
    @Option(name: [.customShort("l"), .customLong("label")]) var label: [String] = []
    @Option(name: .customLong("from-label")) var fromLabel: [String] = []
    @Option(name: .customLong("to-label")) var toLabel: [String] = []
    @Option(name: .customLong("ip")) var ip: [String] = []
    @Option(name: .customLong("from-ip")) var fromIP: [String] = []
    @Option(name: .customLong("to-ip")) var toIP: [String] = []
    @Option(name: .customLong("fqdn")) var fqdn: [String] = []
    @Option(name: .customLong("from-fqdn")) var fromFQDN: [String] = []
    @Option(name: .customLong("to-fqdn")) var toFQDN: [String] = []
    @Option(name: .customLong("port")) var port: [String] = []
    @Option(name: .customLong("from-port")) var fromPort: [String] = []
    @Option(name: .customLong("to-port")) var toPort: [String] = []
    @Option(name: .customLong("identity")) var identity: [String] = []
    @Option(name: .customLong("from-identity")) var fromIdentity: [String] = []
    @Option(name: .customLong("to-identity")) var toIdentity: [String] = []
    @Option(name: .customLong("verdict"), help: "FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED.")
    var verdict: [String] = []
    @Option(name: .customLong("protocol"), help: "tcp, udp, icmp, icmpv4, icmpv6, sctp, dns, http, …") var proto:
        [String] = []
    @Option(name: [.customShort("t"), .customLong("type")], help: "trace[:point], drop, l7, policy-verdict, …")
    var type: [String] = []
    @Option(name: .customLong("http-status"), help: "e.g. 200, 4+, 50+") var httpStatus: [String] = []
    @Option(name: .customLong("http-method")) var httpMethod: [String] = []
    @Option(name: .customLong("http-path"), help: "Regular expression on the URL path.") var httpPath: [String] = []
    @Option(name: .customLong("node-name")) var nodeName: [String] = []
    @Option(name: .customLong("trace-id")) var traceID: [String] = []

    func run() async throws {
        guard let format = OutputFormat(rawValue: output) else {
            throw ValidationError("--output: '\(output)' is not one of compact, json, jsonpb, dict, table")
        }
        let request = try makeRequest()
        var printer = FlowPrinter(format: format, utc: utc, printNodeName: printNodeName)
        if let inputFile {
            let plan: GetFlowsPlan
            do { plan = try GetFlowsPlan(request) } catch { throw ValidationError("\(error.description)") }
            let handle: FileHandle
            if inputFile == "-" {
                handle = .standardInput
            } else {
                guard let h = FileHandle(forReadingAtPath: inputFile) else {
                    throw ValidationError("--input-file: cannot open \(inputFile)")
                }
                handle = h
            }
            var reader = FlowLogReader(plan: plan)
            for r in reader.read(handle, source: inputFile == "-" ? "stdin" : inputFile, onBadLine: { warn($0) }) {
                write(printer.render(r))
            }
            write(printer.finish())
            return
        }
        let target = try connection.target()
        let transport: HTTP2ClientTransport.Posix
        do { transport = try target.transport() } catch { throw ValidationError("\(error)") }
        let start = printer
        do {
            var done = try await withGRPCClient(transport: transport) { client in
                try await Observer_Observer.Client(wrapping: client).getFlows(request) { response in
                    var p = start
                    for try await message in response.messages {
                        write(p.render(message))
                    }
                    return p
                }
            }
            write(done.finish())
        } catch let e as RPCError {
            throw ValidationError("\(target.display): \(e.code): \(e.message)")
        }
    }

    func makeRequest() throws -> Observer_GetFlowsRequest {
        var r = Observer_GetFlowsRequest()
        r.follow = follow
        if let first {
            r.first = true
            r.number = first
        } else if let last {
            r.number = last
        } else if !follow && since == nil && !all {
            r.number = 20
        }
        let now = Timestamp.now
        if let since { r.since = try Self.time(since, flag: "--since", now: now) }
        if let until { r.until = try Self.time(until, flag: "--until", now: now) }
        if let fieldMask {
            r.fieldMask = Google_Protobuf_FieldMask(protoPaths: fieldMask.split(separator: ",").map { String($0) })
        }
        let (allow, deny) = try filters()
        r.whitelist = allow
        r.blacklist = deny
        return r
    }

    /// Values given right after `--not` go to the blacklist (found in the raw arguments: the parser keeps no order).
    func filters() throws -> ([Flow_FlowFilter], [Flow_FlowFilter]) {
        var negated: [String: [String]] = [:]
        let args = Array(CommandLine.arguments.dropFirst())
        var i = 0
        while i < args.count {
            if args[i] == "--not", i + 1 < args.count {
                let flag = args[i + 1]
                if let eq = flag.firstIndex(of: "="), flag.hasPrefix("--") {
                    negated[String(flag[flag.index(flag.startIndex, offsetBy: 2)..<eq]), default: []].append(
                        String(flag[flag.index(after: eq)...]))
                    i += 2
                    continue
                } else if i + 2 < args.count, flag.hasPrefix("-") {
                    negated[Self.longName(flag), default: []].append(args[i + 2])
                    i += 3
                    continue
                }
            }
            i += 1
        }
        let given: [(ObserveFilterBuilder.Flag, [String])] = [
            (.pod, pod), (.fromPod, fromPod), (.toPod, toPod), (.namespace, namespace), (.fromNamespace, fromNamespace),
            (.toNamespace, toNamespace), (.label, label), (.fromLabel, fromLabel), (.toLabel, toLabel), (.ip, ip),
            (.fromIP, fromIP), (.toIP, toIP), (.fqdn, fqdn), (.fromFQDN, fromFQDN), (.toFQDN, toFQDN), (.port, port),
            (.fromPort, fromPort), (.toPort, toPort), (.identity, identity), (.fromIdentity, fromIdentity),
            (.toIdentity, toIdentity), (.verdict, verdict), (.protocol, proto), (.type, type),
            (.httpStatus, httpStatus),
            (.httpMethod, httpMethod), (.httpPath, httpPath), (.nodeName, nodeName), (.traceID, traceID)
        ]
        var allow = ObserveFilterBuilder(), deny = ObserveFilterBuilder()
        do {
            for (flag, values) in given {
                for v in values {
                    if var list = negated[flag.rawValue], let k = list.firstIndex(of: v) {
                        list.remove(at: k)
                        negated[flag.rawValue] = list
                        try deny.add(flag, v)
                    } else {
                        try allow.add(flag, v)
                    }
                }
            }
        } catch {
            throw ValidationError(error.description)
        }
        return (allow.filters, deny.filters)
    }

    static func longName(_ flag: String) -> String {
        switch flag {
        case "-n": "namespace"
        case "-l": "label"
        case "-t": "type"
        default: flag.hasPrefix("--") ? String(flag.dropFirst(2)) : flag
        }
    }

    /// RFC 3339 (`2026-12-05T08:00:00Z`) or a Go duration meaning that long ago (`5m`).
    static func time(_ text: String, flag: String, now: Timestamp) throws -> Google_Protobuf_Timestamp {
        if let ns = GoDuration.nanoseconds(text) {
            let total = Int64(now.seconds) * 1_000_000_000 + Int64(now.nanos) - Int64(clamping: ns)
            return Google_Protobuf_Timestamp(seconds: total / 1_000_000_000, nanos: Int32(total % 1_000_000_000))
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let d = f.date(from: text) ?? plain.date(from: text) else {
            throw ValidationError("\(flag): '\(text)' is neither an RFC 3339 time nor a duration such as 5m")
        }
        return Google_Protobuf_Timestamp(date: d)
    }
}

/// `--server` and Hubble's client TLS flags, shared by `observe` and `status`.
struct HubbleClientOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: "unix:///path, a socket path, or host:port.")
    var server = HubbleClientTarget.defaultServer
    @Flag(name: .customLong("tls"), help: "Use TLS to reach --server.")
    var tls = false
    @Option(
        name: .customLong("tls-ca-cert-files"), help: "PEM CAs to verify the server with (comma-separated or repeated)."
    )
    var caFiles: [String] = []
    @Option(name: .customLong("tls-client-cert-file"), help: "PEM client certificate (mTLS).")
    var clientCert: String?
    @Option(name: .customLong("tls-client-key-file"), help: "PEM key of the client certificate.")
    var clientKey: String?
    @Option(
        name: .customLong("tls-server-name"),
        help: "Name the server certificate must carry (default: the --server host).")
    var serverName: String?

    func target() throws -> HubbleClientTarget {
        let cas = caFiles.flatMap { $0.split(separator: ",").map(String.init) }
        if !tls && (!cas.isEmpty || clientCert != nil || clientKey != nil || serverName != nil) {
            throw ValidationError("the --tls-* flags need --tls")
        }
        return HubbleClientTarget(
            server: server, tls: tls, tlsServerName: serverName, caFiles: cas,
            clientCertFile: clientCert, clientKeyFile: clientKey)
    }
}

func write(_ s: String) {
    guard !s.isEmpty else { return }
    FileHandle.standardOutput.write(Data(s.utf8))
}

func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
