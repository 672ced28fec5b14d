import Foundation
import Logging
import SpyglassFlow
import Synchronization

@testable import SpyglassEndpoints

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures")
    static func text(_ name: String) -> String {
        try! String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
    static func lines(_ name: String) -> [String] {
        text(name).split(separator: "\n").map(String.init)
    }
}

func ip(_ s: String) -> IPAddress { IPAddress(s)! }

let quietLogger: Logger = {
    var l = Logger(label: "spyglass.endpoints.test")
    l.logLevel = .critical
    return l
}()

/// Polls `condition` until true or `timeout`; returns whether it became true.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A scratch directory removed at deinit.
final class TempDir: @unchecked Sendable {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-ep-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) {
        try! text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Collects departures.
final class DepartureLog: Sendable {
    private let items = Mutex<[EndpointDeparture]>([])
    func add(_ d: EndpointDeparture) { items.withLock { $0.append(d) } }
    var all: [EndpointDeparture] { items.withLock { $0 } }
}
