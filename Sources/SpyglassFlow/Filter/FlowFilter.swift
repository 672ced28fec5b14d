/// One Hubble `FlowFilter` (flow.proto; docs/hubble-compatibility.md §8): every set field must match (AND), the values
/// of one field are alternatives (OR). A list of filters is an OR (see `FlowFilterSet`).
///
/// This is the parsed, uncompiled form; it is `Hashable` so configurations can be compared. Build a
/// `FlowFilterMatcher` (or a `FlowFilterSet`) to match flows.
public struct FlowFilter: Sendable, Hashable {
    public struct WorkloadSelector: Sendable, Hashable {
        public var name: String
        public var kind: String
        public init(name: String = "", kind: String = "") {
            self.name = name
            self.kind = kind
        }
    }

    public struct InterfaceSelector: Sendable, Hashable {
        public var index: UInt32
        public var name: String
        public init(index: UInt32 = 0, name: String = "") {
            self.index = index
            self.name = name
        }
    }

    public struct EventTypeSelector: Sendable, Hashable {
        /// 0 = any type.
        public var type: Int32
        public var matchSubType: Bool
        public var subType: Int32
        public init(type: Int32 = 0, matchSubType: Bool = false, subType: Int32 = 0) {
            self.type = type
            self.matchSubType = matchSubType
            self.subType = subType
        }
    }

    public var uuid: [String] = []
    public var sourceIP: [String] = []
    public var sourceIPXlated: [String] = []
    public var sourcePod: [String] = []
    public var sourceFQDN: [String] = []
    public var sourceLabel: [String] = []
    public var sourceService: [String] = []
    public var sourceWorkload: [WorkloadSelector] = []
    public var sourceClusterName: [String] = []
    public var destinationIP: [String] = []
    public var destinationPod: [String] = []
    public var destinationFQDN: [String] = []
    public var destinationLabel: [String] = []
    public var destinationService: [String] = []
    public var destinationWorkload: [WorkloadSelector] = []
    public var destinationClusterName: [String] = []
    public var trafficDirection: [TrafficDirection] = []
    public var verdict: [Verdict] = []
    public var dropReasonDesc: [DropReason] = []
    public var interface: [InterfaceSelector] = []
    public var eventType: [EventTypeSelector] = []
    public var httpStatusCode: [String] = []
    public var `protocol`: [String] = []
    public var sourcePort: [String] = []
    public var destinationPort: [String] = []
    public var reply: [Bool] = []
    public var dnsQuery: [String] = []
    public var sourceIdentity: [UInt32] = []
    public var destinationIdentity: [UInt32] = []
    public var httpMethod: [String] = []
    public var httpPath: [String] = []
    public var httpURL: [String] = []
    public var httpHeader: [HTTPHeader] = []
    public var tcpFlags: [TCPFlags] = []
    public var nodeName: [String] = []
    public var nodeLabels: [String] = []
    public var ipVersion: [IPVersion] = []
    public var traceID: [String] = []
    public var ipTraceID: [UInt64] = []
    public var encrypted: [Bool] = []

    public init() {}

    /// True when no field is set (the filter matches every event).
    public var isEmpty: Bool { self == FlowFilter() }

    /// True when every set field is `event_type`: such a filter matches non-flow events (lost events always match
    /// an `event_type` filter; every other field fails on them, as in Hubble).
    var onlyEventType: Bool {
        var copy = self
        copy.eventType = []
        return copy.isEmpty
    }
}

/// A FlowFilter that cannot be parsed or compiled. `field` is the proto field name; the message quotes the value.
public struct FlowFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}
