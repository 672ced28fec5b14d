import FuzzSupport
@_spi(Fuzzing) import SpyglassEndpoints
import SpyglassFlow

/// What the agent's Kubernetes client reads from the API server: a list page of one collection (pods, replicasets,
/// jobs, services, nodes, endpointslices), then a watch stream of that collection arriving in fuzzer-sized chunks,
/// through the source's real decoding, line splitting, state updates and the endpoint store's rebuild.
///
/// Input: `[kind][chunk][chunk2]` + list body `0x00` watch stream.
///
/// Invariants: no collection holds more than its cap; no partial line over the line limit is held and no longer
/// line is handed on; the lines handed on are the stream's non-blank lines in order, however it is cut; every pod
/// record has host addresses, its namespace label and an endpoint ID in 1…65535; every service record names a
/// service; after a rebuild every pod address resolves to a pod that holds it (with an identity) and every service
/// address to a service.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKubeWatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    let kind = Int(input.byte()) % KubeFeed.kinds.count
    let sizes = [1 + Int(input.byte()) % 97, 1 + Int(input.byte()) * 13]
    let rest = input.rest
    let cut = rest.firstIndex(of: 0) ?? rest.endIndex
    let listBody = Array(rest[..<cut])
    let stream = cut < rest.endIndex ? rest[(cut + 1)...] : []

    let feed = KubeFeed()
    _ = feed.list(kind, body: listBody)
    checkCap(feed, kind, "after the list")

    var chunks: [ArraySlice<UInt8>] = []
    var at = stream.startIndex
    while at < stream.endIndex {
        let n = min(sizes[chunks.count % 2], stream.endIndex - at)
        chunks.append(stream[at..<(at + n)])
        at += n
    }
    let watched = feed.watch(kind, chunks: chunks)
    checkCap(feed, kind, "after the watch")
    if watched.maxPending > feed.maxWatchLineBytes {
        invariantFailed("held \(watched.maxPending) bytes of a partial line")
    }

    // The stream's own lines, cut at every newline; blank ones are skipped.
    let expected = stream.split(separator: 0x0a, omittingEmptySubsequences: false)
        .filter { !$0.allSatisfy { $0 == 32 || $0 == 13 || $0 == 9 } }
    guard watched.lines.count <= expected.count, zip(watched.lines, expected).allSatisfy({ $0.elementsEqual($1) })
    else {
        invariantFailed("lines handed on are not the stream's lines in order")
    }
    if watched.error == nil && watched.lines.count != expected.count {
        invariantFailed("a line was lost without an error")
    }
    for line in watched.lines where line.count > feed.maxWatchLineBytes || line.contains(0x0a) {
        invariantFailed("a line of \(line.count) bytes was handed on")
    }

    let pods = feed.podInfos
    for p in pods {
        guard !p.prefixes.isEmpty, p.prefixes.allSatisfy(\.isHost) else {
            invariantFailed("pod \(p.podName): prefixes \(p.prefixes)")
        }
        guard p.labels.contains("k8s:io.kubernetes.pod.namespace=\(p.namespace)") else {
            invariantFailed("pod without namespace label")
        }
        guard (1...65535).contains(p.endpointID), p.clusterName == "fuzz" else {
            invariantFailed("pod endpoint ID \(p.endpointID)")
        }
    }
    let services = feed.serviceInfos
    for s in services where s.prefixes.isEmpty || s.service == nil { invariantFailed("service record \(s)") }

    feed.rebuild()
    for p in pods {
        for prefix in p.prefixes {
            guard let e = feed.resolver.lookup(prefix.address) else {
                invariantFailed("pod address \(prefix) does not resolve")
            }
            let owners = pods.filter { $0.prefixes.contains(prefix) }
            guard e.identity != 0, owners.contains(where: { $0.podName == e.podName && $0.namespace == e.namespace })
            else {
                invariantFailed(
                    "\(prefix) resolves to \(e.namespace)/\(e.podName) (identity \(e.identity)), not to a pod holding it"
                )
            }
        }
    }
    for s in services {
        for prefix in s.prefixes where feed.resolver.service(for: prefix.address) == nil {
            invariantFailed("service address \(prefix) has no service")
        }
    }
    return 0
}

private func checkCap(_ feed: KubeFeed, _ kind: Int, _ when: String) {
    if feed.objects(kind) > feed.maxObjectsPerKind {
        invariantFailed("\(feed.objects(kind)) \(KubeFeed.kinds[kind]) \(when)")
    }
}

@_cdecl("FuzzKubeWatch_main")
public func FuzzKubeWatchMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzKubeWatch(data ?? emptyInput, size) }
}
