import Foundation
import SpyglassTesting
import Testing

/// `--hubble-metrics-server-enable-tls` and its file flags are checked before anything touches the kernel, so
/// these run without root: each mistake is one `Error:` line naming the flag.
@Suite(.serialized)
struct MetricsTLSFlagTests {
    func errorLines(_ args: [String]) throws -> (status: Int32, lines: [String]) {
        try #require(
            FileManager.default.isExecutableFile(atPath: CommandLineTests.binary),
            "build the binary first: swift build --build-tests")
        // A missing interface makes sure nothing is attached should the flags pass by mistake.
        let r = try ToolRun.run(
            CommandLineTests.binary,
            ["run", "--interface", "nosuchif0", "--hubble-metrics-server", "127.0.0.1:0"] + args, timeout: 30)
        return (r.status, r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error:") })
    }

    @Test(arguments: [
        (
            ["--hubble-metrics-server-enable-tls=true"],
            "--hubble-metrics-server-enable-tls needs --hubble-metrics-server-tls-cert-file"
        ),
        (
            ["--hubble-metrics-server-enable-tls=true", "--hubble-metrics-server-tls-cert-file", "/x.crt"],
            "--hubble-metrics-server-enable-tls needs --hubble-metrics-server-tls-key-file"
        ),
        (
            ["--hubble-metrics-server-tls-cert-file", "/x.crt", "--hubble-metrics-server-tls-key-file", "/x.key"],
            "--hubble-metrics-server-tls-cert-file is set but --hubble-metrics-server-enable-tls is not"
        ),
        (
            ["--hubble-metrics-server-tls-client-ca-files", "/ca.crt"],
            "--hubble-metrics-server-tls-client-ca-files is set but --hubble-metrics-server-enable-tls is not"
        ),
        (["--hubble-metrics-server-enable-tls=maybe"], "--hubble-metrics-server-enable-tls")
    ])
    func mistakesNameTheFlag(args: [String], expected: String) throws {
        let (status, lines) = try errorLines(args)
        #expect(status != 0)
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains(expected) == true, "\(lines)")
    }

    @Test func commaSeparatedClientCAsPassValidation() throws {
        // Valid TLS flags get as far as the interface check.
        let (status, lines) = try errorLines([
            "--hubble-metrics-server-enable-tls=true", "--hubble-metrics-server-tls-cert-file", "/x.crt",
            "--hubble-metrics-server-tls-key-file", "/x.key", "--hubble-metrics-server-tls-client-ca-files",
            "/a.crt,/b.crt"
        ])
        #expect(status != 0)
        #expect(lines == ["Error: --interface: no network interface named 'nosuchif0'"], "\(lines)")
    }
}
