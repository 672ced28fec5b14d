import Foundation

/// A throw-away PKI made with the `openssl` command in a fresh temporary directory: a CA, a server certificate
/// for 127.0.0.1 signed by it, a client certificate signed by it, and an unrelated second CA with its own client.
/// Nothing here is committed; the directory is removed by `remove()`. For tests only.
public final class TestPKI: @unchecked Sendable {
    // @unchecked: the paths are set in init and never change.
    public static let openssl = "/usr/bin/openssl"
    public static let curl = "/usr/bin/curl"
    public static var toolsPresent: Bool {
        FileManager.default.isExecutableFile(atPath: openssl) && FileManager.default.isExecutableFile(atPath: curl)
    }

    public let dir: URL
    public var caCert: String { path("ca.crt") }
    public var caKey: String { path("ca.key") }
    public var serverCert: String { path("server.crt") }
    public var serverKey: String { path("server.key") }
    public var clientCert: String { path("client.crt") }
    public var clientKey: String { path("client.key") }
    public var otherCACert: String { path("other-ca.crt") }
    public var otherClientCert: String { path("other-client.crt") }
    public var otherClientKey: String { path("other-client.key") }

    public init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-pki-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            try makeCA("ca", subject: "/CN=Spyglass Test CA")
            try issue(
                "server", by: "ca", subject: "/CN=spyglass-test-server", serial: "0x5e1001",
                extensions: ["subjectAltName=IP:127.0.0.1,DNS:localhost", "extendedKeyUsage=serverAuth"])
            try issue(
                "client", by: "ca", subject: "/CN=prometheus", serial: "0xc11e47",
                extensions: ["extendedKeyUsage=clientAuth"])
            try makeCA("other-ca", subject: "/CN=Unrelated CA")
            try issue(
                "other-client", by: "other-ca", subject: "/CN=intruder", serial: "0xbad",
                extensions: ["extendedKeyUsage=clientAuth"])
        } catch {
            remove()
            throw error
        }
    }

    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: dir) }

    /// A self-signed CA: `<name>.crt`, `<name>.key`.
    public func makeCA(_ name: String, subject: String) throws {
        try Self.run(
            Self.openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-days", "2", "-subj", subject,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"
            ])
    }

    /// A leaf certificate signed by CA `ca`: `<name>.crt`, `<name>.key`, written to `directory` (default: `dir`).
    public func issue(
        _ name: String, by ca: String, subject: String, serial: String, extensions: [String],
        into directory: String? = nil
    ) throws {
        let out = directory ?? dir.path
        let key = "\(out)/\(name).key", cert = "\(out)/\(name).crt", csr = path("\(name).csr")
        let ext = path("\(name).ext")
        try (extensions.joined(separator: "\n") + "\n").write(toFile: ext, atomically: true, encoding: .utf8)
        try Self.run(
            Self.openssl,
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", csr, "-subj", subject
            ])
        try Self.run(
            Self.openssl,
            [
                "x509", "-req", "-in", csr, "-CA", path("\(ca).crt"), "-CAkey", path("\(ca).key"),
                "-set_serial", serial, "-days", "2", "-out", cert, "-extfile", ext
            ])
    }

    /// Serial number (lower-case hex, no leading zeros) and subject of a PEM certificate, as openssl reads them.
    public static func serialAndSubject(ofPEM pem: String) throws -> (serial: String, subject: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-cert-\(UUID().uuidString).pem")
        try pem.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let out = try run(openssl, ["x509", "-in", file.path, "-noout", "-serial", "-subject"])
        var serial = "", subject = ""
        for line in out.split(separator: "\n") {
            if line.hasPrefix("serial=") { serial = String(line.dropFirst(7)).lowercased() }
            if line.hasPrefix("subject=") { subject = String(line.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
        }
        while serial.hasPrefix("0") && serial.count > 1 { serial.removeFirst() }
        return (serial, subject)
    }

    /// Runs a tool to completion (10 s at most); throws with its stderr when it fails.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let result = try ToolRun.run(tool, arguments, timeout: 10)
        guard result.status == 0 else {
            throw ToolFailure("\(tool) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }
}

/// An external tool that failed; the message has its command line and stderr.
public struct ToolFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A finished (or killed) run of an external tool, stdin closed.
public struct ToolRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var seconds: Double

    public init(status: Int32, stdout: String, stderr: String, seconds: Double) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
    }

    /// Runs `tool` with stdin from /dev/null; kills it after `timeout` seconds.
    public static func run(_ tool: String, _ arguments: [String], timeout: Double) throws -> ToolRun {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let started = Date()
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return ToolRun(
            status: p.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }
}
