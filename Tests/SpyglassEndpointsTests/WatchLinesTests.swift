import Testing

@testable import SpyglassEndpoints

/// How a watch response is cut into event lines (`WatchLines`, used by `KubeClient.watch`).
@Suite struct WatchLinesTests {
    func lines(_ stream: String, chunk: Int, max: Int = 64) throws -> [String] {
        var out: [String] = []
        var w = WatchLines(kind: "pods", maxLineBytes: max)
        let bytes = Array(stream.utf8)
        var i = 0
        while i < bytes.count {
            try w.append(bytes[i..<min(i + chunk, bytes.count)]) { out.append(String(decoding: $0, as: UTF8.self)) }
            #expect(w.pending.count <= max)
            i += chunk
        }
        try w.finish { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    @Test func sameLinesHoweverTheStreamIsCut() throws {
        let stream = "{\"a\":1}\n\r\n  \n{\"b\":2}\n{\"c\":3}"
        for chunk in [1, 2, 3, 7, 100] {
            #expect(try lines(stream, chunk: chunk) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"], "chunk \(chunk)")
        }
    }

    /// A line over the limit is refused whether it arrives in pieces or whole inside one large chunk.
    @Test func aLineOverTheLimitIsRefusedEvenWhenItArrivesWhole() throws {
        let long = String(repeating: "x", count: 65)
        for chunk in [1, 10, 1000] {
            #expect(throws: KubeClient.Failure.self, "chunk \(chunk)") {
                _ = try lines("{}\n\(long)\n{}\n", chunk: chunk)
            }
        }
        #expect(try lines("\(String(repeating: "y", count: 64))\n", chunk: 1000).count == 1)
    }
}
