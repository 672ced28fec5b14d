import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

/// A small schema of Hubble's export records written down from flow.proto (docs/hubble-compatibility.md §7)
/// (independently of the encoder's own tables), and a check that every line parses as JSON and uses only its keys and
/// enum names.
enum HubbleSchema {
    indirect enum Kind {
        case message(String), enumOf(Set<String>), string, uint32, int32, int64String, bool, strings, timestamp
        case messages(String), any
    }

    static let verdicts: Set<String> = [
        "VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED"
    ]
    static let points: Set<String> = [
        "UNKNOWN_POINT", "TO_PROXY", "TO_HOST", "TO_STACK", "TO_OVERLAY", "TO_ENDPOINT", "FROM_ENDPOINT", "FROM_PROXY",
        "FROM_HOST",
        "FROM_STACK", "FROM_OVERLAY", "FROM_NETWORK", "TO_NETWORK", "FROM_CRYPTO", "TO_CRYPTO"
    ]
    /// flow.proto's `DropReason` enum names.
    static let dropReasons: Set<String> = Set(
        """
        DROP_REASON_UNKNOWN INVALID_SOURCE_MAC INVALID_DESTINATION_MAC INVALID_SOURCE_IP POLICY_DENIED INVALID_PACKET_DROPPED
        CT_TRUNCATED_OR_INVALID_HEADER CT_MISSING_TCP_ACK_FLAG CT_UNKNOWN_L4_PROTOCOL CT_CANNOT_CREATE_ENTRY_FROM_PACKET
        UNSUPPORTED_L3_PROTOCOL MISSED_TAIL_CALL ERROR_WRITING_TO_PACKET UNKNOWN_L4_PROTOCOL UNKNOWN_ICMPV4_CODE UNKNOWN_ICMPV4_TYPE
        UNKNOWN_ICMPV6_CODE UNKNOWN_ICMPV6_TYPE ERROR_RETRIEVING_TUNNEL_KEY ERROR_RETRIEVING_TUNNEL_OPTIONS INVALID_GENEVE_OPTION
        UNKNOWN_L3_TARGET_ADDRESS STALE_OR_UNROUTABLE_IP NO_MATCHING_LOCAL_CONTAINER_FOUND ERROR_WHILE_CORRECTING_L3_CHECKSUM
        ERROR_WHILE_CORRECTING_L4_CHECKSUM CT_MAP_INSERTION_FAILED INVALID_IPV6_EXTENSION_HEADER IP_FRAGMENTATION_NOT_SUPPORTED
        SERVICE_BACKEND_NOT_FOUND NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT FAILED_TO_INSERT_INTO_PROXYMAP
        REACHED_EDT_RATE_LIMITING_DROP_HORIZON UNKNOWN_CONNECTION_TRACKING_STATE LOCAL_HOST_IS_UNREACHABLE
        NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION UNSUPPORTED_L2_PROTOCOL NO_MAPPING_FOR_NAT_MASQUERADE
        UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE FIB_LOOKUP_FAILED ENCAPSULATION_TRAFFIC_IS_PROHIBITED INVALID_IDENTITY UNKNOWN_SENDER
        NAT_NOT_NEEDED IS_A_CLUSTERIP FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND FORBIDDEN_ICMPV6_MESSAGE DENIED_BY_LB_SRC_RANGE_CHECK
        SOCKET_LOOKUP_FAILED SOCKET_ASSIGN_FAILED PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL POLICY_DENY VLAN_FILTERED INVALID_VNI
        INVALID_TC_BUFFER NO_SID MISSING_SRV6_STATE NAT46 NAT64 AUTH_REQUIRED CT_NO_MAP_FOUND SNAT_NO_MAP_FOUND INVALID_CLUSTER_ID
        UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP NO_EGRESS_GATEWAY UNENCRYPTED_TRAFFIC TTL_EXCEEDED NO_NODE_ID DROP_RATE_LIMITED
        IGMP_HANDLED IGMP_SUBSCRIBED MULTICAST_HANDLED DROP_HOST_NOT_READY DROP_EP_NOT_READY DROP_NO_EGRESS_IP DROP_PUNT_PROXY
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    static let messages: [String: [String: Kind]] = [
        "ExportEvent": [
            "flow": .message("Flow"), "lost_events": .message("LostEvent"), "node_name": .string, "time": .timestamp
        ],
        "LostEvent": [
            "source": .enumOf([
                "UNKNOWN_LOST_EVENT_SOURCE", "PERF_EVENT_RING_BUFFER", "OBSERVER_EVENTS_QUEUE", "HUBBLE_RING_BUFFER"
            ]),
            "num_events_lost": .int64String, "cpu": .int32
        ],
        "Flow": [
            "time": .timestamp, "uuid": .string, "emitter": .message("Emitter"), "verdict": .enumOf(verdicts),
            "drop_reason": .uint32,
            "auth_type": .enumOf(["DISABLED", "SPIRE", "TEST_ALWAYS_FAIL"]), "ethernet": .message("Ethernet"),
            "IP": .message("IP"),
            "l4": .message("Layer4"), "tunnel": .message("Tunnel"), "source": .message("Endpoint"),
            "destination": .message("Endpoint"),
            "Type": .enumOf(["UNKNOWN_TYPE", "L3_L4", "L7", "SOCK"]), "node_name": .string, "node_labels": .strings,
            "source_names": .strings, "destination_names": .strings, "l7": .message("Layer7"), "reply": .bool,
            "event_type": .message("CiliumEventType"), "source_service": .message("Service"),
            "destination_service": .message("Service"),
            "traffic_direction": .enumOf(["TRAFFIC_DIRECTION_UNKNOWN", "INGRESS", "EGRESS"]),
            "policy_match_type": .uint32,
            "trace_observation_point": .enumOf(points), "drop_reason_desc": .enumOf(dropReasons), "is_reply": .bool,
            "interface": .message("NetworkInterface"), "trace_context": .message("TraceContext"), "Summary": .string,
            "extensions": .any, "aggregate": .message("Aggregate")
        ],
        "Emitter": ["name": .string, "version": .string],
        "Ethernet": ["source": .string, "destination": .string],
        "IP": [
            "source": .string, "source_xlated": .string, "destination": .string,
            "ipVersion": .enumOf(["IP_NOT_USED", "IPv4", "IPv6"]), "encrypted": .bool
        ],
        "Layer4": [
            "TCP": .message("TCP"), "UDP": .message("Ports"), "ICMPv4": .message("ICMP"), "ICMPv6": .message("ICMP"),
            "SCTP": .message("Ports"), "VRRP": .message("VRRP"), "IGMP": .message("IGMP")
        ],
        "TCP": ["source_port": .uint32, "destination_port": .uint32, "flags": .message("TCPFlags")],
        "TCPFlags": [
            "FIN": .bool, "SYN": .bool, "RST": .bool, "PSH": .bool, "ACK": .bool, "URG": .bool, "ECE": .bool,
            "CWR": .bool, "NS": .bool
        ],
        "Ports": ["source_port": .uint32, "destination_port": .uint32],
        "ICMP": ["type": .uint32, "code": .uint32],
        "VRRP": ["type": .uint32, "vrid": .uint32, "priority": .uint32],
        "IGMP": ["type": .uint32, "group_address": .string],
        "Tunnel": [
            "protocol": .enumOf(["UNKNOWN", "VXLAN", "GENEVE"]), "IP": .message("IP"), "l4": .message("Layer4"),
            "vni": .uint32
        ],
        "Endpoint": [
            "ID": .uint32, "identity": .uint32, "cluster_name": .string, "namespace": .string, "labels": .strings,
            "pod_name": .string,
            "workloads": .messages("Workload")
        ],
        "Workload": ["name": .string, "kind": .string],
        "Layer7": [
            "type": .enumOf(["UNKNOWN_L7_TYPE", "REQUEST", "RESPONSE", "SAMPLE"]), "latency_ns": .int64String,
            "dns": .message("DNS"), "http": .message("HTTP")
        ],
        "DNS": [
            "query": .string, "ips": .strings, "ttl": .uint32, "cnames": .strings, "observation_source": .string,
            "rcode": .uint32,
            "qtypes": .strings, "rrtypes": .strings
        ],
        "HTTP": [
            "code": .uint32, "method": .string, "url": .string, "protocol": .string, "headers": .messages("HTTPHeader")
        ],
        "HTTPHeader": ["key": .string, "value": .string],
        "CiliumEventType": ["type": .int32, "sub_type": .int32],
        "Service": ["name": .string, "namespace": .string],
        "NetworkInterface": ["index": .uint32, "name": .string],
        "TraceContext": ["parent": .message("TraceParent")],
        "TraceParent": ["trace_id": .string],
        "Aggregate": [
            "ingress_flow_count": .uint32, "egress_flow_count": .uint32, "unknown_direction_flow_count": .uint32
        ]
    ]

    /// Problems found in one line ("" entries never appear); empty when the line conforms.
    static func problems(line: String) -> [String] {
        guard let data = line.data(using: .utf8),
            let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            return ["not a JSON object: \(line)"]
        }
        var out: [String] = []
        check(obj, "ExportEvent", "", &out)
        return out
    }

    private static func check(_ obj: [String: Any], _ message: String, _ path: String, _ out: inout [String]) {
        let fields = messages[message]!
        for (k, v) in obj {
            let p = path.isEmpty ? k : path + "." + k
            guard let kind = fields[k] else {
                out.append("\(p): no such field in \(message)")
                continue
            }
            check(v, kind, p, &out)
        }
    }

    private static func check(_ v: Any, _ kind: Kind, _ p: String, _ out: inout [String]) {
        switch kind {
        case .message(let m):
            guard let o = v as? [String: Any] else { return out.append("\(p): expected an object") }
            check(o, m, p, &out)
        case .messages(let m):
            guard let a = v as? [[String: Any]] else { return out.append("\(p): expected a list of objects") }
            for o in a { check(o, m, p, &out) }
        case .enumOf(let names):
            guard let s = v as? String, names.contains(s) else { return out.append("\(p): \(v) is not an enum name") }
        case .string:
            if !(v is String) { out.append("\(p): expected a string") }
        case .strings:
            if !(v is [String]) { out.append("\(p): expected a list of strings") }
        case .timestamp:
            guard let s = v as? String, s.hasSuffix("Z"), s.count >= 20 else {
                return out.append("\(p): bad timestamp \(v)")
            }
        case .int64String:
            guard let s = v as? String, UInt64(s) != nil else {
                return out.append("\(p): 64-bit integers are strings, got \(v)")
            }
        case .uint32, .int32:
            guard v is NSNumber, !(v is String) else { return out.append("\(p): expected an integer") }
        case .bool:
            guard v is NSNumber || v is Bool else { return out.append("\(p): expected a bool") }
        case .any:
            guard let o = v as? [String: Any], let t = o["@type"] as? String, t.hasPrefix("type.googleapis.com/") else {
                return out.append("\(p): an Any needs an @type")
            }
        }
    }
}

@Suite struct HubbleSchemaTests {
    @Test func goldenLinesConform() throws {
        let all =
            Array(GoldenLineTests.full.values) + Array(GoldenLineTests.masked.values)
            + Array(GoldenLineTests.nested.values)
        #expect(all.count == 3 * Fx.all.count)
        for line in all {
            #expect(HubbleSchema.problems(line: line) == [], "\(line)")
        }
    }

    @Test func encodedLinesConform() throws {
        let enc = FlowRecordEncoder()
        let agg = Aggregator(
            mask: try FieldMask(paths: ["source", "destination.pod_name", "l4", "verdict", "node_name"]), encoder: enc)
        var lines: [String] = []
        for (_, f) in Fx.all {
            lines.append(String(decoding: enc.encode(f, uuid: UUIDv4(high: 1, low: 2)), as: UTF8.self))
            agg.add(f)
        }
        lines += agg.drain().map { String(decoding: $0, as: UTF8.self) }
        for s in LostEventSource.allCases {
            lines.append(
                String(decoding: enc.encodeLost(source: s, count: 1, cpu: 3, nodeName: "n", time: Fx.t0), as: UTF8.self)
            )
        }
        for line in lines {
            #expect(line.hasSuffix("}\n"))
            #expect(HubbleSchema.problems(line: line) == [], "\(line)")
        }
    }

    @Test func schemaCatchesMistakes() {
        #expect(HubbleSchema.problems(line: #"{"flow":{"ip":{}}}"#) == ["flow.ip: no such field in Flow"])
        #expect(HubbleSchema.problems(line: #"{"flow":{"verdict":"OK"}}"#) == ["flow.verdict: OK is not an enum name"])
        #expect(
            HubbleSchema.problems(line: #"{"flow":{"l7":{"latency_ns":5}}}"#) == [
                "flow.l7.latency_ns: 64-bit integers are strings, got 5"
            ])
    }
}
