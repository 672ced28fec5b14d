import Testing

@testable import SpyglassFlow

/// `Endpoint` shares one record between copies: it must still behave as a value (setting a field of a copy leaves
/// the original alone) and compare and hash by its fields, not by which record holds them.
@Suite struct EndpointValueTests {
    static func web() -> Endpoint {
        Endpoint(
            id: 7, identity: 4242, clusterName: "cluster-of-the-node", namespace: "namespace-of-the-server",
            labels: ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=namespace-of-the-server"],
            podName: "web-5c6d7f8b9-xyz12", workloads: [Workload(name: "web", kind: "Deployment")])
    }

    @Test func copiesAreIndependentValues() {
        let original = Self.web()
        var copy = original
        copy.podName = "web-other"
        copy.labels.append("k8s:tier=front")
        copy.identity = 1
        #expect(original.podName == "web-5c6d7f8b9-xyz12")
        #expect(original.labels.count == 2 && original.identity == 4242)
        #expect(copy.podName == "web-other" && copy.labels.count == 3 && copy.identity == 1)
        #expect(copy.namespace == original.namespace && copy.id == 7 && copy.clusterName == "cluster-of-the-node")
        #expect(copy.workloads == [Workload(name: "web", kind: "Deployment")])
    }

    @Test func equalityAndHashingFollowTheFields() {
        let a = Self.web()
        let b = Self.web()  // another record with the same fields
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        var c = b
        c.namespace = "elsewhere"
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
        c.namespace = a.namespace
        #expect(a == c && a.hashValue == c.hashValue)
    }
}
