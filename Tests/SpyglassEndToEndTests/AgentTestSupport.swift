import Foundation
import SpyglassAgent
import SpyglassTesting

/// Runs `body` with a started agent and always stops it, also when `body` throws.
func withStartedAgent<T>(_ config: AgentConfig, _ body: (Agent) throws -> T) async throws -> T {
    let agent = try Agent(config: config)
    try await agent.start()
    do {
        let r = try body(agent)
        await agent.stop()
        return r
    } catch {
        await agent.stop()
        throw error
    }
}

/// Scrapes `/metrics` until `done` holds for the parsed exposition, or 10 s pass; returns the last scrape.
func scrapeMetrics(_ port: Int, until done: (PrometheusText) -> Bool) throws -> PrometheusText {
    var last = PrometheusText("")
    for _ in 0..<100 {
        last = PrometheusText(try curlGet("http://127.0.0.1:\(port)/metrics"))
        if done(last) { return last }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return last
}
