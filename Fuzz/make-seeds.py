#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/Corpus/<Target>/ (small, readable inputs taken from the README, the tests and
docs/hubble-compatibility.md). Run again after changing it; the files are committed. Binary seeds follow the harness
input formats documented at the top of each Fuzz/Sources/<Target>/<Target>.swift."""
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---- packets ---------------------------------------------------------------------------------------------------
def be16(v): return struct.pack(">H", v & 0xffff)
def be32(v): return struct.pack(">I", v & 0xffffffff)
def ip4(s): return bytes(int(x) for x in s.split("."))

ETH4 = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00])
ETH6 = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd])
V6A = bytes.fromhex("fd000000000000000000000000000001")
V6B = bytes.fromhex("fd000000000000000000000000000002")


def ipv4(src, dst, proto, l4, frag=0x4000):
    return ETH4 + bytes([0x45, 0]) + be16(20 + len(l4)) + be16(1) + be16(frag) + bytes([64, proto, 0, 0]) + ip4(src) + ip4(dst) + l4


def ipv6(proto, l4):
    return ETH6 + bytes([0x60, 0, 0, 0]) + be16(len(l4)) + bytes([proto, 64]) + V6A + V6B + l4


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return be16(sport) + be16(dport) + be32(seq) + be32(ack) + bytes([5 << 4, flags]) + be16(65535) + b"\0\0\0\0" + payload


def udp(sport, dport, payload=b""):
    return be16(sport) + be16(dport) + be16(8 + len(payload)) + b"\0\0" + payload


def icmp_echo(t=8):
    return bytes([t, 0, 0, 0]) + be16(0x1234) + be16(1) + b"ping"


# struct spy_packet_event (SpyEventLayout.swift): 96 bytes, little-endian fixed fields, then the snapshot.
def record(frame, kind=1, obs=10, ipver=4, src=b"", dst=b"", sport=0, dport=0, l4proto=0, tcpflags=0, flags=0x10 | 0x100,
           l3=14, l4=34, drop=0, snap=None, version=1, header_len=96):
    snapshot = frame[:1024] if snap is None else snap
    h = struct.pack("<HHHHQII", version, kind, header_len, len(snapshot), 1_000_000_000, 2, len(frame))
    h += src.ljust(16, b"\0") + dst.ljust(16, b"\0")
    h += struct.pack("<HHHHBBBBBBBBHHIIIQ", sport, dport, 0, flags, 0, obs, ipver, l4proto, tcpflags, 0, 0, 0, l3, l4,
                     drop, 0, 1, len(frame))
    assert len(h) == 96, len(h)
    return h + snapshot


# ---- DNS ---------------------------------------------------------------------------------------------------------
def dname(n):
    out = b""
    for label in n.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_query(name, qtype=1, qid=0x1234):
    return be16(qid) + be16(0x0100) + be16(1) + be16(0) + be16(0) + be16(0) + dname(name) + be16(qtype) + be16(1)


def rr(owner, rtype, ttl, rdata):
    return owner + be16(rtype) + be16(1) + be32(ttl) + be16(len(rdata)) + rdata


def dns_response(name, answers, qtype=1, rcode=0, qid=0x1234, extra=b"", arcount=0):
    m = be16(qid) + be16(0x8180 | rcode) + be16(1) + be16(len(answers)) + be16(0) + be16(arcount) + dname(name) + be16(qtype) + be16(1)
    return m + b"".join(answers) + extra


PTR = b"\xc0\x0c"
DNS_MESSAGES = {
    "query-a": dns_query("deathstar.default.svc.cluster.local"),
    "query-aaaa": dns_query("example.com", 28),
    "response-a": dns_response("deathstar.default.svc.cluster.local", [rr(PTR, 1, 30, ip4("10.199.0.10")), rr(PTR, 1, 30, ip4("10.199.0.11"))]),
    "response-aaaa": dns_response("example.com", [rr(PTR, 28, 300, V6A)], qtype=28),
    "response-cname": dns_response("www.example.com", [rr(PTR, 5, 60, dname("web.example.net")), rr(dname("web.example.net"), 1, 60, ip4("93.184.216.34"))]),
    "response-nxdomain": dns_response("nope.example.com", [], rcode=3),
    "response-edns": dns_response("example.com", [rr(PTR, 1, 300, ip4("1.2.3.4"))], extra=b"\0" + be16(41) + be16(1232) + be32(0x01000000) + be16(0), arcount=1),
    "response-ptr": dns_response("4.3.2.1.in-addr.arpa", [rr(PTR, 12, 300, dname("host.example.com"))], qtype=12),
    "query-escaped": dns_query("we\\ird.exa mple.com"),
}

for name, m in DNS_MESSAGES.items():
    # FuzzDNS input: [mode] [chunk] [pick] message; mode 1 = length-prefixed TCP stream.
    write("FuzzDNS", name, bytes([0, 0, 0]) + m)
    write("FuzzDNS", name + "-tcp-split", bytes([1, 5, 1]) + m)
write("FuzzDNS", "lost-segment", bytes([3, 7, 0]) + DNS_MESSAGES["response-a"])

# ---- HTTP --------------------------------------------------------------------------------------------------------
HTTP = {
    "get": ("GET /v1 HTTP/1.1\r\nHost: deathstar\r\nUser-Agent: curl/8\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nShip landed\n"),
    "post-landing": ("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar.default.svc.cluster.local\r\nContent-Length: 0\r\n"
                     "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nShip landed\n"),
    "put-exhaust": ("PUT /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 4\r\n\r\nboom",
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    "chunked": ("POST /upload?token=secret HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer t\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    "pipelined": ("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nHEAD /c HTTP/1.1\r\nHost: x\r\n\r\n",
                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
    "http10-lf": ("GET http://user:pw@host/x?q=1#f HTTP/1.0\nCookie: a=b\n folded\n\n",
                  "HTTP/1.0 301 Moved\nLocation: /y\n\nbody until close"),
    "upgrade": ("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
}
for name, (req, resp) in HTTP.items():
    # FuzzHTTP input: [chunk] [mode] [pick] requests 0x00 responses.
    body = req.encode("latin-1") + b"\0" + resp.encode("latin-1")
    write("FuzzHTTP", name, bytes([0, 0, 0]) + body)
    write("FuzzHTTP", name + "-segments", bytes([7, 2, 1]) + body)
write("FuzzHTTP", "lost-segment", bytes([10, 1, 1]) + (HTTP["pipelined"][0] + "\0" + HTTP["pipelined"][1]).encode())

# ---- events --------------------------------------------------------------------------------------------------------
A, B = "10.0.0.1", "10.0.0.2"
req = HTTP["get"][0].encode()
events = {
    "tcp-syn": record(ipv4(A, B, 6, tcp(40000, 8080, 1, 0, 0x02)), src=ip4(A), dst=ip4(B), sport=40000, dport=8080, l4proto=6, tcpflags=0x02),
    "http-request": record(ipv4(A, B, 6, tcp(40000, 80, 1, 1, 0x18, req)), obs=5, src=ip4(A), dst=ip4(B), sport=40000, dport=80, l4proto=6, tcpflags=0x18),
    "dns-query": record(ipv4(A, B, 17, udp(40000, 53, DNS_MESSAGES["query-a"])), obs=5, src=ip4(A), dst=ip4(B), sport=40000, dport=53, l4proto=17),
    "dns-response": record(ipv4(B, A, 17, udp(53, 40000, DNS_MESSAGES["response-a"])), obs=0, src=ip4(B), dst=ip4(A), sport=53, dport=40000, l4proto=17),
    "udp-v6": record(ipv6(17, udp(5000, 6000, b"x")), ipver=6, src=V6A, dst=V6B, sport=5000, dport=6000, l4proto=17, l4=54),
    "icmp-echo": record(ipv4(A, B, 1, icmp_echo()), src=ip4(A), dst=ip4(B), sport=0x1234, dport=0x1234, l4proto=1),
    "icmpv6-echo": record(ipv6(58, icmp_echo(128)), ipver=6, src=V6A, dst=V6B, l4proto=58, l4=54),
    "fragment": record(ipv4(A, B, 17, b"later", frag=0x0010), src=ip4(A), dst=ip4(B), l4proto=17, flags=0x20),
    "drop-policy": record(ipv4(A, B, 6, tcp(40000, 80, 1, 0, 0x02)), kind=2, src=ip4(A), dst=ip4(B), sport=40000, dport=80, l4proto=6, tcpflags=0x02, drop=6),
    "drop-no-mac": record(ipv4(A, B, 6, tcp(40000, 80, 1, 0, 0x02))[14:], kind=2, src=ip4(A), dst=ip4(B), sport=40000, dport=80, l4proto=6, l3=0, l4=20, drop=16),
    "snapshot-128": record(ipv4(A, B, 6, tcp(40000, 80, 1, 1, 0x18, req * 4)), src=ip4(A), dst=ip4(B), sport=40000, dport=80, l4proto=6, tcpflags=0x18,
                           snap=ipv4(A, B, 6, tcp(40000, 80, 1, 1, 0x18, req * 4))[:128]),
    "no-snapshot": record(b"", ipver=0, l3=0, l4=0, flags=0),
    "bad-version": record(ipv4(A, B, 6, tcp(1, 2, 0, 0, 2)), version=2),
    "bad-header-len": record(ipv4(A, B, 6, tcp(1, 2, 0, 0, 2)), header_len=200),
}
for name, r in events.items():
    write("FuzzEventDecoder", name, r)

# ---- configuration texts -----------------------------------------------------------------------------------------
SEED_METRICS = ("dns drop tcp flow port-distribution icmp httpV2:exemplars=true;labelsContext=source_ip,source_namespace,"
                "source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction")
grammar = {
    "default": "dns drop tcp flow port-distribution icmp httpV2",
    "seed": SEED_METRICS,
    "contexts": "dns:query;ignoreAAAA;sourceContext=pod|ip;destinationContext=workload-name|reserved-identity "
                "flow:sourceEgressContext=pod;destinationIngressContext=namespace",
    "http-v1": "http:sourceContext=namespace;destinationContext=dns|ip flows-to-world:any-drop;port;syn-only policy",
    "labels": "drop:labelsContext=source_pod,destination_pod,source_app tcp:sourceContext=app|workload",
    "empty-options": "dns: icmp:; tcp:;;",
    "bad": "dns:sourceContext= httpV2:exemplars=maybe",
}
for name, text in grammar.items():
    write("FuzzMetricsGrammar", name, text)

dynamic = {
    "full": """metrics:
- name: flow
  contextOptions:
  - name: sourceContext
    values: [workload-name, reserved-identity]
  - name: labelsContext
    values:
    - source_namespace
    - destination_namespace
  includeFilters:
  - source_pod: ["default/"]
  excludeFilters:
  - verdict: [DROPPED]
- name: httpV2
  contextOptions:
  - {name: exemplars, values: ["true"]}
- name: dns
  contextOptions: [{name: query}, {name: ignoreAAAA}]
""",
    "filters-json": """metrics:
- name: drop
  includeFilters:
  - {source_identity: [12345, 18446744073709551615], reply: [false], http_status_code: ["5+"], x: null, ip_version: [IPv4], q: 'it''s "q"'}
""",
    "case": "Metrics:\n- NAME: tcp\n  ContextOptions: [{Name: destinationContext, Values: [pod]}]\n",
    "empty": "metrics: []\n",
    "missing-name": "metrics:\n- name: dns\n- contextOptions: [{name: query}]\n",
    "anchors": "base: &b {name: sourceContext, values: [ip]}\nmetrics:\n- name: icmp\n  contextOptions: [*b]\n",
}
for name, text in dynamic.items():
    write("FuzzDynamicMetricsYAML", name, text)

flowlogs = {
    "two": """flowLogs:
- name: all
  filePath: /var/run/cilium/hubble/all.log
  fieldMask: [verdict, uuid]
- name: drops
  filePath: /var/run/cilium/hubble/drops.log
  includeFilters:
  - verdict: [DROPPED]
  excludeFilters: [{source_pod: ["ingress/"]}]
  fileMaxSizeMb: 1
  fileMaxBackups: 3
  fileCompress: true
  aggregationInterval: 0s
""",
    "aggregate-end": """flowLogs:
- name: agg
  filePath: /tmp/agg.log
  fieldAggregate: [source.namespace, destination.namespace, verdict]
  aggregationInterval: 1m30s
  end: "2001-01-01T00:00:00Z"
  includeFilters:
  - {protocol: [icmp], verdict: [FORWARDED]}
""",
    "bad-verdict": "flowLogs:\n- name: drops\n  filePath: /tmp/d.log\n  includeFilters:\n  - verdict: [DROPED]\n",
    "empty": "flowLogs: []\n",
}
for name, text in flowlogs.items():
    write("FuzzFlowLogConfig", name, text)

here = os.path.dirname(os.path.abspath(__file__))
shutil.copy(os.path.join(here, "..", "Tests", "SpyglassEndpointsTests", "Fixtures", "endpoints.yaml"),
            os.path.join(ROOT, "FuzzEndpointsFile", "readme-example.yaml"))
endpoints = {
    "json": '{"endpoints": [{"addresses": ["10.0.0.1", "fd00::/64"], "namespace": "shop", "pod": "web-1", "labels": {"app": "web"}}]}',
    "bare-list": "- addresses: [192.0.2.10]\n  workload: checkout\n  kind: StatefulSet\n  identity: 40000\n",
    "service": "endpoints:\n- addresses: [10.96.0.10]\n  service: {name: kube-dns, namespace: kube-system}\n",
    "bad-cidr": "endpoints:\n- addresses: [10.0.0.0/33]\n",
    "unknown-key": "endpoints:\n- addresses: [10.0.0.1]\n  podd: x\n",
}
for name, text in endpoints.items():
    write("FuzzEndpointsFile", name, text)

filters = {
    "pod": '{"source_pod": ["default/xwing"], "verdict": ["DROPPED"]}',
    "camel": '{"sourcePod": ["kube-system/"]} {"destinationLabel": ["k8s:app=web"]}',
    "many": '{"protocol": ["tcp", "UDP"], "destination_port": ["80", "8080"], "ip_version": ["IPv4"], "tcp_flags": [{"SYN": true}]}\n'
            '{"http_status_code": ["5+", "404"], "http_method": ["GET"], "http_path": ["/v1/.*"], "dns_query": ["\\\\.svc$"]}',
    "identity": '{"source_identity": [12345], "reply": [false], "event_type": [{"type": 1, "sub_type": 133}], "node_name": ["k8s*"]}',
    "ips": '{"source_ip": ["10.0.0.0/8", "fd00::1"], "destination_ip_xlated": ["1.2.3.4"], "traffic_direction": ["INGRESS"], "source_fqdn": ["*.example.com"]}',
    "workload": '{"source_workload": [{"name": "web", "kind": "Deployment"}], "interface": [{"index": 2, "name": "eth0"}], "trace_id": ["0af7"]}',
    "escapes": '{"source_label": ["k8s:app in (web, api)", "!k8s:tier"], "x": "\\u00e9\\ud83d\\ude00\\n"}',
    "bad-comma": '{"verdict": ["DROPPED"]},{"verdict": ["FORWARDED"]}',
}
for name, text in filters.items():
    write("FuzzFlowFilterJSON", name, text)

# FuzzKubeWatch: [kind][chunk][chunk2] + list body 0x00 watch stream, from the Kubernetes source's test fixtures
# (trimmed to a few objects and compacted, so each seed fits the 4 KiB input limit).
FIXTURES = os.path.join(os.path.dirname(ROOT), "..", "Tests", "SpyglassEndpointsTests", "Fixtures")
KINDS = ["pods", "replicasets", "jobs", "services", "nodes", "endpointslices"]


def compact(o): return json.dumps(o, separators=(",", ":")).encode()


def fixture_list(kind, n):
    with open(os.path.join(FIXTURES, kind + "-list.json")) as f:
        doc = json.load(f)
    doc["items"] = doc["items"][:n]
    for item in doc["items"]:
        for part in ("metadata", "spec", "status"):
            for field in ("containers", "conditions", "images", "nodeInfo", "capacity", "allocatable", "managedFields",
                          "annotations", "daemonEndpoints", "containerStatuses", "podCIDRs", "taints", "ports",
                          "creationTimestamp", "hostIPs", "startTime", "qosClass", "securityContext",
                          "schedulerName", "preemptionPolicy", "terminationGracePeriodSeconds", "enableServiceLinks"):
                if isinstance(item.get(part), dict):
                    item[part].pop(field, None)
    return doc


for k, kind in enumerate(KINDS):
    doc = fixture_list(kind, 1 if kind == "pods" else 2)
    items = doc["items"]
    events = []
    if items:
        extra = json.loads(json.dumps(items[-1]))
        extra["metadata"]["name"] = extra["metadata"].get("name", "x") + "-2"
        extra["metadata"]["resourceVersion"] = "1301"
        events.append({"type": "ADDED", "object": extra})
        events.append({"type": "MODIFIED", "object": items[0]})
        events.append({"type": "DELETED", "object": items[-1]})
    events.append({"type": "BOOKMARK", "object": {"kind": "Bookmark", "metadata": {"resourceVersion": "1400"}}})
    stream = b"\n".join(compact(e) for e in events) + b"\n"
    write("FuzzKubeWatch", kind, bytes([k, 7, 3]) + compact(doc) + b"\0" + stream)
    write("FuzzKubeWatch", kind + "-list-only", bytes([k, 0, 0]) + compact(fixture_list(kind, 3)))
gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}
write("FuzzKubeWatch", "pods-gone", bytes([0, 50, 1]) + compact({"metadata": {"resourceVersion": "1"}, "items": []})
      + b"\0" + b"\r\n  \n" + compact(gone) + b"\n")
