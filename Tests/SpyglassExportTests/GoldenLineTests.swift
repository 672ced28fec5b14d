import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

/// Golden lines, reviewed by hand against Hubble's record format (docs/hubble-compatibility.md §7.5): declaration
/// order, enum names, omitted defaults, `is_reply` as a bare bool (false included), 64-bit integers as strings,
/// `\u003c\u003e\u0026`, RFC 3339 with 0/3/6/9 fraction digits, pre-allocated parents under a field mask, oneof
/// variants only when active.
@Suite struct GoldenLineTests {
    static let encoder = FlowRecordEncoder(emitterName: "Spyglass", emitterVersion: "0.1.0")

    static let full: [String: String] = [
        "tcp":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","ethernet":{"source":"02:42:ac:11:00:02","destination":"02:42:ac:11:00:03"},"IP":{"source":"10.0.0.1","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":8080,"flags":{"SYN":true,"ACK":true}}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"destination":{"ID":202,"identity":23456,"cluster_name":"prod","namespace":"shop","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=front"],"pod_name":"web-5c6d7f8b9-xyz12","workloads":[{"name":"web","kind":"Deployment"}]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":4},"traffic_direction":"INGRESS","trace_observation_point":"TO_ENDPOINT","is_reply":false,"interface":{"index":7,"name":"veth1a2b"},"Summary":"TCP Flags: SYN, ACK"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "udp":
            #"{"flow":{"time":"2023-11-14T22:13:21.500Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"93.184.216.34","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40000,"destination_port":443}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","destination_names":["example.com"],"reply":true,"event_type":{"type":4,"sub_type":11},"traffic_direction":"EGRESS","trace_observation_point":"TO_NETWORK","is_reply":true,"Summary":"UDP"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:21.500Z"}"#,
        "icmp4":
            #"{"flow":{"time":"2023-11-14T22:13:22Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"93.184.216.34","ipVersion":"IPv4"},"l4":{"ICMPv4":{"type":8}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":4,"sub_type":11},"traffic_direction":"EGRESS","trace_observation_point":"TO_NETWORK","is_reply":false,"Summary":"ICMPv4 EchoRequest"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:22Z"}"#,
        "icmp6":
            #"{"flow":{"time":"2023-11-14T22:13:23.000001Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"fd00::2","destination":"fd00::1","ipVersion":"IPv6"},"l4":{"ICMPv6":{"type":1,"code":4}},"source":{"ID":202,"identity":23456,"cluster_name":"prod","namespace":"shop","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=front"],"pod_name":"web-5c6d7f8b9-xyz12","workloads":[{"name":"web","kind":"Deployment"}]},"destination":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":4},"traffic_direction":"INGRESS","trace_observation_point":"TO_ENDPOINT","Summary":"ICMPv6 DestinationUnreachable(PortUnreachable)"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:23.000001Z"}"#,
        "dnsRequest":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.2.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40001,"destination_port":53}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"destination":{"ID":303,"identity":102,"namespace":"kube-system","labels":["k8s:io.kubernetes.pod.namespace=kube-system","k8s:k8s-app=kube-dns"],"pod_name":"coredns-6f6b679f8f-q7x2z"},"Type":"L7","node_name":"kind-kind/kind-worker","l7":{"type":"REQUEST","dns":{"query":"example.com.","observation_source":"spyglass","qtypes":["A"]}},"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":false,"Summary":"DNS Query example.com. A"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "dnsResponse":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.2.10","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":40001}},"source":{"ID":303,"identity":102,"namespace":"kube-system","labels":["k8s:io.kubernetes.pod.namespace=kube-system","k8s:k8s-app=kube-dns"],"pod_name":"coredns-6f6b679f8f-q7x2z"},"destination":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"Type":"L7","node_name":"kind-kind/kind-worker","source_names":["example.com"],"l7":{"type":"RESPONSE","latency_ns":"1500000","dns":{"query":"example.com.","ips":["93.184.216.34"],"ttl":300,"cnames":["edge.example.net."],"observation_source":"spyglass","qtypes":["A"],"rrtypes":["A","CNAME"]}},"reply":true,"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":true,"Summary":"DNS Answer \"93.184.216.34\" TTL: 300 (Query example.com. A)"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "httpRequest":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":8080}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"destination":{"ID":202,"identity":23456,"cluster_name":"prod","namespace":"shop","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=front"],"pod_name":"web-5c6d7f8b9-xyz12","workloads":[{"name":"web","kind":"Deployment"}]},"Type":"L7","node_name":"kind-kind/kind-worker","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://web.shop/api/items?id=1\u0026sort=\u003casc\u003e","protocol":"HTTP/1.1","headers":[{"key":"traceparent","value":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},{"key":"User-Agent","value":"curl/8.5.0"}]}},"event_type":{"type":129},"source_service":{"name":"client","namespace":"default"},"destination_service":{"name":"web","namespace":"shop"},"traffic_direction":"EGRESS","is_reply":false,"trace_context":{"parent":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}},"Summary":"HTTP/1.1 GET http://web.shop/api/items?id=1\u0026sort=\u003casc\u003e"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "httpResponse":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.1.2","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":8080,"destination_port":43210}},"source":{"ID":202,"identity":23456,"cluster_name":"prod","namespace":"shop","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=front"],"pod_name":"web-5c6d7f8b9-xyz12","workloads":[{"name":"web","kind":"Deployment"}]},"destination":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"Type":"L7","node_name":"kind-kind/kind-worker","l7":{"type":"RESPONSE","latency_ns":"12345678901","http":{"code":503,"method":"GET","url":"http://web.shop/api/items?id=1\u0026sort=\u003casc\u003e","protocol":"HTTP/1.1","headers":[{"key":"Content-Type","value":"text/html; charset=\"utf-8\""}]}},"reply":true,"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":true,"trace_context":{"parent":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}},"Summary":"HTTP/1.1 503 12345ms (GET http://web.shop/api/items?id=1\u0026sort=\u003casc\u003e)"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "drop":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"DROPPED","drop_reason":133,"IP":{"source":"93.184.216.34","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":51000,"destination_port":22,"flags":{"SYN":true}}},"source":{"identity":2,"labels":["reserved:world"]},"destination":{"ID":202,"identity":23456,"cluster_name":"prod","namespace":"shop","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=front"],"pod_name":"web-5c6d7f8b9-xyz12","workloads":[{"name":"web","kind":"Deployment"}]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":1,"sub_type":133},"traffic_direction":"INGRESS","drop_reason_desc":"POLICY_DENIED","interface":{"index":7,"name":"veth1a2b"},"Summary":"TCP Flags: SYN","extensions":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"kernel_drop_reason":"NETFILTER_DROP"}}},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "dropUnmapped":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"DROPPED","IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},"l4":{"UDP":{"source_port":5353,"destination_port":9}},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":1},"Summary":"UDP","extensions":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"kernel_drop_reason":"NO_SOCKET"}}},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "igmp":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"224.0.0.22","ipVersion":"IPv4"},"l4":{"IGMP":{"type":34}},"source":{"ID":101,"identity":12345,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f8b6c5-abcde","workloads":[{"name":"client","kind":"Deployment"}]},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":4,"sub_type":11},"traffic_direction":"EGRESS","trace_observation_point":"TO_NETWORK","is_reply":false,"Summary":"IPv4"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "igmpGroup":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","emitter":{"name":"Spyglass","version":"0.1.0"},"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"239.1.2.3","ipVersion":"IPv4"},"l4":{"IGMP":{"type":22,"group_address":"239.1.2.3"}},"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":4,"sub_type":11},"Summary":"IPv4"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "minimal":
            #"{"flow":{"time":"1970-01-01T00:00:01Z","emitter":{"name":"Spyglass","version":"0.1.0"},"node_name":"my-node"},"node_name":"my-node","time":"1970-01-01T00:00:01Z"}"#
    ]

    /// The docs' field mask (`time,source.namespace,source.pod_name,destination.namespace,destination.pod_name,l4,IP,node_name,is_reply,verdict,drop_reason_desc`).
    static let docsMask = [
        "time", "source.namespace", "source.pod_name", "destination.namespace", "destination.pod_name", "l4", "IP",
        "node_name", "is_reply", "verdict", "drop_reason_desc"
    ]
    static let masked: [String: String] = [
        "tcp":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":8080,"flags":{"SYN":true,"ACK":true}}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{"namespace":"shop","pod_name":"web-5c6d7f8b9-xyz12"},"node_name":"kind-kind/kind-worker","is_reply":false},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "udp":
            #"{"flow":{"time":"2023-11-14T22:13:21.500Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"93.184.216.34","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40000,"destination_port":443}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{},"node_name":"kind-kind/kind-worker","is_reply":true},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:21.500Z"}"#,
        "icmp4":
            #"{"flow":{"time":"2023-11-14T22:13:22Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"93.184.216.34","ipVersion":"IPv4"},"l4":{"ICMPv4":{"type":8}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{},"node_name":"kind-kind/kind-worker","is_reply":false},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:22Z"}"#,
        "icmp6":
            #"{"flow":{"time":"2023-11-14T22:13:23.000001Z","verdict":"FORWARDED","IP":{"source":"fd00::2","destination":"fd00::1","ipVersion":"IPv6"},"l4":{"ICMPv6":{"type":1,"code":4}},"source":{"namespace":"shop","pod_name":"web-5c6d7f8b9-xyz12"},"destination":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"node_name":"kind-kind/kind-worker"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:23.000001Z"}"#,
        "dnsRequest":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.2.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40001,"destination_port":53}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{"namespace":"kube-system","pod_name":"coredns-6f6b679f8f-q7x2z"},"node_name":"kind-kind/kind-worker","is_reply":false},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "dnsResponse":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.2.10","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":40001}},"source":{"namespace":"kube-system","pod_name":"coredns-6f6b679f8f-q7x2z"},"destination":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"node_name":"kind-kind/kind-worker","is_reply":true},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "httpRequest":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":8080}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{"namespace":"shop","pod_name":"web-5c6d7f8b9-xyz12"},"node_name":"kind-kind/kind-worker","is_reply":false},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "httpResponse":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.1.2","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":8080,"destination_port":43210}},"source":{"namespace":"shop","pod_name":"web-5c6d7f8b9-xyz12"},"destination":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"node_name":"kind-kind/kind-worker","is_reply":true},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "drop":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"DROPPED","IP":{"source":"93.184.216.34","destination":"10.0.1.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":51000,"destination_port":22,"flags":{"SYN":true}}},"source":{},"destination":{"namespace":"shop","pod_name":"web-5c6d7f8b9-xyz12"},"node_name":"kind-kind/kind-worker","drop_reason_desc":"POLICY_DENIED"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "dropUnmapped":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"DROPPED","IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},"l4":{"UDP":{"source_port":5353,"destination_port":9}},"source":{},"destination":{},"node_name":"kind-kind/kind-worker"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "igmp":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"224.0.0.22","ipVersion":"IPv4"},"l4":{"IGMP":{"type":34}},"source":{"namespace":"default","pod_name":"client-7d9f8b6c5-abcde"},"destination":{},"node_name":"kind-kind/kind-worker","is_reply":false},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "igmpGroup":
            #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"239.1.2.3","ipVersion":"IPv4"},"l4":{"IGMP":{"type":22,"group_address":"239.1.2.3"}},"source":{},"destination":{},"node_name":"kind-kind/kind-worker"},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#,
        "minimal":
            #"{"flow":{"time":"1970-01-01T00:00:01Z","source":{},"destination":{},"node_name":"my-node"},"node_name":"my-node","time":"1970-01-01T00:00:01Z"}"#
    ]

    /// Nested paths: pre-allocated parents (`tunnel.IP`, `trace_context.parent`, `l7`, `l4`) and oneof variants.
    static let nestedMask = [
        "l4.TCP.destination_port", "tunnel.IP.source", "trace_context.parent.trace_id", "l7.http.code", "emitter.name"
    ]
    static let nested: [String: String] = [
        "tcp":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{"TCP":{"destination_port":8080}},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "udp":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "icmp4":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "icmp6":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "dnsRequest":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "dnsResponse":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "httpRequest":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{"TCP":{"destination_port":8080}},"tunnel":{"IP":{}},"l7":{"http":{}},"trace_context":{"parent":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}}}}"#,
        "httpResponse":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{"TCP":{"destination_port":43210}},"tunnel":{"IP":{}},"l7":{"http":{"code":503}},"trace_context":{"parent":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}}}}"#,
        "drop":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{"TCP":{"destination_port":22}},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "dropUnmapped":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "igmp":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "igmpGroup":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#,
        "minimal":
            #"{"flow":{"emitter":{"name":"Spyglass"},"l4":{},"tunnel":{"IP":{}},"l7":{},"trace_context":{"parent":{}}}}"#
    ]

    @Test(arguments: Fx.all.map(\.0))
    func fullRecord(_ name: String) throws {
        let flow = Fx.all.first { $0.0 == name }!.1
        let line = String(decoding: Self.encoder.encode(flow), as: UTF8.self)
        #expect(line == Self.full[name]! + "\n")
    }

    @Test(arguments: Fx.all.map(\.0))
    func docsFieldMask(_ name: String) throws {
        let flow = Fx.all.first { $0.0 == name }!.1
        let line = String(decoding: Self.encoder.encode(flow, mask: try FieldMask(paths: Self.docsMask)), as: UTF8.self)
        #expect(line == Self.masked[name]! + "\n")
    }

    @Test(arguments: Fx.all.map(\.0))
    func nestedFieldMask(_ name: String) throws {
        let flow = Fx.all.first { $0.0 == name }!.1
        let line = String(
            decoding: Self.encoder.encode(flow, mask: try FieldMask(paths: Self.nestedMask)), as: UTF8.self)
        #expect(line == Self.nested[name]! + "\n")
    }

    @Test func hubbleUnitTestShapes() throws {
        // pkg/hubble/exporter/exporter_test.go: a minimal flow, and field mask ["source"] on a flow without source.
        let noEmitter = FlowRecordEncoder(emitterName: "", emitterVersion: "")
        #expect(
            String(decoding: noEmitter.encode(Fx.minimal), as: UTF8.self)
                == #"{"flow":{"time":"1970-01-01T00:00:01Z","node_name":"my-node"},"node_name":"my-node","time":"1970-01-01T00:00:01Z"}"#
                + "\n")
        #expect(
            String(decoding: noEmitter.encode(Fx.minimal, mask: try FieldMask(paths: ["source"])), as: UTF8.self)
                == #"{"flow":{}}"# + "\n")
    }

    @Test func lostEvents() {
        let line = Self.encoder.encodeLost(
            source: .perfEventRingBuffer, count: 12, cpu: 0, nodeName: "kind-worker", time: Fx.t0)
        #expect(
            String(decoding: line, as: UTF8.self)
                == #"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"12","cpu":0},"node_name":"kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#
                + "\n")
        let noCPU = Self.encoder.encodeLost(
            source: LostEventSource(name: "observer_events_queue"), count: 3, cpu: nil, nodeName: "n",
            time: Timestamp(seconds: 2, nanos: 1_000_000))
        #expect(
            String(decoding: noCPU, as: UTF8.self)
                == #"{"lost_events":{"source":"OBSERVER_EVENTS_QUEUE","num_events_lost":"3"},"node_name":"n","time":"1970-01-01T00:00:02.001Z"}"#
                + "\n")
    }

    @Test func uuidAndEscapes() {
        var f = Fx.minimal
        f.nodeName = "a<b>&\u{2028}\"\\\n\u{01}é"
        let uuid = UUIDv4(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210)
        let line = String(
            decoding: FlowRecordEncoder(emitterName: "", emitterVersion: "").encode(f, uuid: uuid), as: UTF8.self)
        #expect(
            line
                == #"{"flow":{"time":"1970-01-01T00:00:01Z","uuid":"01234567-89ab-4def-bedc-ba9876543210","node_name":"a\u003cb\u003e\u0026\u2028\"\\\n\u0001é"},"node_name":"a\u003cb\u003e\u0026\u2028\"\\\n\u0001é","time":"1970-01-01T00:00:01Z"}"#
                + "\n")
    }

    @Test func timestamps() {
        func ts(_ s: Int64, _ n: Int32) -> String {
            var w = JSONBytes()
            w.timestamp(Timestamp(seconds: s, nanos: n))
            return String(decoding: w.out, as: UTF8.self)
        }
        #expect(ts(0, 0) == #""1970-01-01T00:00:00Z""#)
        #expect(ts(1_692_619_933, 517_394_084) == #""2023-08-21T12:12:13.517394084Z""#)
        #expect(ts(951_782_400, 120_000_000) == #""2000-02-29T00:00:00.120Z""#)
        #expect(ts(4_102_444_799, 999_999_000) == #""2099-12-31T23:59:59.999999Z""#)
        #expect(ts(-1, 0) == #""1969-12-31T23:59:59Z""#)
    }

    @Test func aggregation() throws {
        let agg = Aggregator(
            mask: try FieldMask(paths: ["source.namespace", "destination.namespace", "verdict"]), encoder: Self.encoder)
        for f in [Fx.tcp, Fx.httpRequest, Fx.httpResponse, Fx.drop, Fx.tcp, Fx.icmp6] { agg.add(f) }
        let lines = agg.drain().map { String(decoding: $0, as: UTF8.self) }
        #expect(
            lines == [
                #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","source":{"namespace":"default"},"destination":{"namespace":"shop"},"aggregate":{"ingress_flow_count":2,"egress_flow_count":1}},"time":"2023-11-14T22:13:20.123456789Z"}"#
                    + "\n",
                #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","source":{"namespace":"shop"},"destination":{"namespace":"default"},"aggregate":{"ingress_flow_count":1,"egress_flow_count":1}},"time":"2023-11-14T22:13:20.123456789Z"}"#
                    + "\n",
                #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"DROPPED","source":{},"destination":{"namespace":"shop"},"aggregate":{"ingress_flow_count":1}},"time":"2023-11-14T22:13:20.123456789Z"}"#
                    + "\n"
            ])
        #expect(agg.drain().isEmpty)
        // node_name appears when it is an aggregate path; unknown directions are counted as such.
        let byNode = Aggregator(mask: try FieldMask(paths: ["node_name"]), encoder: Self.encoder)
        byNode.add(Fx.igmpGroup)
        #expect(
            String(decoding: byNode.drain()[0], as: UTF8.self)
                == #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","node_name":"kind-kind/kind-worker","aggregate":{"unknown_direction_flow_count":1}},"node_name":"kind-kind/kind-worker","time":"2023-11-14T22:13:20.123456789Z"}"#
                + "\n")
    }

    @Test(arguments: [
        ("source.nope", #"invalid field path "source.nope": "nope" is not a field of Endpoint"#),
        ("source.labels.x", #"invalid field path "source.labels.x": "labels" of Endpoint has no sub-fields"#),
        ("Ip", #"invalid field path "Ip": "Ip" is not a field of Flow"#)
    ])
    func invalidMask(_ path: String, _ message: String) {
        #expect(throws: FieldMaskError.self) { try FieldMask(paths: [path]) }
        do { _ = try FieldMask(paths: [path]) } catch { #expect(error.description == message) }
    }

    @Test func maskNormalisation() throws {
        #expect(
            try FieldMask(paths: ["source.pod_name", "source", "l4.TCP.flags.SYN", "l4.TCP"]).paths == [
                "l4.TCP", "source"
            ])
        #expect(try FieldMask(paths: ["source", "source.pod_name"]).paths == ["source"])
    }
}
