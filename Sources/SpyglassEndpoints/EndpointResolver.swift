import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Answers "who is behind this IP" on the hot path.
///
/// Holds one immutable `ResolverSnapshot`; a rebuild swaps in a new one under a lock held only for the pointer
/// swap, and readers hold the same lock only long enough to take a reference. A lookup then runs on the snapshot
/// without locks and without allocating (endpoints are built once per rebuild; returning one copies references).
public final class EndpointResolver: Sendable {
    private let current: PThreadMutex<ResolverSnapshot>

    init(world: WorldEndpoints) {
        current = PThreadMutex(ResolverSnapshot.empty(worldV4: world.v4, worldV6: world.v6))
    }

    func install(_ snapshot: ResolverSnapshot) {
        current.withLock { $0 = snapshot }
    }

    @inline(__always) var snapshot: ResolverSnapshot { current.withLock { $0 } }

    /// Counts rebuilds installed so far (0 before the first).
    public var generation: UInt64 { snapshot.generation }

    /// Fills `source`/`destination` (and `source_service`/`destination_service`) from the flow's IP header; a flow
    /// without one is left alone. Addresses no source knows become `reserved:world`.
    public func enrich(_ flow: inout Flow) {
        guard let ip = flow.ip else { return }
        let s = snapshot
        flow.source = s.resolve(ip.source)
        flow.destination = s.resolve(ip.destination)
        let si = s.serviceIndex(ip.source)
        flow.sourceService = si >= 0 ? s.services[Int(si)] : nil
        let di = s.serviceIndex(ip.destination)
        flow.destinationService = di >= 0 ? s.services[Int(di)] : nil
    }

    /// The endpoint some source knows for `ip` (longest prefix wins), or nil when none does.
    public func lookup(_ ip: IPAddress) -> Endpoint? {
        let s = snapshot
        let i = s.endpointIndex(ip)
        return i >= 0 ? s.endpoints[Int(i)] : nil
    }

    /// What `enrich` puts on a flow for `ip`: the known endpoint or the world endpoint.
    public func resolve(_ ip: IPAddress) -> Endpoint { snapshot.resolve(ip) }

    /// The service `ip` is a frontend of (ClusterIP, external or load-balancer IP, or a file entry's `service`).
    public func service(for ip: IPAddress) -> Service? {
        let s = snapshot
        let i = s.serviceIndex(ip)
        return i >= 0 ? s.services[Int(i)] : nil
    }

    /// Prefixes currently installed (endpoints, services).
    public var counts: (endpoints: Int, services: Int) {
        let s = snapshot
        return (s.endpoints4.count + s.endpoints6.count, s.services4.count + s.services6.count)
    }
}

/// The endpoints used for addresses nobody knows.
struct WorldEndpoints: Sendable {
    let v4: Endpoint
    let v6: Endpoint

    /// `splitByFamily` = false: `reserved:world` (2) for both families, what single-stack Cilium clusters show and
    /// what most dashboards filter on. true: `reserved:world-ipv4` (9) / `reserved:world-ipv6` (10), as dual-stack
    /// Cilium clusters show since 1.15.
    init(splitByFamily: Bool) {
        func ep(_ r: ReservedIdentity) -> Endpoint { Endpoint(identity: r.rawValue, labels: [r.label]) }
        if splitByFamily {
            v4 = ep(.worldIPv4)
            v6 = ep(.worldIPv6)
        } else {
            v4 = ep(.world)
            v6 = ep(.world)
        }
    }
}
