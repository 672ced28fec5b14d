// `spyglass-bench pipeline` (issue #9, part 3): events per CPU-second from the ring buffer through the agent's
// real pipeline (RingBufferReader → EventQueue → decoder → enrichment → seven families × 7-label labelsContext),
// against a minimal C consumer that only reads and counts the same kind of ring buffer (the ceiling).
//
// Producer: the real tc program at aggregation `none`, driven with BPF_PROG_TEST_RUN from the main thread (every
// run writes one event into the real ring buffer). The agent runs in this process, attached to a veth of a
// namespace this command creates; its program and ring buffer are found through the tc hook it attached.
// Accounting: produced packets = events consumed + ring-buffer losses (+ queue losses), checked exactly.
import CSpyglassBPF
import CSpyglassBench
import Foundation
import Logging
import SpyglassAgent
import SpyglassDatapath
import SpyglassFlow
import SpyglassTesting

struct PipelineBench {
    let runSeconds: Int

    /// Per run of the producer: one frame, this many repeats (one event each).
    static let repeatsPerRun: UInt32 = 1024

    struct Figures {
        var produced: UInt64 = 0
        var consumed: UInt64 = 0
        var ringLost: UInt64 = 0
        var queueLost: UInt64 = 0
        var decodeErrors: UInt64 = 0
        var consumerCPU = 0.0
        var wall = 0.0
        var perCPUSecond: Double { consumerCPU > 0 ? Double(consumed) / consumerCPU : 0 }
    }

    func run() async throws {
        guard geteuid() == 0 else {
            throw BenchError("pipeline: run as root (loads BPF programs, creates a namespace)")
        }
        let lab = try NetworkLab(prefix: NetworkLab.randomPrefix("spyb"))
        defer { _ = lab.teardown() }
        let ns = try lab.addNamespace("pipe")
        let host = lab.prefix + "h"
        try lab.addVethPair(host, peer: "eth0", peerNamespace: ns)
        try lab.setLinkUp(host)
        try lab.setLinkUp("eth0", namespace: ns)
        let endpointsPath = lab.workDirectory + "/endpoints.yaml"
        try Self.endpointsFile.write(toFile: endpointsPath, atomically: true, encoding: .utf8)

        let frames = Self.frames()
        print(
            "pipeline: \(frames.count) frames (TCP, UDP, ICMP between 8 pods in an endpoints file), \(runSeconds) s per consumer, producer = BPF_PROG_TEST_RUN of the tc program at aggregation none"
        )
        let swift = try await agentRun(interface: host, endpointsFile: endpointsPath, frames: frames)
        let c = try cRun(frames: frames)
        report("agent pipeline (Swift)", swift)
        report("minimal C consumer", c)
        let ratio = c.perCPUSecond > 0 ? swift.perCPUSecond / c.perCPUSecond : 0
        let met = swift.perCPUSecond >= 1_000_000 && ratio >= 0.4
        print(
            fmt(
                "RESULT pipeline events_per_cpu_second=%.0f ceiling=%.0f ratio=%.3f (targets >= 1000000 and >= 0.40) ",
                swift.perCPUSecond, c.perCPUSecond, ratio) + (met ? "MET" : "MISSED"))
    }

    private func report(_ name: String, _ f: Figures) {
        let unaccounted = Int64(f.produced) - Int64(f.consumed + f.ringLost + f.queueLost + f.decodeErrors)
        let label = name.padding(toLength: 24, withPad: " ", startingAt: 0)
        print(
            "  " + label
                + fmt(
                    " produced %llu, consumed %llu, ring-buffer lost %llu, queue lost %llu, decode errors %llu, unaccounted %lld",
                    f.produced, f.consumed, f.ringLost, f.queueLost, f.decodeErrors, unaccounted))
        print(
            "  " + String(repeating: " ", count: 24)
                + fmt(
                    " consumer CPU %.3f s in %.3f s wall → %.0f events per CPU-second (%.0f ns/event); wall rate %.0f events/s",
                    f.consumerCPU, f.wall, f.perCPUSecond, f.perCPUSecond > 0 ? 1e9 / f.perCPUSecond : 0,
                    f.wall > 0 ? Double(f.consumed) / f.wall : 0))
    }

    // MARK: the agent

    private func agentRun(interface: String, endpointsFile: String, frames: [[UInt8]]) async throws -> Figures {
        var config = AgentConfig()
        config.interfaces = [interface]
        config.datapath.aggregation = .none
        config.hubbleMetrics = sevenFamiliesSpec()
        config.metricsServer = "127.0.0.1:0"
        config.dropsEnabled = false
        config.endpoints.endpointsFile = endpointsFile
        var logger = Logger(label: "spyglass-bench")
        logger.logLevel = .warning
        let agent = try Agent(config: config, logger: logger)
        try await agent.start()
        do {
            guard let iface = agent.attachedInterfaces.first else {
                throw BenchError("pipeline: the agent attached to nothing")
            }
            let progFD = spyb_tc_prog_fd(Int32(iface.index), 1, TCAttacher.handle, TCAttacher.priority)
            guard progFD >= 0 else {
                throw BenchError("pipeline: cannot find the agent's ingress program on \(interface) (\(progFD))")
            }
            defer { close(progFD) }
            try await waitForEndpoints(agent)
            // Producer and the wait for the drain run on one dedicated thread; consumer CPU = every thread of the
            // process minus that one (the agent's reader and pipeline threads, plus its idle housekeeping/server).
            let cpu0 = threadCPUByID()
            let f = try onDedicatedThread { () throws -> (Figures, Int32) in
                let before = agent.datapathStats
                let c0 = PipelineCounters(agent.metrics.render(.prometheusText))
                let done0 = c0.flows + c0.queueLost + c0.decodeErrors
                let clock = ContinuousClock()
                let start = clock.now
                // Paced: the consumer's speed is measured, not how many events a full queue throws away.
                try produce(progFD: progFD, frames: frames) {
                    let c = PipelineCounters(agent.metrics.render(.prometheusText))
                    let done = c.flows + c.queueLost + c.decodeErrors - done0
                    let written = agent.datapathStats.events - before.events
                    return written > done ? written - done : 0
                }
                let deadline = clock.now + .seconds(20)
                var f = Figures()
                while true {
                    let stats = agent.datapathStats
                    let counters = PipelineCounters(agent.metrics.render(.prometheusText))
                    f.produced = stats.packets - before.packets
                    f.ringLost = stats.ringBufferFull - before.ringBufferFull
                    f.consumed = counters.flows - c0.flows
                    f.queueLost = counters.queueLost - c0.queueLost
                    f.decodeErrors = counters.decodeErrors - c0.decodeErrors
                    if f.consumed + f.queueLost + f.decodeErrors >= stats.events - before.events || clock.now > deadline
                    {
                        break
                    }
                    usleep(20_000)
                }
                f.wall = seconds(clock.now - start)
                return (f, spyb_gettid())
            }
            let cpu1 = threadCPUByID()
            var figures = f.0
            var all = 0.0
            for (tid, cpu) in cpu1 { all += cpu - (cpu0[tid] ?? 0) }
            let producer: Double = (cpu1[f.1] ?? 0) - (cpu0[f.1] ?? 0)
            figures.consumerCPU = all - producer
            guard figures.consumerCPU > 0 else { throw BenchError("pipeline: no consumer CPU time measured") }
            await agent.stop()
            return figures
        } catch {
            await agent.stop()
            throw error
        }
    }

    /// Enrichment must be live before measuring: the endpoints file is read asynchronously.
    private func waitForEndpoints(_ agent: Agent) async throws {
        for _ in 0..<100 {
            var flow = Flow(
                ip: IPHeader(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.1.1")!, ipVersion: .ipv4))
            agent.endpoints.resolver.enrich(&flow)
            if flow.source?.podName.isEmpty == false { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("pipeline: the endpoints file was not loaded within 5 s")
    }

    /// Events the producer lets wait for a consumer before it pauses (well below what the ring buffer and the
    /// event queue hold).
    static let inFlightLimit: UInt64 = 8_192

    /// Runs the program on the frames in turn for `runSeconds`, `repeatsPerRun` events per run; with `backlog`,
    /// pauses while more than `inFlightLimit` events wait for the consumer.
    private func produce(progFD: Int32, frames: [[UInt8]], backlog: (() -> UInt64)? = nil) throws {
        let end = ContinuousClock.now + .seconds(runSeconds)
        var out = [UInt8](repeating: 0, count: 2048)
        var i = 0
        while ContinuousClock.now < end {
            let frame = frames[i % frames.count]
            var outSize = UInt32(out.count), ret: UInt32 = 0, duration: UInt32 = 0
            let rc = frame.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    spy_prog_test_run(
                        progFD, input.baseAddress, UInt32(input.count), output.baseAddress, &outSize, &ret,
                        Self.repeatsPerRun, &duration)
                }
            }
            if rc != 0 { throw BenchError("pipeline: BPF_PROG_TEST_RUN failed (\(rc))") }
            i += 1
            if let backlog {
                while backlog() > Self.inFlightLimit && ContinuousClock.now < end { usleep(50) }
            }
        }
    }

    // MARK: the C ceiling

    private func cRun(frames: [[UInt8]]) throws -> Figures {
        var dp = DatapathConfig()
        dp.aggregation = .none
        let programs = try TCPrograms(config: dp)
        let shared = CConsumerState()
        defer { shared.release() }
        let mapFD = programs.eventsMapFD
        let consumer = Thread {
            shared.rc = spyb_count_ring(mapFD, shared.stop, 100, shared.result)
            shared.finished.signal()
        }
        consumer.name = "spyb-c-consumer"
        consumer.start()
        Thread.sleep(forTimeInterval: 0.1)
        let before = programs.stats()
        let clock = ContinuousClock()
        let start = clock.now
        try produce(progFD: programs.ingressFD, frames: frames)
        // Let the consumer catch up, then stop it (it drains what is left).
        let deadline = clock.now + .seconds(20)
        var lastEvents: UInt64 = .max
        while clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            let s = programs.stats()
            if s.events == lastEvents { break }
            lastEvents = s.events
        }
        shared.stop.pointee = 1
        shared.finished.wait()
        if shared.rc != 0 { throw BenchError("pipeline: the C consumer could not read the ring buffer (\(shared.rc))") }
        let out = shared.result
        let after = programs.stats()
        var f = Figures()
        f.wall = seconds(clock.now - start)
        f.produced = after.packets - before.packets
        f.ringLost = after.ringBufferFull - before.ringBufferFull
        f.consumed = out.pointee.events
        f.consumerCPU = Double(out.pointee.thread_cpu_ns) / 1e9
        return f
    }

    // MARK: inputs

    /// 8 pods in 3 namespaces, so enrichment finds both ends of every flow.
    static let endpointsFile = """
        endpoints:
          - {addresses: [10.0.0.1], namespace: default, pod: client-0, workload: client, kind: Deployment, labels: {app: client}}
          - {addresses: [10.0.0.2], namespace: default, pod: client-1, workload: client, kind: Deployment, labels: {app: client}}
          - {addresses: [10.0.0.3], namespace: default, pod: batch-0, workload: batch, kind: Job, labels: {app: batch}}
          - {addresses: [10.0.1.1], namespace: shop, pod: web-0, workload: web, kind: Deployment, labels: {app: web}}
          - {addresses: [10.0.1.2], namespace: shop, pod: web-1, workload: web, kind: Deployment, labels: {app: web}}
          - {addresses: [10.0.1.3], namespace: shop, pod: db-0, workload: db, kind: StatefulSet, labels: {app: db}}
          - {addresses: [10.0.2.10], namespace: kube-system, pod: coredns-0, workload: coredns, kind: Deployment, labels: {app: coredns}}
          - {addresses: [10.0.2.11], namespace: kube-system, pod: metrics-0, workload: metrics, kind: Deployment, labels: {app: metrics}}
        """

    /// Both directions of TCP connections (SYN, SYN-ACK, ACK, data, FIN), UDP and ICMP echo: every L3/L4 family.
    static func frames() -> [[UInt8]] {
        let clients = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        let servers: [(String, UInt16)] = [("10.0.1.1", 8443), ("10.0.1.2", 8443), ("10.0.1.3", 5432)]
        var frames: [[UInt8]] = []
        for (ci, c) in clients.enumerated() {
            for (s, port) in servers {
                let sport = UInt16(40000 + ci)
                let b = { (src: String, dst: String) in PacketBuilder.ethernet().ipv4(src: src, dst: dst) }
                frames.append(b(c, s).tcp(sport: sport, dport: port, flags: [.syn]).build())
                frames.append(b(s, c).tcp(sport: port, dport: sport, flags: [.syn, .ack]).build())
                frames.append(
                    b(c, s).tcp(sport: sport, dport: port, flags: [.ack]).payload(Array(repeating: 0x17, count: 200))
                        .build())
                frames.append(
                    b(s, c).tcp(sport: port, dport: sport, flags: [.ack, .psh]).payload(
                        Array(repeating: 0x17, count: 600)
                    ).build())
                frames.append(b(c, s).tcp(sport: sport, dport: port, flags: [.fin, .ack]).build())
            }
            frames.append(
                PacketBuilder.ethernet().ipv4(src: c, dst: "10.0.2.11").udp(sport: 41000, dport: 8125).payload(
                    "metric:1|c"
                ).build())
            frames.append(
                PacketBuilder.ethernet().ipv4(src: c, dst: "10.0.1.1").icmpv4(.echoRequest(id: 7, sequence: 1)).build())
        }
        return frames
    }
}

/// Memory shared with the C consumer thread: the stop flag it polls and the result it writes; read after
/// `finished` is signalled.
final class CConsumerState: @unchecked Sendable {
    let stop = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    let result = UnsafeMutablePointer<spyb_count_result>.allocate(capacity: 1)
    let finished = DispatchSemaphore(value: 0)
    var rc: Int32 = 0
    init() {
        stop.pointee = 0
        result.pointee = spyb_count_result()
    }
    func release() {
        stop.deallocate()
        result.deallocate()
    }
}

/// The pipeline's own counters, read from the agent's exposition (the same numbers a scrape sees).
struct PipelineCounters {
    var flows: UInt64 = 0
    var queueLost: UInt64 = 0
    var decodeErrors: UInt64 = 0

    init(_ exposition: [UInt8]) {
        for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            if line.hasPrefix("spyglass_flows_processed_total{kind=\"l3_l4\"}") {
                flows += UInt64(value)
            } else if line.hasPrefix("spyglass_event_queue_lost_total") {
                queueLost += UInt64(value)
            } else if line.hasPrefix("spyglass_decode_errors_total") {
                decodeErrors += UInt64(value)
            }
        }
    }
}
