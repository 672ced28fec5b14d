import Foundation
import SpyglassServer
import Synchronization

/// A provider that records what the server asked and told it.
/// `Accept: slow` makes a render take `slowRender`.
final class StubProvider: MetricsProvider {
    static let openMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    static let textType = "text/plain; version=0.0.4; charset=utf-8"

    struct Scrape: Sendable, Equatable {
        var code: Int
        var seconds: Double
    }

    private struct State {
        var accepts: [String?] = []
        var scrapes: [Scrape] = []
        var rendering = 0
        var maxConcurrentRenders = 0
    }

    let body: [UInt8]
    let slowRender: Duration
    private let state = Mutex(State())

    init(body: [UInt8] = StubProvider.sampleBody(), slowRender: Duration = .seconds(2)) {
        self.body = body
        self.slowRender = slowRender
    }

    /// A few kilobytes of repetitive exposition text (compresses well).
    static func sampleBody(series: Int = 200) -> [UInt8] {
        var text = "# HELP hubble_flows_processed_total Total number of flows processed\n"
        text += "# TYPE hubble_flows_processed_total counter\n"
        for i in 0..<series {
            text +=
                "hubble_flows_processed_total{protocol=\"TCP\",subtype=\"to-endpoint\",type=\"Trace\",verdict=\"FORWARDED\",n=\"\(i)\"} \(i * 7)\n"
        }
        return Array(text.utf8)
    }

    func renderMetrics(accept: String?) -> (body: [UInt8], contentType: String) {
        state.withLock {
            $0.accepts.append(accept)
            $0.rendering += 1
            $0.maxConcurrentRenders = max($0.maxConcurrentRenders, $0.rendering)
        }
        defer { state.withLock { $0.rendering -= 1 } }
        if accept == "slow" {
            let c = slowRender.components
            Thread.sleep(forTimeInterval: Double(c.seconds) + Double(c.attoseconds) / 1e18)
        }
        let wantsOpenMetrics = accept?.contains("application/openmetrics-text") ?? false
        return (body, wantsOpenMetrics ? Self.openMetricsType : Self.textType)
    }

    func recordScrape(code: Int, seconds: Double) {
        state.withLock { $0.scrapes.append(Scrape(code: code, seconds: seconds)) }
    }

    var accepts: [String?] { state.withLock { $0.accepts } }
    var scrapes: [Scrape] { state.withLock { $0.scrapes } }
    var maxConcurrentRenders: Int { state.withLock { $0.maxConcurrentRenders } }

    /// Waits (bounded) until at least `count` scrapes were recorded: recording happens after the
    /// write completes, which can be just after the client has read the response.
    func waitForScrapes(_ count: Int, timeout: Duration = .seconds(3)) async -> [Scrape] {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let s = scrapes
            if s.count >= count { return s }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return scrapes
    }
}
