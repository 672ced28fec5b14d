import Foundation
import SpyglassFlow
import Synchronization
import Testing

@testable import SpyglassEndpoints

/// A store with fixed providers, rebuilt on demand.
func makeStore(
    grace: Duration = .seconds(60), split: Bool = false, _ records: [EndpointSourceRank: [EndpointInfo]]
) -> EndpointStore {
    let store = EndpointStore(world: WorldEndpoints(splitByFamily: split), grace: grace, coalesce: .seconds(3600))
    for (rank, infos) in records { store.register(rank) { infos } }
    store.rebuildNow()
    return store
}

func net(_ s: String) -> IPPrefix { IPPrefix(s)! }

@Suite struct PrefixTests {
    @Test func parsesAndMasks() {
        #expect(net("10.1.2.3/8").description == "10.0.0.0/8")
        #expect(net("10.1.2.3").description == "10.1.2.3/32")
        #expect(net("fd00:1:2::5/32").description == "fd00:1::/32")
        #expect(net("::/0").description == "::/0")
        #expect(net(" 192.0.2.1/24 ").description == "192.0.2.0/24")
        #expect(IPPrefix("10.0.0.0/33") == nil)
        #expect(IPPrefix("fd00::/129") == nil)
        #expect(IPPrefix("10.0.0/8") == nil)
        #expect(IPPrefix("10.0.0.0/") == nil)
        #expect(IPPrefix("10.0.0.0/-1") == nil)
        #expect(IPPrefix("garbage") == nil)
        #expect(net("10.0.0.0/8").contains(ip("10.255.0.1")))
        #expect(!net("10.0.0.0/8").contains(ip("11.0.0.1")))
        #expect(!net("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")))
    }
}

@Suite struct ResolverTests {
    func labeled(_ prefixes: [String], _ name: String) -> EndpointInfo {
        EndpointInfo(prefixes: prefixes.map(net), namespace: "ns", podName: name, labels: ["k8s:name=\(name)"])
    }

    @Test func longestPrefixMatchIPv4AndIPv6() {
        let store = makeStore([
            .file: [
                labeled(["10.0.0.0/8"], "eight"), labeled(["10.1.0.0/16"], "sixteen"),
                labeled(["10.1.2.0/24"], "twentyfour"),
                labeled(["10.1.2.3/32"], "host"), labeled(["10.1.2.128/25"], "upper-half"),
                labeled(["fd00::/8"], "v6-8"), labeled(["fd00:1::/32"], "v6-32"), labeled(["fd00:1::5/128"], "v6-host"),
                labeled(["fd00:1:0:0:8000::/65"], "v6-65")
            ]
        ])
        let r = store.resolver
        #expect(r.lookup(ip("10.1.2.3"))?.podName == "host")
        #expect(r.lookup(ip("10.1.2.4"))?.podName == "twentyfour")
        #expect(r.lookup(ip("10.1.2.200"))?.podName == "upper-half")
        #expect(r.lookup(ip("10.1.3.4"))?.podName == "sixteen")
        #expect(r.lookup(ip("10.200.0.1"))?.podName == "eight")
        #expect(r.lookup(ip("11.0.0.1")) == nil)
        #expect(r.lookup(ip("fd00:1::5"))?.podName == "v6-host")
        #expect(r.lookup(ip("fd00:1::6"))?.podName == "v6-32")
        #expect(r.lookup(ip("fd00:1::8000:0:0:1"))?.podName == "v6-65")
        #expect(r.lookup(ip("fd00:2::1"))?.podName == "v6-8")
        #expect(r.lookup(ip("fe80::1")) == nil)
        // Families never mix, except IPv4-mapped IPv6, which is looked up as IPv4.
        #expect(r.lookup(ip("::a01:203")) == nil)
        #expect(r.lookup(ip("::ffff:10.1.2.3"))?.podName == "host")
        #expect(r.counts.endpoints == 9)
    }

    @Test func defaultRoutesAndWorld() {
        let store = makeStore([.file: [labeled(["0.0.0.0/0"], "everything-v4")]])
        #expect(store.resolver.lookup(ip("203.0.113.1"))?.podName == "everything-v4")
        #expect(store.resolver.lookup(ip("2001:db8::1")) == nil)
        let world = store.resolver.resolve(ip("2001:db8::1"))
        #expect(world.identity == 2)
        #expect(world.labels == ["reserved:world"])
        #expect(world.namespace == "" && world.podName == "" && world.workloads.isEmpty)

        let split = makeStore(split: true, [:])
        #expect(split.resolver.resolve(ip("203.0.113.1")) == Endpoint(identity: 9, labels: ["reserved:world-ipv4"]))
        #expect(split.resolver.resolve(ip("2001:db8::1")) == Endpoint(identity: 10, labels: ["reserved:world-ipv6"]))
    }

    @Test func reservedHostRemoteNodeAndAPIServer() {
        let store = makeStore([
            .host: [
                EndpointInfo(
                    prefixes: [net("192.168.49.3"), net("fd00::3")], labels: ["reserved:host"], clusterName: "c1",
                    identity: 1)
            ],
            .remoteNode: [
                EndpointInfo(
                    prefixes: [net("192.168.49.2"), net("192.168.49.3"), net("192.168.49.4")],
                    labels: ["reserved:remote-node"],
                    clusterName: "c1", identity: 6)
            ],
            .apiServer: [
                EndpointInfo(
                    prefixes: [net("192.168.49.2"), net("192.168.49.3"), net("172.16.0.9")],
                    labels: ["reserved:kube-apiserver"], identity: 7)
            ]
        ])
        let r = store.resolver
        let host = r.resolve(ip("192.168.49.3"))
        #expect(host.identity == 1)
        #expect(host.labels == ["reserved:host", "reserved:kube-apiserver"])
        #expect(r.resolve(ip("fd00::3")).labels == ["reserved:host"])
        let apiNode = r.resolve(ip("192.168.49.2"))
        #expect(apiNode.identity == 7)
        #expect(apiNode.labels == ["reserved:kube-apiserver", "reserved:remote-node"])
        #expect(
            r.resolve(ip("192.168.49.4")) == Endpoint(identity: 6, clusterName: "c1", labels: ["reserved:remote-node"]))
        #expect(r.resolve(ip("172.16.0.9")) == Endpoint(identity: 7, labels: ["reserved:kube-apiserver"]))
    }

    @Test func precedenceForTheSamePrefix() {
        let p = ["10.9.9.9"]
        let store = makeStore([
            .host: [EndpointInfo(prefixes: [net("10.0.0.1")], labels: ["reserved:host"], identity: 1)],
            .pods: [labeled(p, "pod"), labeled(["10.0.0.1"], "hostnet-pod-is-host")],
            .file: [labeled(p, "file"), labeled(["10.0.0.2"], "file-names-node")],
            .remoteNode: [
                EndpointInfo(
                    prefixes: [net("10.0.0.2"), net("10.9.9.9")], labels: ["reserved:remote-node"], identity: 6)
            ]
        ])
        #expect(store.resolver.lookup(ip("10.9.9.9"))?.podName == "pod")
        #expect(store.resolver.lookup(ip("10.0.0.1"))?.identity == 1)
        #expect(store.resolver.lookup(ip("10.0.0.2"))?.podName == "file-names-node")
    }

    @Test func servicesAndEnrich() {
        let store = makeStore([
            .pods: [
                EndpointInfo(
                    prefixes: [net("10.244.1.10")], namespace: "shop", podName: "web-1",
                    labels: ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop"],
                    workloads: [Workload(name: "web", kind: "Deployment")],
                    clusterName: "default", endpointID: 42)
            ],
            .services: [
                EndpointInfo(
                    prefixes: [net("10.96.0.10")], service: Service(name: "kube-dns", namespace: "kube-system"))
            ]
        ])
        var flow = Flow(ip: IPHeader(source: ip("10.244.1.10"), destination: ip("10.96.0.10"), ipVersion: .ipv4))
        store.resolver.enrich(&flow)
        #expect(flow.source?.podName == "web-1")
        #expect(flow.source?.namespace == "shop")
        #expect(flow.source?.id == 42)
        #expect(flow.source?.workloads == [Workload(name: "web", kind: "Deployment")])
        #expect(flow.source?.labels == ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop"])
        #expect((256...65535).contains(Int(flow.source!.identity)))
        #expect(flow.destination?.labels == ["reserved:world"])
        #expect(flow.destinationService == Service(name: "kube-dns", namespace: "kube-system"))
        #expect(flow.sourceService == nil)
        // The reply direction gets source_service.
        var reply = Flow(ip: IPHeader(source: ip("10.96.0.10"), destination: ip("10.244.1.10"), ipVersion: .ipv4))
        store.resolver.enrich(&reply)
        #expect(reply.sourceService?.name == "kube-dns")
        #expect(reply.destination?.podName == "web-1")
        // No IP header: untouched.
        var bare = Flow()
        store.resolver.enrich(&bare)
        #expect(bare.source == nil && bare.destination == nil)
    }
}

@Suite struct IdentityTests {
    @Test func stableAndOrderIndependent() {
        let a = makeStore([
            .pods: [EndpointInfo(prefixes: [net("10.0.0.1")], labels: ["k8s:b=2", "k8s:a=1", "k8s:a=1"])]
        ])
        let b = makeStore([
            .pods: [
                EndpointInfo(prefixes: [net("10.0.0.7")], labels: ["k8s:other=x"]),
                EndpointInfo(prefixes: [net("10.0.0.2")], labels: ["k8s:a=1", "k8s:b=2"])
            ]
        ])
        let ia = a.resolver.lookup(ip("10.0.0.1"))!
        let ib = b.resolver.lookup(ip("10.0.0.2"))!
        #expect(ia.identity == ib.identity)
        #expect(ia.labels == ["k8s:a=1", "k8s:b=2"])
        #expect(ia.identity == IdentityAllocator.preferred(forKey: "k8s:a=1\nk8s:b=2"))
        #expect(ia.identity >= 256 && ia.identity <= 65535)
        #expect(b.resolver.lookup(ip("10.0.0.7"))!.identity != ib.identity)
        // Fixed value: the derivation is part of the contract (same on every node and release).
        #expect(
            IdentityAllocator.preferred(forKey: "k8s:app=web") == IdentityAllocator.preferred(forKey: "k8s:app=web"))
        // An explicit identity wins.
        let c = makeStore([.file: [EndpointInfo(prefixes: [net("10.0.0.3")], labels: ["k8s:a=1"], identity: 40000)]])
        #expect(c.resolver.lookup(ip("10.0.0.3"))!.identity == 40000)
    }

    /// Two label sets with the same preferred number.
    static func collidingKeys() -> (String, String) {
        var seen: [UInt32: String] = [:]
        var i = 0
        while true {
            let key = "k8s:app=a\(i)"
            let id = IdentityAllocator.preferred(forKey: key)
            if let other = seen[id] { return (other, key) }
            seen[id] = key
            i += 1
        }
    }

    @Test func collisionsAreDeterministicAndSticky() {
        let (k1, k2) = IdentityAllocator.collidingKeys()
        let preferred = IdentityAllocator.preferred(forKey: k1)
        #expect(IdentityAllocator.preferred(forKey: k2) == preferred)
        // Same batch: sorted order decides, whatever order they are given in.
        var a = IdentityAllocator()
        let ma = a.assign([k1, k2])
        var b = IdentityAllocator()
        let mb = b.assign([k2, k1])
        #expect(ma == mb)
        let first = min(k1, k2), second = max(k1, k2)
        #expect(ma[first] == preferred)
        #expect(ma[second] == (preferred == 65535 ? 256 : preferred + 1))
        // Sticky: the holder keeps its number when the other one goes and comes back.
        var c = IdentityAllocator()
        _ = c.assign([second])
        #expect(c.byKey[second] == preferred)
        let mc = c.assign([second, first])
        #expect(mc[second] == preferred)
        #expect(mc[first] != preferred)
        // Freed numbers are reused.
        let md = c.assign([first])
        #expect(md[first] != preferred)  // still held by `first` as allocated: identities never move while live
        #expect(md.count == 1)
    }
}

extension IdentityAllocator {
    static func collidingKeys() -> (String, String) { IdentityTests.collidingKeys() }
}

@Suite struct ConcurrencyTests {
    /// A thread looks up continuously while the sources change and snapshots are swapped underneath it; every
    /// answer must be one of the endpoints some snapshot held (never torn, never a crash).
    @Test(.timeLimit(.minutes(1))) func lookupsWhileSwapping() async {
        let version = Atomic<Int>(0)
        let store = EndpointStore(
            world: WorldEndpoints(splitByFamily: false), grace: .seconds(60), coalesce: .seconds(3600))
        store.register(.pods) {
            let v = version.load(ordering: .relaxed)
            return (0..<200).map { i in
                EndpointInfo(
                    prefixes: [IPPrefix(host: IPAddress(ipv4: 10, 0, UInt8(i / 250), UInt8(i % 250)))], namespace: "ns",
                    podName: "pod-\(i)-v\(v)", labels: ["k8s:v=\(v)"])
            }
        }
        store.rebuildNow()
        let stop = Atomic<Bool>(false)
        let bad = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let resolver = store.resolver
        let reader = Task.detached {
            var n = 0
            while !stop.load(ordering: .relaxed) {
                let i = n % 200
                let ep = resolver.lookup(IPAddress(ipv4: 10, 0, UInt8(i / 250), UInt8(i % 250)))
                if let ep {
                    let parts = ep.podName.split(separator: "-")
                    if parts.count != 3 || parts[1] != "\(i)" || ep.labels != ["k8s:v=\(parts[2].dropFirst())"] {
                        bad.add(1, ordering: .relaxed)
                    }
                } else {
                    bad.add(1, ordering: .relaxed)
                }
                n += 1
            }
            done.store(n, ordering: .relaxed)
        }
        for v in 1...300 {
            version.store(v, ordering: .relaxed)
            store.rebuildNow()
            if v % 50 == 0 { await Task.yield() }
        }
        stop.store(true, ordering: .relaxed)
        await reader.value
        #expect(bad.load(ordering: .relaxed) == 0)
        #expect(done.load(ordering: .relaxed) > 0)
        #expect(resolver.lookup(ip("10.0.0.5"))?.podName == "pod-5-v300")
        #expect(resolver.generation == 301)
    }
}
