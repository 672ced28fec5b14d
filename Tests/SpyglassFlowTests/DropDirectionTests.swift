import SpyglassFlow
import SpyglassTesting
import Testing

/// Traffic direction of drop flows: from the interface's observation point on a watched interface, else from the
/// path (receive: INGRESS, transmit: EGRESS); a reply flips it; drop flows carry no observation point.
struct DropDirectionTests {
    func drop(direction: SpyEventLayout.HookDirection, obsPoint: UInt8, reply: Bool? = nil) throws -> Flow {
        var e = EventBuilder.trace(
            frame: Frames.v4().tcp(sport: 1, dport: 2, flags: [.syn]).build(), obsPoint: obsPoint,
            direction: direction, isReply: reply)
        e.kind = SpyEventLayout.Kind.drop.rawValue
        return try EventDecoder.testing().decode(e.build())
    }

    @Test func pathDecidesOffWatchedInterfaces() throws {
        let unknown = SpyEventLayout.ObservationCode.unknown
        #expect(try drop(direction: .ingress, obsPoint: unknown).trafficDirection == .ingress)
        #expect(try drop(direction: .egress, obsPoint: unknown).trafficDirection == .egress)
        // A SYN-ACK dropped on the receive path belongs to a connection this side opened: EGRESS.
        #expect(try drop(direction: .ingress, obsPoint: unknown, reply: true).trafficDirection == .egress)
        #expect(try drop(direction: .egress, obsPoint: unknown, reply: true).trafficDirection == .ingress)
    }

    @Test func watchedEndpointInterfaceUsesItsObservationPoint() throws {
        // The host side of a pod's veth receives what the pod sends (from-endpoint): EGRESS.
        let sent = try drop(direction: .ingress, obsPoint: SpyEventLayout.ObservationCode.fromEndpoint)
        #expect(sent.trafficDirection == .egress)
        #expect(sent.traceObservationPoint == .unknownPoint)
        #expect(sent.eventType?.type == CiliumEventType.drop)
        // ... and transmits what the pod receives (to-endpoint): INGRESS.
        #expect(
            try drop(direction: .egress, obsPoint: SpyEventLayout.ObservationCode.toEndpoint).trafficDirection
                == .ingress)
        // A point without a direction (to-stack) falls back to the path.
        #expect(
            try drop(direction: .egress, obsPoint: SpyEventLayout.ObservationCode.toStack).trafficDirection == .egress)
    }

    @Test func anOlderDatapathWithoutDirectionIsUnknown() throws {
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build(), obsPoint: 0xff)
        e.kind = SpyEventLayout.Kind.drop.rawValue
        e.direction = 0xff
        #expect(try EventDecoder.testing().decode(e.build()).trafficDirection == .unknown)
    }
}
