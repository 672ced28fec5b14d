import Foundation
import Logging
import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SpyglassObserver
import SwiftProtobuf
import Testing

/// One filter, three paths: the flow log's allowlist, GetFlows' whitelist and `spyglass observe --input-file` over
/// the unfiltered log select the same flows, and the API's flows carry exactly the flow log's content.
@Suite(.serialized) struct SameFlowsTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/spyglass").path

    static func export(_ flows: [Flow], to path: String, allow: String = "") throws {
        let exporters = try FlowExporters(
            static: StaticExporterConfig(filePath: path, allowList: allow), dynamicConfigPath: nil,
            nodeName: "kind-worker",
            logger: Logger(label: "test"))
        for f in flows { exporters.export(f) }
        #expect(exporters.shutdown(timeout: .seconds(5)))
    }

    static func responses(_ path: String) throws -> [Observer_GetFlowsResponse] {
        var o = JSONDecodingOptions()
        o.ignoreUnknownFields = true
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try Observer_GetFlowsResponse(jsonString: String($0), options: o)
        }
    }

    /// The flow without its UUID (each path draws its own, as Hubble's exporter and server each do), in binary
    /// form (an `Any` decoded from JSON and one decoded from the wire compare equal only once both are binary).
    static func content(_ r: Observer_GetFlowsResponse) -> [UInt8] {
        var f = r.flow
        f.uuid = ""
        var o = BinaryEncodingOptions()
        o.useDeterministicOrdering = true
        return (try? f.serializedBytes(options: o)) ?? []
    }

    @Test func exportAPIAndObserveSelectTheSameFlows() async throws {
        let flows = (0..<200).map { SeedFlows.flow($0) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-same-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let all = dir.appendingPathComponent("all.log").path
        let filtered = dir.appendingPathComponent("filtered.log").path

        // The filter, as `spyglass observe --pod default/xwing --verdict DROPPED` builds it.
        var b = ObserveFilterBuilder()
        try b.add(.pod, "default/xwing")
        try b.add(.verdict, "DROPPED")
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let allowText = try b.filters.map { try $0.jsonString(options: options) }.joined(separator: " ")

        try Self.export(flows, to: all)
        try Self.export(flows, to: filtered, allow: allowText)
        let fromExport = try Self.responses(filtered)
        #expect(fromExport.count == 50)

        let s = try await TestServer()
        defer { Task { await s.stop() } }
        for f in flows { s.ring.append(f) }
        var r = Observer_GetFlowsRequest()
        r.whitelist = b.filters
        let fromAPI = try await getFlows(try s.unixTransport, r)
        #expect(fromAPI.map(Self.content) == fromExport.map(Self.content))

        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary), "build first: swift build --build-tests")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = [
            "observe", "--input-file", all, "--all", "--pod", "default/xwing", "--verdict", "DROPPED", "-o", "jsonpb"
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        var o = JSONDecodingOptions()
        o.ignoreUnknownFields = true
        let fromObserve = try lines.map { try Observer_GetFlowsResponse(jsonString: String($0), options: o) }
        #expect(fromObserve.map(Self.content) == fromExport.map(Self.content))

        // --not: everything that is not a drop, through the same blacklist path.
        let q = Process()
        q.executableURL = URL(fileURLWithPath: Self.binary)
        q.arguments = [
            "observe", "--input-file", all, "--all", "--not", "--verdict", "DROPPED", "-o", "compact", "--utc"
        ]
        let qOut = Pipe()
        q.standardOutput = qOut
        try q.run()
        let compact = String(decoding: qOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        q.waitUntilExit()
        let compactLines = compact.split(separator: "\n")
        #expect(compactLines.count == 150)
        #expect(!compact.contains("DROPPED"))
        #expect(
            compactLines.first
                == "Dec  5 08:00:00.000: default/tiefighter:51000 (ID:62396) -> default/deathstar-6c94dcc57b-7xwq6:80 (ID:50122) to-endpoint FORWARDED (TCP Flags: SYN)"
        )
    }
}
