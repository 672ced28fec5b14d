/// The `Flow` message tree of flow.proto as far as field masks and aggregation paths need it
/// (docs/hubble-compatibility.md §7.1, §9.4): field names in declaration order, which message a field holds, whether it
/// is a member of a oneof, and whether it is repeated (a repeated field or a scalar cannot have sub-paths).
enum FlowSchema {
    enum Kind: Equatable {
        case scalar
        case repeated
        case message(String)
        case oneofMessage(String)
    }

    struct Field {
        let name: String
        let kind: Kind
        init(_ name: String, _ kind: Kind = .scalar) {
            self.name = name
            self.kind = kind
        }
    }

    /// Message name → fields in declaration order. Timestamps, wrappers (`is_reply`) and `Any` are leaves.
    static let messages: [String: [Field]] = [
        "Flow": [
            Field("time"), Field("uuid"), Field("emitter", .message("Emitter")), Field("verdict"), Field("drop_reason"),
            Field("auth_type"), Field("ethernet", .message("Ethernet")), Field("IP", .message("IP")),
            Field("l4", .message("Layer4")), Field("tunnel", .message("Tunnel")),
            Field("source", .message("Endpoint")), Field("destination", .message("Endpoint")), Field("Type"),
            Field("node_name"), Field("node_labels", .repeated), Field("source_names", .repeated),
            Field("destination_names", .repeated), Field("l7", .message("Layer7")), Field("reply"),
            Field("event_type", .message("CiliumEventType")), Field("source_service", .message("Service")),
            Field("destination_service", .message("Service")), Field("traffic_direction"), Field("policy_match_type"),
            Field("trace_observation_point"), Field("trace_reason"), Field("file", .message("FileInfo")),
            Field("ip_trace_id", .message("IPTraceID")), Field("drop_reason_desc"), Field("is_reply"),
            Field("debug_capture_point"), Field("interface", .message("NetworkInterface")), Field("proxy_port"),
            Field("trace_context", .message("TraceContext")), Field("sock_xlate_point"), Field("socket_cookie"),
            Field("cgroup_id"), Field("Summary"), Field("extensions"), Field("egress_allowed_by", .repeated),
            Field("ingress_allowed_by", .repeated), Field("egress_denied_by", .repeated),
            Field("ingress_denied_by", .repeated), Field("policy_log", .repeated),
            Field("aggregate", .message("Aggregate"))
        ],
        "Emitter": [Field("name"), Field("version")],
        "Ethernet": [Field("source"), Field("destination")],
        "IP": [Field("source"), Field("source_xlated"), Field("destination"), Field("ipVersion"), Field("encrypted")],
        "Layer4": [
            Field("TCP", .oneofMessage("TCP")), Field("UDP", .oneofMessage("UDP")),
            Field("ICMPv4", .oneofMessage("ICMPv4")), Field("ICMPv6", .oneofMessage("ICMPv6")),
            Field("SCTP", .oneofMessage("SCTP")), Field("VRRP", .oneofMessage("VRRP")),
            Field("IGMP", .oneofMessage("IGMP"))
        ],
        "TCP": [Field("source_port"), Field("destination_port"), Field("flags", .message("TCPFlags"))],
        "TCPFlags": [
            Field("FIN"), Field("SYN"), Field("RST"), Field("PSH"), Field("ACK"), Field("URG"), Field("ECE"),
            Field("CWR"), Field("NS")
        ],
        "UDP": [Field("source_port"), Field("destination_port")],
        "SCTP": [Field("source_port"), Field("destination_port"), Field("chunk_type")],
        "ICMPv4": [Field("type"), Field("code")],
        "ICMPv6": [Field("type"), Field("code")],
        "VRRP": [Field("type"), Field("vrid"), Field("priority")],
        "IGMP": [Field("type"), Field("group_address")],
        "Tunnel": [Field("protocol"), Field("IP", .message("IP")), Field("l4", .message("Layer4")), Field("vni")],
        "Endpoint": [
            Field("ID"), Field("identity"), Field("cluster_name"), Field("namespace"), Field("labels", .repeated),
            Field("pod_name"), Field("workloads", .repeated)
        ],
        "Layer7": [
            Field("type"), Field("latency_ns"), Field("dns", .oneofMessage("DNS")),
            Field("http", .oneofMessage("HTTP")),
            Field("kafka", .oneofMessage("Kafka"))
        ],
        "DNS": [
            Field("query"), Field("ips", .repeated), Field("ttl"), Field("cnames", .repeated),
            Field("observation_source"),
            Field("rcode"), Field("qtypes", .repeated), Field("rrtypes", .repeated)
        ],
        "HTTP": [Field("code"), Field("method"), Field("url"), Field("protocol"), Field("headers", .repeated)],
        "Kafka": [Field("error_code"), Field("api_version"), Field("api_key"), Field("correlation_id"), Field("topic")],
        "CiliumEventType": [Field("type"), Field("sub_type")],
        "Service": [Field("name"), Field("namespace")],
        "FileInfo": [Field("name"), Field("line")],
        "IPTraceID": [Field("trace_id"), Field("ip_option_type")],
        "NetworkInterface": [Field("index"), Field("name")],
        "TraceContext": [Field("parent", .message("TraceParent"))],
        "TraceParent": [Field("trace_id")],
        "Aggregate": [Field("ingress_flow_count"), Field("egress_flow_count"), Field("unknown_direction_flow_count")]
    ]
}
