import Foundation
import SpyglassAgent
import SpyglassExport
import SpyglassTesting
import Testing

/// Truncated and crafted IPv4/IPv6/extension-header frames, sent on a packet socket into a pod that really drops
/// them: what the drop program reports is checked field by field in the flow log (addresses, ports or none, reason,
/// direction), and frames whose IP header cannot be read are counted by why and never reported.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct DropParsingEndToEndTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Scripts/frames.py"
    ).path

    struct Reported: Equatable, CustomStringConvertible {
        var source: String, destination: String, l4: String, reason: String, kernelReason: String, direction: String
        var description: String { "\(source)->\(destination) \(l4) \(reason)/\(kernelReason) \(direction)" }
    }

    /// DROPPED flows of the flow log from `source` to `destination`.
    static func reported(_ path: String, from source: String, to destination: String) throws -> [Reported] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var out: [Reported] = []
        for line in text.split(separator: "\n") {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let flow = obj?["flow"] as? [String: Any], flow["verdict"] as? String == "DROPPED",
                let ip = flow["IP"] as? [String: Any]
            else { continue }
            let src = ip["source"] as? String ?? "", dst = ip["destination"] as? String ?? ""
            guard src == source || dst == destination else { continue }
            var l4 = "none"
            if let l = flow["l4"] as? [String: Any], let (proto, v) = l.first, let f = v as? [String: Any] {
                l4 = "\(proto) \(f["source_port"] as? Int ?? -1)->\(f["destination_port"] as? Int ?? -1)"
            }
            let ext = (flow["extensions"] as? [String: Any])?["value"] as? [String: Any]
            out.append(
                Reported(
                    source: src, destination: dst, l4: l4, reason: flow["drop_reason_desc"] as? String ?? "",
                    kernelReason: ext?["kernel_drop_reason"] as? String ?? "",
                    direction: flow["traffic_direction"] as? String ?? ""))
            // The legacy numeric reason is never 0 ("Success" in Hubble's printers).
            #expect((flow["drop_reason"] as? Int ?? 0) > 0, "\(line)")
        }
        return out
    }

    @Test func malformedFramesAreReportedExactlyOrCountedNeverGuessed() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-dropparse-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/flows.log"
        try await withLab { lab in
            // A direct veth into the victim's namespace (no bridge, whose netfilter hooks may vet IP headers first):
            // the frames are sent from the root side on a packet socket and dropped by the victim's stack.
            let victimNS = try lab.addNamespace("victim", disableIPv6: false)
            let wire = lab.prefix + "w0"
            try lab.addVethPair(wire, peer: "eth0", peerNamespace: victimNS, disableIPv6: false)
            try lab.addAddress("10.199.52.3/24", interface: "eth0", namespace: victimNS)
            try lab.addAddress("fd00:199:52::3/64", interface: "eth0", namespace: victimNS)
            try lab.setLinkUp(wire)
            try lab.setLinkUp("eth0", namespace: victimNS)
            func mac(_ iface: String, _ ns: String?) throws -> String {
                let out = try lab.ip(["-o", "link", "show", "dev", iface], namespace: ns).stdout
                let words = out.split(whereSeparator: { $0 == " " || $0 == "\\" })
                guard let i = words.firstIndex(of: "link/ether"), i + 1 < words.count else {
                    throw LabError("no MAC in \(out)")
                }
                return String(words[i + 1])
            }
            let wireMAC = try mac(wire, nil), victimMAC = try mac("eth0", victimNS)
            var c = AgentConfig()
            c.interfaces = [wire]
            c.metricsServer = "127.0.0.1:0"
            c.hubbleMetrics = "drop"
            c.staticExport = StaticExporterConfig(
                filePath: log, fileMaxSizeMB: 10, fileMaxBackups: 1, fileCompress: false)
            let n = 3
            let v4 = ("10.199.52.2", "10.199.52.3"), v6 = ("fd00:199:52::2", "fd00:199:52::3")
            let sends: [(String, (String, String))] = [
                ("v4-short-ihl", v4), ("v4-cut-header", v4), ("v6-cut-header", v6),
                ("v4-too-small", v4), ("v4-cut-tcp", v4), ("v6-ext-past-end", v6), ("v6-bad-option", v6)
            ]
            try await withStartedAgent(c) { agent in
                for (kind, (src, dst)) in sends {
                    let r = try lab.run(
                        inNamespace: nil, ["python3", Self.script, kind, wire, wireMAC, victimMAC, src, dst, "\(n)"])
                    #expect(r.succeeded, "\(kind): \(r)")
                }
                let m = try scrapeMetrics(agent.serverPort) { m in
                    m.value("spyglass_drops_unparsed_total", ["why": "bad_ip_header"]) >= Double(n)
                        && m.value("spyglass_drops_unparsed_total", ["why": "truncated_ip"]) >= Double(2 * n)
                        && m.value("hubble_drop_total") >= Double(4 * n)
                }
                // The IPv4 header with IHL 4, and the cut IPv4 and IPv6 headers: counted, not reported.
                #expect(
                    m.value("spyglass_drops_unparsed_total", ["why": "bad_ip_header"]) == Double(n),
                    "\(m.series("spyglass_drops_unparsed_total"))")
                #expect(m.value("spyglass_drops_unparsed_total", ["why": "truncated_ip"]) == Double(2 * n))
                Thread.sleep(forTimeInterval: 0.5)  // the flow log's writer catches up
            }
            let got4 = try Self.reported(log, from: v4.0, to: v4.1)
            let got6 = try Self.reported(log, from: v6.0, to: v6.1)
            func want(_ src: String, _ dst: String, _ l4: String, _ reason: String, _ kernel: String) -> [Reported] {
                Array(
                    repeating: Reported(
                        source: src, destination: dst, l4: l4, reason: reason, kernelReason: kernel,
                        direction: "INGRESS"), count: n)
            }
            // A total length beyond the frame: the headers that are there are exact.
            let tooSmall = want(v4.0, v4.1, "UDP 40000->7200", "CT_TRUNCATED_OR_INVALID_HEADER", "PKT_TOO_SMALL")
            // A TCP header cut after 6 bytes (and a bad IP checksum, so that IP drops it): the addresses, and no
            // ports rather than bytes after the packet.
            let cutTCP = want(v4.0, v4.1, "none", "INVALID_PACKET_DROPPED", "IP_CSUM")
            #expect(got4 == tooSmall + cutTCP, "\(got4)")
            // IPv6: an extension header claiming 2 KiB past the end of a payload shorter than announced (no L4), and
            // an unknown "discard" option in a hop-by-hop header (the UDP header behind it is exact).
            let pastEnd = want(v6.0, v6.1, "none", "CT_TRUNCATED_OR_INVALID_HEADER", "PKT_TOO_SMALL")
            let badOption = want(v6.0, v6.1, "UDP 40001->7201", "UNKNOWN_L4_PROTOCOL", "UNHANDLED_PROTO")
            #expect(got6 == pastEnd + badOption, "\(got6)")
        }
    }
}
