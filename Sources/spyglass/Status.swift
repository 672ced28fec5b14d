import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SpyglassAPI
import SpyglassObserver

/// `spyglass status`: `hubble status` — health check, current/max flows and flows per second.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Health and flow counts of a Hubble API server (like hubble status).")

    @OptionGroup var connection: HubbleClientOptions

    func run() async throws {
        let target = try connection.target()
        let transport: HTTP2ClientTransport.Posix
        do { transport = try target.transport() } catch { throw ValidationError("\(error)") }
        do {
            try await withGRPCClient(transport: transport) { client in
                let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(
                    Grpc_Health_V1_HealthCheckRequest())
                let ok = health.status == .serving
                print("Healthcheck (via \(target.display)): \(ok ? "Ok" : "\(health.status)")")
                let s = try await Observer_Observer.Client(wrapping: client).serverStatus(
                    Observer_ServerStatusRequest())
                print(Self.lines(s).joined(separator: "\n"))
                if !ok { throw ExitCode(1) }
            }
        } catch let e as RPCError {
            throw ValidationError("\(target.display): \(e.code): \(e.message)")
        }
    }

    /// Hubble's status lines: `Current/Max Flows: 1,234/4,095 (30.13%)`, `Flows/s: 12.34`.
    static func lines(_ s: Observer_ServerStatusResponse) -> [String] {
        let pct = s.maxFlows == 0 ? 0 : Double(s.numFlows) / Double(s.maxFlows) * 100
        var out = ["Current/Max Flows: \(grouped(s.numFlows))/\(grouped(s.maxFlows)) (\(String(format: "%.2f", pct))%)"]
        let rate =
            s.flowsRate > 0 ? s.flowsRate : (s.uptimeNs > 0 ? Double(s.seenFlows) / (Double(s.uptimeNs) / 1e9) : 0)
        out.append("Flows/s: \(String(format: "%.2f", rate))")
        if s.hasNumConnectedNodes {
            out.append(
                "Connected Nodes: \(s.numConnectedNodes.value)/\(s.numConnectedNodes.value + s.numUnavailableNodes.value)"
            )
        }
        return out
    }

    static func grouped(_ v: UInt64) -> String {
        let digits = Array(String(v))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
