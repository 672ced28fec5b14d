// spyglass-bench: prints the figures of BENCHMARKS.md. Build in release:
//   swift build -c release --product spyglass-bench && .build/release/spyglass-bench <subcommand>
// bench/all.sh runs every part (this tool's subcommands and the scripts in bench/) in one run.
import Foundation

let usage = """
    usage: spyglass-bench <subcommand> [options]
      metrics    [--flows N] [--skip-render]        the metric engine alone
      pipeline   [--seconds S]                      ring buffer → agent pipeline vs a minimal C consumer (root)
      exposition --pushgateway URL [--scrapes N]    scrape latency/bytes, 10k and 100k series, vs client_golang
      export     [--flows N] [--dir PATH]           flow-log export with rotation, with and without gzip
      memory     [--series N]                       resident memory of the engine at N series, bytes per series
      tc-cost    [--repeats N]                      the tc program's ns per packet under BPF_PROG_TEST_RUN (root)
    """

let args = Array(CommandLine.arguments.dropFirst())
do {
    switch args.first {
    case "metrics":
        // --flows/--skip-render let `valgrind` count heap allocations per flow: run twice with different N and
        // divide the difference in "total heap usage" allocs by the difference in N.
        try benchProcess(flows: try intOption(args, "--flows", 3_000_000))
        if !args.contains("--skip-render") { try benchRender() }
    case "pipeline":
        try await PipelineBench(runSeconds: try intOption(args, "--seconds", 5)).run()
    case "exposition":
        guard let url = try stringOption(args, "--pushgateway") else {
            throw BenchError("exposition: --pushgateway URL is required (bench/exposition.sh starts one)")
        }
        try await ExpositionBench(pushgateway: url, scrapes: try intOption(args, "--scrapes", 20)).run()
    case "export":
        let dir = try stringOption(args, "--dir") ?? NSTemporaryDirectory() + "spyglass-bench-export-\(getpid())"
        try ExportBench(flows: try intOption(args, "--flows", 400_000), directory: dir).run()
    case "tc-cost":
        try TCCostBench(repeats: UInt32(try intOption(args, "--repeats", 1_000_000))).run()
    case "memory":
        try MemoryBench(series: try intOption(args, "--series", 100_000)).run()
    default:
        print(usage)
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("spyglass-bench: \(error)\n".utf8))
    exit(1)
}
