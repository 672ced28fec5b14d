import Foundation
import Testing

/// Hubble's API flags: bad values stop start-up with a message naming the flag (checked before the kernel is
/// touched, so no root is needed), and `observe`'s bad arguments name theirs.
@Suite struct APIFlagTests {
    static let binary = SameFlowsTests.binary

    static func run(_ args: [String]) throws -> (status: Int32, err: String) {
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first: swift build --build-tests")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    @Test(arguments: [
        (["run", "--hubble-event-buffer-capacity", "5000"], "--hubble-event-buffer-capacity: 5000 is not 2^n-1"),
        (
            ["run", "--hubble-listen-address", ":4244"],
            "--hubble-listen-address needs --hubble-tls-cert-file and --hubble-tls-key-file, or --hubble-disable-tls"
        ),
        (["run", "--hubble-listen-address", "4244"], "--hubble-listen-address: '4244' is not [host]:port"),
        (
            ["run", "--hubble-tls-cert-file", "/x.pem"],
            "--hubble-tls-cert-file is set but --hubble-listen-address is not"
        ),
        (
            ["observe", "--input-file", "/nonexistent/spyglass.log"],
            "--input-file: cannot open /nonexistent/spyglass.log"
        ),
        (["observe", "--input-file", "-", "--verdict", "MAYBE"], "--verdict: 'MAYBE' is not one of"),
        (["observe", "-o", "yaml"], "--output: 'yaml' is not one of compact, json, jsonpb, dict, table"),
        (["observe", "--server", "unix:///nonexistent/hubble.sock"], "unix:///nonexistent/hubble.sock: unavailable")
    ])
    func badValuesNameTheFlag(args: [String], message: String) throws {
        let r = try Self.run(args)
        #expect(r.status != 0)
        #expect(r.err.contains(message), "\(r.err)")
    }
}
