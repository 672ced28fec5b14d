import Foundation
import SpyglassFlow
import SpyglassSupport
import Yams

/// How to reach and authenticate to the Kubernetes API server.
public struct KubeCredentials: Sendable, Equatable {
    /// `https://host:port` (or `http://` for tests), no trailing slash.
    public var server: String
    /// A bearer token, or a file to re-read on every request (service-account tokens are rotated).
    public var token: String?
    public var tokenFile: String?
    /// PEM bytes.
    public var certificateAuthority: [UInt8]?
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?
    public var insecureSkipTLSVerify: Bool

    public init(
        server: String, token: String? = nil, tokenFile: String? = nil, certificateAuthority: [UInt8]? = nil,
        clientCertificate: [UInt8]? = nil, clientKey: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false
    ) {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        self.server = s
        self.token = token
        self.tokenFile = tokenFile
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }

    /// The bearer token to send now, if any.
    func currentToken() -> String? {
        if let tokenFile, let data = FileManager.default.contents(atPath: tokenFile),
            let t = String(data: data, encoding: .utf8)
        {
            return t.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT` and the pod's service-account token and CA.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws(KubeConfigError) -> KubeCredentials {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeConfigError(
                "not running in a cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError("in-cluster: cannot read the service-account token \(tokenPath)")
        }
        let caPath = directory + "/ca.crt"
        // Without the cluster's CA the API server would be checked against the system trust store: any public CA
        // could then vouch for whoever answers at KUBERNETES_SERVICE_HOST.
        guard let ca = FileManager.default.contents(atPath: caPath).map({ [UInt8]($0) }), !ca.isEmpty else {
            throw KubeConfigError(
                "in-cluster: cannot read the cluster CA \(caPath); refusing to fall back to the system trust store for the API server"
            )
        }
        let h = host.contains(":") ? "[\(host)]" : host
        return KubeCredentials(server: "https://\(h):\(port)", tokenFile: tokenPath, certificateAuthority: ca)
    }

    /// From a kubeconfig file: its current context's cluster and user. Supported: `server`,
    /// `certificate-authority(-data)`, `insecure-skip-tls-verify`, `client-certificate(-data)`,
    /// `client-key(-data)`, `token`, `tokenFile`. `exec` and `auth-provider` users are refused with a clear error.
    /// Relative file paths are relative to the kubeconfig's directory.
    public static func kubeconfig(path: String, context: String? = nil) throws(KubeConfigError) -> KubeCredentials {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw KubeConfigError("kubeconfig \(path): cannot read")
        }
        // The node tree, read field by field: `Yams.load` turns the file into `[String: Any]` and traps on a
        // mapping key that is not a string (`{a: b}: c`) or an integer too large for Int (`1:2:3…` in base 60),
        // so a hostile kubeconfig could kill the agent. Merge keys (`<<`) are not expanded.
        let root: Node?
        do { root = try YAMLDocument.load(text) } catch {
            switch error {
            case .tooDeep(let problem): throw KubeConfigError("kubeconfig \(path): \(problem)")
            case .syntax(let e): throw KubeConfigError("kubeconfig \(path): not valid YAML: \(e)")
            }
        }
        guard let root, case .mapping(let doc) = root else {
            throw KubeConfigError("kubeconfig \(path): not a mapping")
        }
        let dir = (path as NSString).deletingLastPathComponent

        /// A scalar's text; nil for a missing key, a null (`~`, `null`, nothing) or a mapping or list.
        func scalarText(_ node: Node?) -> String? {
            guard let node, case .scalar(let s) = node, !(s.style == .plain && node.null != nil) else { return nil }
            return s.string
        }
        func named(_ listKey: String, _ name: String, _ field: String) throws(KubeConfigError) -> Node.Mapping {
            let list = doc[listKey]?.sequence.map(Array.init) ?? []
            guard let e = list.first(where: { scalarText($0["name"]) == name }) else {
                throw KubeConfigError("kubeconfig \(path): \(listKey) has no entry named '\(name)'")
            }
            return e[field]?.mapping ?? [:]
        }
        func file(_ p: String) throws(KubeConfigError) -> [UInt8] {
            let full = p.hasPrefix("/") ? p : (dir as NSString).appendingPathComponent(p)
            guard let d = FileManager.default.contents(atPath: full) else {
                throw KubeConfigError("kubeconfig \(path): cannot read \(full)")
            }
            return [UInt8](d)
        }
        func base64(_ s: String, _ what: String) throws(KubeConfigError) -> [UInt8] {
            guard let d = Data(base64Encoded: s, options: .ignoreUnknownCharacters) else {
                throw KubeConfigError("kubeconfig \(path): \(what) is not base64")
            }
            return [UInt8](d)
        }

        let contextName = context ?? scalarText(doc["current-context"]) ?? ""
        guard !contextName.isEmpty else { throw KubeConfigError("kubeconfig \(path): no current-context") }
        let ctx = try named("contexts", contextName, "context")
        guard let clusterName = scalarText(ctx["cluster"]) else {
            throw KubeConfigError("kubeconfig \(path): context '\(contextName)' names no cluster")
        }
        let cluster = try named("clusters", clusterName, "cluster")
        guard let server = scalarText(cluster["server"]), !server.isEmpty else {
            throw KubeConfigError("kubeconfig \(path): cluster '\(clusterName)' has no server")
        }
        var creds = KubeCredentials(server: server)
        if let d = scalarText(cluster["certificate-authority-data"]) {
            creds.certificateAuthority = try base64(d, "certificate-authority-data")
        } else if let f = scalarText(cluster["certificate-authority"]) {
            creds.certificateAuthority = try file(f)
        }
        creds.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"]?.bool ?? false

        if let userName = scalarText(ctx["user"]), !userName.isEmpty {
            let user = try named("users", userName, "user")
            if user["exec"] != nil || user["auth-provider"] != nil {
                throw KubeConfigError(
                    "kubeconfig \(path): user '\(userName)' uses exec/auth-provider, which Spyglass does not run; use a token or client certificate"
                )
            }
            if let d = scalarText(user["client-certificate-data"]) {
                creds.clientCertificate = try base64(d, "client-certificate-data")
            } else if let f = scalarText(user["client-certificate"]) {
                creds.clientCertificate = try file(f)
            }
            if let d = scalarText(user["client-key-data"]) {
                creds.clientKey = try base64(d, "client-key-data")
            } else if let f = scalarText(user["client-key"]) {
                creds.clientKey = try file(f)
            }
            if (creds.clientCertificate == nil) != (creds.clientKey == nil) {
                throw KubeConfigError(
                    "kubeconfig \(path): user '\(userName)' has a client certificate without a key or the reverse")
            }
            creds.token = scalarText(user["token"])
            if let tf = scalarText(user["tokenFile"]) {
                creds.tokenFile = tf.hasPrefix("/") ? tf : (dir as NSString).appendingPathComponent(tf)
            }
        }
        return creds
    }
}

extension KubeCredentials {
    /// Refuses what would leak the credentials: a bearer token (or token file) over plain `http://`.
    public func checkTransport() throws(KubeConfigError) {
        let hasToken = (token.map { !$0.isEmpty } ?? false) || tokenFile != nil
        if hasToken && !server.lowercased().hasPrefix("https://") {
            throw KubeConfigError(
                "refusing to send a bearer token to \(server) over plain http://; use an https:// server")
        }
    }

    /// Settings that work but leave the connection open to interception; the agent logs each as a warning.
    public var securityWarnings: [String] {
        var w: [String] = []
        if insecureSkipTLSVerify && server.lowercased().hasPrefix("https://") {
            w.append(
                "insecure-skip-tls-verify is set for \(server): the API server's certificate is not checked, so anyone on the path can impersonate it"
            )
        }
        if !server.lowercased().hasPrefix("https://") {
            w.append("the Kubernetes API server \(server) is reached over plain http://")
        }
        return w
    }
}

public struct KubeConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
