/// ICMP type/code strings as gopacket's `TypeCode.String()` renders them (docs/hubble-compatibility.md §4.2): the
/// `type` label of `hubble_icmp_total` and the ICMP part of a flow's Summary.
public enum ICMPTypeName {
    public static func v4(type: UInt8, code: UInt8) -> String {
        render(type: type, code: code, types: v4Types, codes: v4Codes)
    }

    public static func v6(type: UInt8, code: UInt8) -> String {
        render(type: type, code: code, types: v6Types, codes: v6Codes)
    }

    private static func render(type: UInt8, code: UInt8, types: [UInt8: String], codes: [UInt8: [UInt8: String]])
        -> String
    {
        guard let name = types[type] else { return "\(type)(\(code))" }
        if let table = codes[type] {
            if let c = table[code] { return "\(name)(\(c))" }
            return "\(name)(Code: \(code))"
        }
        return code == 0 ? name : "\(name)(Code: \(code))"
    }

    static let v4Types: [UInt8: String] = [
        0: "EchoReply", 3: "DestinationUnreachable", 4: "SourceQuench", 5: "Redirect", 8: "EchoRequest",
        9: "RouterAdvertisement", 10: "RouterSolicitation", 11: "TimeExceeded", 12: "ParameterProblem",
        13: "TimestampRequest", 14: "TimestampReply", 15: "InfoRequest", 16: "InfoReply",
        17: "AddressMaskRequest", 18: "AddressMaskReply"
    ]
    static let v4Codes: [UInt8: [UInt8: String]] = [
        3: [
            0: "Net", 1: "Host", 2: "Protocol", 3: "Port", 4: "FragmentationNeeded", 5: "SourceRoutingFailed",
            6: "NetUnknown", 7: "HostUnknown", 8: "SourceIsolated", 9: "NetAdminProhibited",
            10: "HostAdminProhibited", 11: "NetTOS", 12: "HostTOS", 13: "CommAdminProhibited",
            14: "HostPrecedence", 15: "PrecedenceCutoff"
        ],
        11: [0: "TTLExceeded", 1: "FragmentReassemblyTimeExceeded"],
        12: [0: "PointerIndicatesError", 1: "MissingOption", 2: "BadLength"],
        5: [0: "Net", 1: "Host", 2: "TOS+Net", 3: "TOS+Host"]
    ]
    static let v6Types: [UInt8: String] = [
        1: "DestinationUnreachable", 2: "PacketTooBig", 3: "TimeExceeded", 4: "ParameterProblem",
        128: "EchoRequest", 129: "EchoReply", 133: "RouterSolicitation", 134: "RouterAdvertisement",
        135: "NeighborSolicitation", 136: "NeighborAdvertisement", 137: "Redirect"
    ]
    static let v6Codes: [UInt8: [UInt8: String]] = [
        1: [
            0: "NoRouteToDst", 1: "AdminProhibited", 2: "BeyondScopeOfSrc", 3: "AddressUnreachable",
            4: "PortUnreachable", 5: "SrcAddressFailedPolicy", 6: "RejectRouteToDst"
        ],
        3: [0: "HopLimitExceeded", 1: "FragmentReassemblyTimeExceeded"],
        4: [0: "ErroneousHeaderField", 1: "UnrecognizedNextHeader", 2: "UnrecognizedIPv6Option"]
    ]
}
