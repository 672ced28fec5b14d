import Foundation
import FuzzSupport
import SpyglassExport
import SpyglassFlow

/// The flow-log JSON encoder with hostile strings everywhere a packet or the cluster can put one (pod names and
/// labels from the API server, URLs, headers and DNS names from the wire).
///
/// Invariants: every record is one line, parses as JSON, and gives back each string and number it was given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlowLogEncoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    let code = UInt32(input.byte()) * 3
    let seconds = Int64(input.byte()) << 24 | Int64(input.byte())
    // The rest: strings separated by 0 bytes (invalid UTF-8 repaired, as the parsers do).
    var parts = input.rest.split(separator: 0, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
    }
    func next() -> String { parts.isEmpty ? "x" : parts.removeFirst() }
    let pod = next(), namespace = next(), label = next(), url = next(), headerKey = next(), headerValue = next()
    let query = next(), node = next(), name = next()
    let source = Endpoint(identity: 1234, namespace: namespace, labels: [label], podName: pod)
    var flow = Flow(
        time: Timestamp(seconds: seconds, nanos: 5), verdict: .forwarded, source: source, type: .l7, nodeName: node,
        l7: Layer7(
            type: .request, latencyNs: 7,
            record: .http(
                HTTP(
                    code: code, method: "GET", url: url, protocol: "HTTP/1.1",
                    headers: [HTTPHeader(key: headerKey, value: headerValue)]))))
    flow.destinationNames = [name]
    let encoder = FlowRecordEncoder()
    var lines = [encoder.encode(flow)]
    flow.l7 = Layer7(type: .response, record: .dns(DNS(query: query, ips: ["10.0.0.1"], rcode: 3, qtypes: ["A"])))
    lines.append(encoder.encode(flow))
    for (i, line) in lines.enumerated() {
        guard line.last == 0x0a, !line.dropLast().contains(0x0a) else { invariantFailed("record \(i) is not one line") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(line)) } catch {
            invariantFailed(
                "record \(i) is not JSON: \(error) \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
        guard let top = object as? [String: Any], let f = top["flow"] as? [String: Any] else {
            invariantFailed("no flow object")
        }
        let src = f["source"] as? [String: Any]
        func same(_ got: Any?, _ want: String, _ what: String) {
            // Empty strings are omitted (protojson); everything else must come back exactly.
            if want.isEmpty { return }
            guard let s = got as? String, s == want else {
                invariantFailed("\(what): \(String(describing: got)) != \(want.debugDescription)")
            }
        }
        same(src?["pod_name"], pod, "pod_name")
        same(src?["namespace"], namespace, "namespace")
        same((src?["labels"] as? [Any])?.first, label, "labels[0]")
        same(f["node_name"], node, "node_name")
        same((f["destination_names"] as? [Any])?.first, name, "destination_names[0]")
        let l7 = f["l7"] as? [String: Any]
        if i == 0 {
            let http = l7?["http"] as? [String: Any]
            same(http?["url"], url, "url")
            let header = (http?["headers"] as? [[String: Any]])?.first
            same(header?["key"], headerKey, "header key")
            same(header?["value"], headerValue, "header value")
            if code > 0, (http?["code"] as? NSNumber)?.uint32Value != code { invariantFailed("code") }
        } else {
            same((l7?["dns"] as? [String: Any])?["query"], query, "query")
        }
    }
    return 0
}

@_cdecl("FuzzFlowLogEncoder_main")
public func FuzzFlowLogEncoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzFlowLogEncoder(data ?? emptyInput, size) }
}
