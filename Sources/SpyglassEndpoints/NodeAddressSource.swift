import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node's own addresses (every address on every interface, from getifaddrs), as `reserved:host`
/// (identity 1), re-read periodically so added or removed addresses follow.
final class NodeAddressSource: Sendable {
    typealias AddressProvider = @Sendable () throws -> [IPAddress]

    let status: SourceStatus
    private let store: EndpointStore
    private let clusterName: String
    private let provider: AddressProvider
    private let addresses = PThreadMutex<[IPAddress]>([])

    init(clusterName: String, store: EndpointStore, provider: AddressProvider? = nil) {
        self.clusterName = clusterName
        self.store = store
        self.provider = provider ?? { try NodeAddressSource.interfaceAddresses() }
        status = SourceStatus(name: "node", kinds: ["addresses"], reasons: ["getifaddrs"])
    }

    var infos: [EndpointInfo] {
        let addrs = addresses.withLock { $0 }
        if addrs.isEmpty { return [] }
        return [
            EndpointInfo(
                prefixes: addrs.map { IPPrefix(host: $0) }, labels: [ReservedIdentity.host.label],
                clusterName: clusterName,
                identity: ReservedIdentity.host.rawValue)
        ]
    }

    func refresh() {
        do {
            let found = Array(Set(try provider())).sorted { IPPrefix(host: $0) < IPPrefix(host: $1) }
            let changed = addresses.withLock { a -> Bool in
                defer { a = found }
                return a != found
            }
            status.setObjects("addresses", found.count)
            status.setSynced(true)
            if changed {
                status.event()
                store.invalidate()
            }
        } catch {
            status.error("getifaddrs", message: "\(error)")
        }
    }

    func run(interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            refresh()
        }
    }

    struct GetIfAddrsError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "getifaddrs: \(Errno.describe(errno))" }
    }

    static func interfaceAddresses() throws -> [IPAddress] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { throw GetIfAddrsError(errno: errno) }
        defer { freeifaddrs(head) }
        var out: [IPAddress] = []
        var p = head
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    let bytes = withUnsafeBytes(of: &a) { Array($0) }
                    if let ip = IPAddress(bytes: bytes) { out.append(ip) }
                }
            case AF_INET6:
                sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var a = sin6.pointee.sin6_addr
                    let bytes = withUnsafeBytes(of: &a) { Array($0) }
                    if let ip = IPAddress(bytes: bytes) { out.append(ip) }
                }
            default:
                continue
            }
        }
        return out
    }
}
