import Foundation
import SpyglassFlow
import SpyglassSupport
import Testing

@testable import SpyglassEndpoints

/// Inputs found by the fuzzers (Fuzz/, scripts/fuzz.sh) that crashed the agent; each must now be a clear error.
@Suite("FuzzRegression: endpoints file and kubeconfig")
struct EndpointsFuzzRegressionTests {
    /// FuzzEndpointsFile: 3.6 KB of nested flow sequences overflowed the stack inside the YAML parser.
    @Test func deeplyNestedYAMLIsAnErrorNamingTheFileAndLine() throws {
        let findings = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Findings")
        // As found (not valid UTF-8): plain nesting, and nesting after a quote the parser reads differently.
        let found = try ["endpoints-yams-nesting-stack-overflow.yaml", "endpoints-yams-nesting-quote-bypass.yaml"].map {
            String(decoding: try Data(contentsOf: findings.appendingPathComponent($0)), as: UTF8.self)
        }
        for input in found + [String(repeating: "[", count: 100_000), String(repeating: "- ", count: 100_000) + "x"] {
            do {
                _ = try EndpointsFile.parse(input, path: "/etc/spyglass/endpoints.yaml")
                Issue.record("accepted a file nested deeper than \(YAMLNestingGuard.maximumDepth) levels")
            } catch {
                #expect(error.description.contains("/etc/spyglass/endpoints.yaml"), "\(error)")
                #expect(error.description.contains("YAML nested too deeply"), "\(error)")
            }
        }
    }

    @Test func ordinaryNestingIsAccepted() {
        #expect(YAMLNestingGuard.problem(in: "a:\n  b: [1, {c: [2, 3]}]  # [[[ in a comment\n  d: '[[[['\n") == nil)
        #expect(
            YAMLNestingGuard.problem(in: String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
        #expect(YAMLNestingGuard.problem(in: String(repeating: "[", count: 65)) != nil)
    }

    @Test func deeplyNestedKubeconfigIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config").path
        try String(repeating: "{a: ", count: 10_000).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: KubeConfigError.self) { _ = try KubeCredentials.kubeconfig(path: path) }
    }

    /// FuzzKubeconfig: a mapping key that is itself a mapping (`{cluster: c, user: u}` as a key) trapped inside
    /// `Yams.load` (it force-unwraps every key as a string), and so did a base-60 integer beyond Int anywhere in the
    /// file. Both must be read without a crash: an error naming the file, or the credentials the rest gives.
    @Test func kubeconfigWithHostileKeysAndNumbersDoesNotCrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config").path
        // As found: the context entry's `context` lost its colon, so its mapping became a key.
        try """
        current-context: dev
        clusters: [{jame: c, cluster: {server: "https://[fd00::1]:442"}}]
        contexts: [{name: dev, context, {cluster: c, user: u}}]
        users: [{name: u, user: {exec: {command: aws}}}]

        """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try KubeCredentials.kubeconfig(path: path)
            Issue.record("accepted a context without a cluster")
        } catch {
            #expect(error.description == "kubeconfig \(path): context 'dev' names no cluster", "\(error)")
        }
        // Hostile keys and numbers next to a good context are skipped; nulls are no value.
        try """
        current-context: dev
        {a: b}: c
        [1, 2]: 3
        preferences: {colors: 1804674407370955161:5, ? [x]: y}
        clusters: [{name: c, cluster: {server: "https://[fd00::1]:442/", extensions: [1:2:3:4:5:6:7:8:9:10:11:12:13]}}]
        contexts: [{name: dev, context: {cluster: c, user: u, {k: v}: w}}]
        users: [{name: u, user: {token: abc, tokenFile: ~}}]

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let creds = try KubeCredentials.kubeconfig(path: path)
        #expect(creds.server == "https://[fd00::1]:442")
        #expect(creds.token == "abc")
        #expect(creds.tokenFile == nil)
    }
}
