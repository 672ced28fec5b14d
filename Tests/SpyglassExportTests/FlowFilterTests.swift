import SpyglassFlow
import Testing

/// Each FlowFilter field: one flow it must keep, one it must not; malformed filters quote what is wrong.
@Suite struct FlowFilterTests {
    func matcher(_ json: String) throws -> FlowFilterMatcher {
        let filters = try FlowFilter.parseList(json)
        #expect(filters.count == 1)
        return try FlowFilterMatcher(filters[0])
    }

    func check(_ json: String, keeps yes: Flow, drops no: Flow, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let m = try matcher(json)
        #expect(m.matches(yes), "\(json) should match", sourceLocation: sourceLocation)
        #expect(!m.matches(no), "\(json) should not match", sourceLocation: sourceLocation)
    }

    static func with(_ f: Flow, _ change: (inout Flow) -> Void) -> Flow {
        var c = f
        change(&c)
        return c
    }

    @Test func uuid() throws {
        let a = Self.with(Fx.tcp) { $0.uuid = "6f1e3f1c-8a39-4d1e-9b2b-111111111111" }
        let b = Self.with(Fx.tcp) { $0.uuid = "6f1e3f1c-8a39-4d1e-9b2b-222222222222" }
        try check(#"{"uuid":["6f1e3f1c-8a39-4d1e-9b2b-111111111111"]}"#, keeps: a, drops: b)
    }

    @Test func ips() throws {
        try check(#"{"source_ip":["10.0.0.1"]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"sourceIp":["10.0.0.0/24"]}"#, keeps: Fx.tcp, drops: Fx.drop)
        try check(#"{"destination_ip":["10.0.1.0/24","fd00::/64"]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(#"{"destination_ip":["fd00::1"]}"#, keeps: Fx.icmp6, drops: Fx.dropUnmapped)
        try check(#"{"source_ip":["0.0.0.0/0"]}"#, keeps: Fx.tcp, drops: Fx.icmp6)
        // No translated source address in Spyglass flows.
        #expect(try !matcher(#"{"source_ip_xlated":["10.0.0.1"]}"#).matches(Fx.tcp))
    }

    @Test func pods() throws {
        try check(#"{"source_pod":["default/"]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"source_pod":["client-7d"]}"#, keeps: Fx.tcp, drops: Fx.icmp6)  // `name` = default/name
        try check(#"{"destination_pod":["/web-"]}"#, keeps: Fx.tcp, drops: Fx.udp)  // any namespace
        try check(#"{"destination_pod":["shop/web-5c6d"]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"source_pod":["kube-system/"]}"#, keeps: Fx.dnsResponse, drops: Fx.dnsRequest)
    }

    @Test func services() throws {
        try check(#"{"destination_service":["shop/web"]}"#, keeps: Fx.httpRequest, drops: Fx.httpResponse)
        try check(#"{"source_service":["client"]}"#, keeps: Fx.httpRequest, drops: Fx.tcp)
    }

    @Test func workloads() throws {
        try check(#"{"source_workload":[{"name":"client"}]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"destination_workload":[{"kind":"Deployment","name":"web"}]}"#, keeps: Fx.tcp, drops: Fx.udp)
    }

    @Test func clusterNames() throws {
        try check(#"{"destination_cluster_name":["prod"]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(#"{"source_cluster_name":["prod"]}"#, keeps: Fx.httpResponse, drops: Fx.tcp)
    }

    @Test func fqdns() throws {
        try check(#"{"destination_fqdn":["*.com"]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"destination_fqdn":["EXAMPLE.com."]}"#, keeps: Fx.udp, drops: Fx.icmp4)
        try check(#"{"source_fqdn":["example.*"]}"#, keeps: Fx.dnsResponse, drops: Fx.dnsRequest)
        #expect(try !matcher(#"{"destination_fqdn":["*.org"]}"#).matches(Fx.udp))
    }

    @Test func labels() throws {
        try check(#"{"source_label":["k8s:app=client"]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"destination_label":["app in (web, api)"]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(#"{"destination_label":["reserved:world"]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"destination_label":["app=web,tier!=back"]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"source_label":["!k8s:app"]}"#, keeps: Fx.drop, drops: Fx.tcp)
        try check(#"{"source_label":["app notin (client)"]}"#, keeps: Fx.httpResponse, drops: Fx.tcp)
        try check(
            #"{"source_label":["other:app=client"]}"#,
            keeps: Self.with(Fx.tcp) { $0.source?.labels = ["other:app=client"] }, drops: Fx.tcp)
        // The Flow model has no node labels: `!key` holds, `key` does not.
        #expect(try matcher(#"{"node_labels":["!kubernetes.io/os"]}"#).matches(Fx.tcp))
        #expect(try !matcher(#"{"node_labels":["kubernetes.io/os=linux"]}"#).matches(Fx.tcp))
    }

    @Test func identities() throws {
        try check(#"{"source_identity":[12345]}"#, keeps: Fx.tcp, drops: Fx.httpResponse)
        try check(#"{"destination_identity":["2"]}"#, keeps: Fx.udp, drops: Fx.tcp)
    }

    @Test func directionVerdictDropReason() throws {
        try check(#"{"traffic_direction":["INGRESS"]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(#"{"trafficDirection":[2]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"verdict":["DROPPED","ERROR"]}"#, keeps: Fx.drop, drops: Fx.tcp)
        try check(#"{"drop_reason_desc":["POLICY_DENIED"]}"#, keeps: Fx.drop, drops: Fx.dropUnmapped)
        // A reason on a forwarded flow does not count.
        #expect(
            try !matcher(#"{"drop_reason_desc":["POLICY_DENIED"]}"#).matches(
                Self.with(Fx.drop) { $0.verdict = .forwarded }))
    }

    @Test func interface() throws {
        try check(#"{"interface":[{"name":"veth1a2b"}]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(
            #"{"interface":[{"index":7}]}"#, keeps: Fx.drop, drops: Self.with(Fx.drop) { $0.interface?.index = 8 })
    }

    @Test func eventType() throws {
        try check(#"{"event_type":[{"type":1}]}"#, keeps: Fx.drop, drops: Fx.tcp)
        try check(#"{"event_type":[{"type":4,"match_sub_type":true,"sub_type":11}]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"event_type":[{"type":4,"sub_type":11}]}"#, keeps: Fx.tcp, drops: Fx.drop)  // sub_type ignored
    }

    @Test func httpFields() throws {
        try check(#"{"http_status_code":["5+"]}"#, keeps: Fx.httpResponse, drops: Fx.httpRequest)
        try check(
            #"{"http_status_code":["503"]}"#, keeps: Fx.httpResponse,
            drops: Self.with(Fx.httpResponse) { $0.l7 = Layer7(type: .response, record: .http(HTTP(code: 504))) })
        try check(
            #"{"http_status_code":["50+"]}"#, keeps: Fx.httpResponse,
            drops: Self.with(Fx.httpResponse) { $0.l7 = Layer7(type: .response, record: .http(HTTP(code: 510))) })
        try check(#"{"http_method":["get"]}"#, keeps: Fx.httpRequest, drops: Fx.dnsRequest)
        try check(
            #"{"http_path":["^/api/it"]}"#, keeps: Fx.httpRequest,
            drops: Self.with(Fx.httpRequest) {
                $0.l7 = Layer7(type: .request, record: .http(HTTP(method: "GET", url: "http://web.shop/x/api/items")))
            })
        try check(#"{"http_url":["sort=<asc>$"]}"#, keeps: Fx.httpRequest, drops: Fx.tcp)
        try check(
            #"{"http_header":[{"key":"User-Agent","value":"curl/8.5.0"}]}"#, keeps: Fx.httpRequest,
            drops: Fx.httpResponse)
    }

    @Test func protocols() throws {
        try check(#"{"protocol":["TCP"]}"#, keeps: Fx.tcp, drops: Fx.udp)
        try check(#"{"protocol":["udp"]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"protocol":["icmp"]}"#, keeps: Fx.icmp6, drops: Fx.tcp)
        try check(#"{"protocol":["icmpv4"]}"#, keeps: Fx.icmp4, drops: Fx.icmp6)
        try check(#"{"protocol":["icmpv6"]}"#, keeps: Fx.icmp6, drops: Fx.icmp4)
        try check(#"{"protocol":["igmp"]}"#, keeps: Fx.igmp, drops: Fx.icmp4)
        try check(#"{"protocol":["dns"]}"#, keeps: Fx.dnsRequest, drops: Fx.udp)
        try check(#"{"protocol":["http"]}"#, keeps: Fx.httpResponse, drops: Fx.tcp)
        try check(
            #"{"protocol":["sctp"]}"#,
            keeps: Self.with(Fx.tcp) { $0.l4 = .sctp(SCTP(sourcePort: 1, destinationPort: 2)) }, drops: Fx.tcp)
        try check(
            #"{"protocol":["vrrp"]}"#, keeps: Self.with(Fx.tcp) { $0.l4 = .vrrp(VRRP(type: 1, vrid: 2, priority: 3)) },
            drops: Fx.tcp)
    }

    @Test func ports() throws {
        try check(#"{"destination_port":["53"],"protocol":["udp"]}"#, keeps: Fx.dnsRequest, drops: Fx.dnsResponse)
        try check(#"{"source_port":["8080"]}"#, keeps: Fx.httpResponse, drops: Fx.httpRequest)
        #expect(try !matcher(#"{"destination_port":["0"]}"#).matches(Fx.icmp4))
    }

    @Test func reply() throws {
        try check(#"{"reply":[true]}"#, keeps: Fx.udp, drops: Fx.tcp)
        try check(#"{"reply":[false]}"#, keeps: Fx.tcp, drops: Fx.icmp6)  // unknown never matches…
        #expect(try matcher(#"{"reply":[false]}"#).matches(Fx.drop))  // …except on drops, where it counts as false
    }

    @Test func dnsQuery() throws {
        try check(#"{"dns_query":["^example\\.com\\.$"]}"#, keeps: Fx.dnsRequest, drops: Fx.httpRequest)
        try check(
            #"{"dns_query":["ample"]}"#, keeps: Fx.dnsResponse,
            drops: Self.with(Fx.dnsResponse) { $0.l7 = Layer7(type: .response, record: .dns(DNS(query: "other.org."))) }
        )
    }

    @Test func tcpFlags() throws {
        try check(#"{"tcp_flags":[{"SYN":true}]}"#, keeps: Fx.drop, drops: Fx.udp)
        try check(#"{"tcp_flags":[{"SYN":true,"ACK":true},{"FIN":true}]}"#, keeps: Fx.tcp, drops: Fx.drop)
    }

    @Test func nodeName() throws {
        try check(
            #"{"node_name":["kind-*/kind-worker"]}"#, keeps: Fx.tcp,
            drops: Self.with(Fx.tcp) { $0.nodeName = "other/kind-worker" })
        try check(
            #"{"node_name":["*-worker"]}"#, keeps: Fx.tcp,
            drops: Self.with(Fx.tcp) { $0.nodeName = "kind-kind/control-plane" })
    }

    @Test func ipVersionTraceEncrypted() throws {
        try check(#"{"ip_version":["IPv6"]}"#, keeps: Fx.icmp6, drops: Fx.tcp)
        try check(#"{"trace_id":["4bf92f3577b34da6a3ce929d0e0e4736"]}"#, keeps: Fx.httpRequest, drops: Fx.tcp)
        try check(#"{"encrypted":[false]}"#, keeps: Fx.tcp, drops: Self.with(Fx.tcp) { $0.ip?.encrypted = true })
        #expect(try !matcher(#"{"ip_trace_id":["42"]}"#).matches(Fx.tcp))  // Spyglass flows carry none
    }

    @Test func orAcrossFiltersAndWithinOne() throws {
        let set = try FlowFilterSet(
            allow: FlowFilter.parseList(#"{"verdict":["DROPPED"]} {"protocol":["udp"],"destination_port":["443"]}"#))
        #expect(set.accepts(Fx.drop))
        #expect(set.accepts(Fx.udp))
        #expect(!set.accepts(Fx.dnsRequest))  // udp but port 53
        let deny = try FlowFilterSet(deny: FlowFilter.parseList(#"{"source_pod":["kube-system/"]}"#))
        #expect(!deny.accepts(Fx.dnsResponse))
        #expect(deny.accepts(Fx.dnsRequest))
        // Non-flow events: only event_type filters match them.
        #expect(try FlowFilterSet(allow: FlowFilter.parseList(#"{"event_type":[{"type":1}]}"#)).acceptsNonFlowEvent())
        #expect(try !FlowFilterSet(allow: FlowFilter.parseList(#"{"verdict":["DROPPED"]}"#)).acceptsNonFlowEvent())
        #expect(try FlowFilterSet(deny: FlowFilter.parseList(#"{"verdict":["DROPPED"]}"#)).acceptsNonFlowEvent())
    }

    @Test func listFormat() throws {
        #expect(try FlowFilter.parseList("").isEmpty)
        #expect(try FlowFilter.parseList("{}{}").count == 2)
        #expect(try FlowFilter.parseList("{} {}\n{\"verdict\":[\"DROPPED\"]}").count == 3)
    }

    @Test(arguments: [
        (#"{"verdict":["DROPPED"]},{"verdict":["ERROR"]}"#, #"unexpected ",""#),
        (#"[{"verdict":["DROPPED"]}]"#, #"found "[{"verdict":["DROPPED"]}]""#),
        (#"{'verdict':['DROPPED']}"#, #"expected a quoted key, found "'verdict':['…""#),
        (#"{"verdict":["DROPED"]}"#, #"verdict: unknown enum value "DROPED""#),
        (#"{"source_pod":[""]}"#, #"source_pod: empty value """#),
        (#"{"source_ip":["10.0.0.300"]}"#, #"source_ip: invalid IP address "10.0.0.300""#),
        (#"{"destination_ip":["10.0.0.0/33"]}"#, #"destination_ip: invalid CIDR "10.0.0.0/33""#),
        (#"{"protocol":["quic"]}"#, #"protocol: unknown protocol "quic""#),
        (#"{"destination_port":["http"]}"#, #"destination_port: invalid port "http""#),
        (#"{"http_status_code":["99"]}"#, #"http_status_code: invalid status code "99""#),
        (#"{"dns_query":["(unclosed"]}"#, #"dns_query: invalid regular expression "(unclosed""#),
        (#"{"source_label":["app in (a"]}"#, #"source_label: invalid label selector "app in (a""#),
        (#"{"source_fqdn":["ex ample.com"]}"#, #"source_fqdn: invalid character " " in pattern "ex ample.com""#),
        (#"{"tcp_flags":[{"SYNN":true}]}"#, #"tcp_flags.SYNN: unknown TCP flag"#),
        (#"{"no_such_field":["x"]}"#, #"no_such_field: unknown FlowFilter field"#),
        (#"{"source_cluster_name":[""]}"#, #"source_cluster_name: empty cluster name """#),
        (#"{"http_method":["GET"],"event_type":[{"type":1}]}"#, #"event_type: http filters need event type 129"#),
        (#"{"source_identity":[-1]}"#, #"source_identity: expected an unsigned integer up to 4294967295, found "-1""#),
        (#"{"verdict":"DROPPED"}"#, #"verdict: expected a list, found ""DROPPED"""#)
    ])
    func malformed(_ text: String, _ expected: String) {
        do {
            let filters = try FlowFilter.parseList(text)
            _ = try FlowFilterSet(allow: filters)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }
}
