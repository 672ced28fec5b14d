import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassEndpoints

@Suite struct EndpointsFileParseTests {
    @Test func sampleFixtureParses() throws {
        let infos = try EndpointsFile.parse(Fixtures.text("endpoints.yaml"), path: "endpoints.yaml", clusterName: "c1")
        #expect(infos.count == 4)
        #expect(infos[0].prefixes == [net("10.20.0.0/16"), net("fd00:20::/48")])
        #expect(infos[0].workloads == [Workload(name: "ledger", kind: "VirtualMachine")])
        #expect(
            infos[0].canonicalLabels == ["k8s:app=ledger", "k8s:io.kubernetes.pod.namespace=billing", "k8s:tier=db"])
        #expect(infos[0].clusterName == "c1")
        #expect(infos[1].podName == "ledger-primary")
        #expect(infos[2].isServiceOnly)
        #expect(infos[2].service == Service(name: "ledger", namespace: "billing"))
        #expect(infos[3].identity == 40000)
        #expect(infos[3].labels == ["k8s:partner=acme"])
        #expect(infos[3].clusterName == "partners")
    }

    @Test func jsonAndBareListsWork() throws {
        let json =
            #"{"endpoints": [{"addresses": ["192.0.2.1", "2001:db8::/32"], "namespace": "ext", "labels": {"app": "x"}}]}"#
        let a = try EndpointsFile.parse(json, path: "e.json")
        #expect(a.count == 1 && a[0].prefixes.count == 2 && a[0].namespace == "ext")
        let bare = "- addresses: 192.0.2.9\n  workload: w\n"
        let b = try EndpointsFile.parse(bare, path: "e.yaml")
        #expect(b[0].prefixes == [net("192.0.2.9")])
        #expect(b[0].workloads == [Workload(name: "w", kind: "")])
        #expect(try EndpointsFile.parse("", path: "empty.yaml").isEmpty)
        #expect(try EndpointsFile.parse("endpoints: []\n", path: "e.yaml").isEmpty)
    }

    func error(_ text: String) -> String {
        do {
            _ = try EndpointsFile.parse(text, path: "/etc/spyglass/endpoints.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func errorsNameFileEntryFieldAndProblem() {
        let badIP =
            "endpoints:\n  - addresses: [10.0.0.1]\n  - addresses: [10.0.0.2, 10.0.0.300/24]\n    namespace: x\n"
        #expect(
            error(badIP)
                == "endpoints file /etc/spyglass/endpoints.yaml: endpoints[1].addresses[1] (line 3): '10.0.0.300/24' is not an IPv4/IPv6 address or CIDR"
        )
        #expect(
            error("endpoints:\n  - namespace: x\n").contains(
                "endpoints[0] (line 2): missing required field 'addresses'"))
        #expect(
            error("endpoints:\n  - addresses: [10.0.0.1]\n    namespce: x\n").contains(
                "endpoints[0] (line 3): unknown field 'namespce'"))
        #expect(
            error("endpoints:\n  - addresses: [10.0.0.1]\n    identity: -3\n").contains(
                "endpoints[0].identity (line 3): '-3' is not a positive 32-bit number"))
        #expect(
            error("endpoints:\n  - addresses: [10.0.0.1]\n    labels: [\"novalue\"]\n").contains(
                "endpoints[0].labels[0]"))
        #expect(
            error("endpoints:\n  - addresses: [10.0.0.1]\n    kind: Deployment\n").contains("'kind' needs 'workload'"))
        #expect(error("endpoints:\n  - addresses: []\n").contains("endpoints[0].addresses (line 2): must not be empty"))
        #expect(error("endpoints: [\n").contains("not valid YAML/JSON at line"))
        #expect(error("servers: []\n").contains("unknown top-level key 'servers'"))
    }
}

@Suite struct EndpointsFileSourceTests {
    func config(_ path: String, grace: Duration = .milliseconds(300)) -> EndpointsConfig {
        var c = EndpointsConfig()
        c.endpointsFile = path
        c.fileCheckInterval = .milliseconds(20)
        c.nodeAddresses = false
        c.departureGrace = grace
        c.rebuildCoalesce = .milliseconds(5)
        c.clusterName = "c1"
        return c
    }

    @Test(.timeLimit(.minutes(1))) func loadReloadBadFileAndDepartures() async throws {
        let dir = TempDir()
        let path = dir.path("endpoints.yaml")
        dir.write(
            "endpoints.yaml",
            """
            endpoints:
              - addresses: [10.5.0.1]
                namespace: shop
                pod: cart-0
                workload: cart
                kind: StatefulSet
                labels: {app: cart}
              - addresses: [10.6.0.0/16]
                namespace: ext
                workload: partner
                kind: Network
            """)
        let endpoints = Endpoints(config: config(path, grace: .milliseconds(1500)), logger: quietLogger)
        let log = DepartureLog()
        endpoints.onDeparture { log.add($0) }
        try await endpoints.start()
        defer { Task { await endpoints.stop() } }
        let r = endpoints.resolver
        #expect(r.lookup(ip("10.5.0.1"))?.podName == "cart-0")
        #expect(r.lookup(ip("10.5.0.1"))?.labels == ["k8s:app=cart", "k8s:io.kubernetes.pod.namespace=shop"])
        #expect(r.lookup(ip("10.6.9.9"))?.workloads.first?.name == "partner")

        // Reload on change: a new entry, cart-0 changes label.
        dir.write(
            "endpoints.yaml",
            """
            endpoints:
              - addresses: [10.5.0.1]
                namespace: shop
                pod: cart-0
                workload: cart
                kind: StatefulSet
                labels: {app: cart, version: v2}
              - addresses: [10.6.0.0/16]
                namespace: ext
                workload: partner
                kind: Network
              - addresses: [10.7.0.1]
                namespace: shop
                pod: search-0
            """)
        #expect(await eventually { r.lookup(ip("10.7.0.1"))?.podName == "search-0" })
        #expect(r.lookup(ip("10.5.0.1"))?.labels.contains("k8s:version=v2") == true)

        // A bad file: clear error, last good data kept.
        let before = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_errors_total" }!
        dir.write("endpoints.yaml", "endpoints:\n  - addresses: [10.5.0.1]\n  - addresses: [not-an-ip]\n")
        #expect(await eventually { endpoints.endpointsFileError != nil })
        #expect(
            endpoints.endpointsFileError?.description
                == "endpoints file \(path): endpoints[1].addresses[0] (line 3): 'not-an-ip' is not an IPv4/IPv6 address or CIDR"
        )
        #expect(r.lookup(ip("10.7.0.1"))?.podName == "search-0")
        #expect(r.lookup(ip("10.5.0.1"))?.podName == "cart-0")
        let after = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_errors_total" }!
        let parseErrors = after.samples.first { $0.labels.contains { $0 == ("reason", "parse") } }!.value
        #expect(
            parseErrors == 1 + (before.samples.first { $0.labels.contains { $0 == ("reason", "parse") } }?.value ?? 0))
        #expect(log.all.isEmpty)

        // Remove search-0 and the partner network: departures after the grace period.
        dir.write(
            "endpoints.yaml",
            """
            endpoints:
              - addresses: [10.5.0.1]
                namespace: shop
                pod: cart-0
                workload: cart
                kind: StatefulSet
                labels: {app: cart, version: v2}
            """)
        #expect(await eventually { r.lookup(ip("10.7.0.1")) == nil })
        #expect(endpoints.endpointsFileError == nil)
        // Not before the grace period (1.5 s): pending first.
        #expect(log.all.isEmpty)
        #expect(
            endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_departures_pending" }?.samples.first?.value
                == 2)
        #expect(await eventually { log.all.count == 2 })
        let search = log.all.first { $0.podName == "search-0" }
        #expect(
            search
                == EndpointDeparture(
                    namespace: "shop", podName: "search-0", workloadName: "", workloadKind: "", ips: [ip("10.7.0.1")],
                    labels: ["k8s:io.kubernetes.pod.namespace=shop"], source: "file"))
        let partner = log.all.first { $0.workloadName == "partner" }
        #expect(partner?.prefixes == [net("10.6.0.0/16")])
        #expect(partner?.ips == [])
        #expect(partner?.workloadKind == "Network")
    }

    @Test(.timeLimit(.minutes(1))) func reappearanceWithinGraceCancels() async throws {
        let dir = TempDir()
        let path = dir.path("e.yaml")
        let full =
            "- {addresses: [10.5.0.1], namespace: shop, pod: cart-0}\n- {addresses: [10.5.0.2], namespace: shop, pod: cart-1}\n"
        dir.write("e.yaml", full)
        // A long grace period: the test checks the bookkeeping, then jumps the clock instead of sleeping.
        let endpoints = Endpoints(config: config(path, grace: .seconds(600)), logger: quietLogger)
        let log = DepartureLog()
        endpoints.onDeparture { log.add($0) }
        try await endpoints.start()
        defer { Task { await endpoints.stop() } }
        dir.write("e.yaml", "- {addresses: [10.5.0.1], namespace: shop, pod: cart-0}\n")
        #expect(await eventually { endpoints.resolver.lookup(ip("10.5.0.2")) == nil })
        #expect(
            await eventually {
                endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_departures_pending" }?.samples.first?
                    .value == 1
            })
        // Back (with a new IP) within the grace period.
        dir.write(
            "e.yaml",
            "- {addresses: [10.5.0.1], namespace: shop, pod: cart-0}\n- {addresses: [10.5.0.3], namespace: shop, pod: cart-1}\n"
        )
        #expect(await eventually { endpoints.resolver.lookup(ip("10.5.0.3"))?.podName == "cart-1" })
        #expect(endpoints.fireDueDepartures(at: .now + .seconds(3600)) == 0)
        #expect(log.all.isEmpty)
        #expect(
            endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_departures_pending" }?.samples.first?.value
                == 0)
        // Gone again: pending, and due only after the grace period.
        dir.write("e.yaml", "- {addresses: [10.5.0.1], namespace: shop, pod: cart-0}\n")
        #expect(await eventually { endpoints.resolver.lookup(ip("10.5.0.3")) == nil })
        #expect(endpoints.fireDueDepartures(at: .now + .seconds(300)) == 0)
        #expect(endpoints.fireDueDepartures(at: .now + .seconds(601)) == 1)
        #expect(log.all.map(\.podName) == ["cart-1"])
        #expect(log.all.first?.ips == [ip("10.5.0.3")])
        let deps = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_departures_total" }!
        #expect(deps.samples.first { $0.labels.contains { $0 == ("outcome", "cancelled") } }?.value == 1)
        #expect(deps.samples.first { $0.labels.contains { $0 == ("outcome", "fired") } }?.value == 1)
    }

    @Test func badFileAtStartThrows() async {
        let dir = TempDir()
        dir.write("e.yaml", "- {addresses: [10.5.0.1], namespace: [x]}\n")
        let endpoints = Endpoints(config: config(dir.path("e.yaml")), logger: quietLogger)
        await #expect(throws: EndpointsFileError.self) { try await endpoints.start() }
        let missing = Endpoints(config: config(dir.path("nope.yaml")), logger: quietLogger)
        do {
            try await missing.start()
            Issue.record("no error for a missing file")
        } catch {
            #expect("\(error)".contains("nope.yaml: cannot read"))
        }
    }

    @Test func nodeAddressesAreHost() async throws {
        var c = EndpointsConfig()
        c.nodeAddressProvider = { [ip("192.0.2.5"), ip("fe80::1"), ip("127.0.0.1")] }
        let endpoints = Endpoints(config: c, logger: quietLogger)
        try await endpoints.start()
        defer { Task { await endpoints.stop() } }
        let host = endpoints.resolver.lookup(ip("192.0.2.5"))
        #expect(host == Endpoint(identity: 1, clusterName: "default", labels: ["reserved:host"]))
        #expect(endpoints.resolver.lookup(ip("fe80::1"))?.identity == 1)
        #expect(endpoints.resolver.resolve(ip("192.0.2.6")).identity == 2)
        // The real getifaddrs finds at least loopback.
        #expect(try NodeAddressSource.interfaceAddresses().contains(ip("127.0.0.1")))
        let synced = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_source_synced" }!
        #expect(synced.samples == [.init(labels: ["source": "node"], value: 1)])
    }
}
