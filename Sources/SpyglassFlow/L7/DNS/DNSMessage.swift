/// A parsed DNS message (RFC 1035 §4), with what Hubble's `l7.dns` record needs: header flags, questions and the
/// answer section. Authority and additional records are walked (bounds-checked) but not kept, except the EDNS OPT
/// record's extended RCODE bits.
///
/// Names are lower-cased (DNS names compare case-insensitively; resolvers randomise case, RFC 0x20 draft) and
/// rendered as FQDNs with a trailing dot; bytes other than printable ASCII, and `.`/`\` inside a label, are
/// escaped as `\DDD` / `\.` / `\\` like zone files do.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    public var flags: DNSHeaderFlags
    /// The response code: the header's 4 bits, extended by an EDNS OPT record's upper 8 bits when present.
    public var rcode: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorityCount: Int
    public var additionalCount: Int
    /// The bytes ended (snapshot or TCP buffer limit) inside the answer, authority or additional section; what is
    /// here was whole.
    public var isPartial: Bool

    public init(
        id: UInt16, flags: DNSHeaderFlags, rcode: UInt16, questions: [DNSQuestion], answers: [DNSResourceRecord],
        authorityCount: Int = 0, additionalCount: Int = 0, isPartial: Bool = false
    ) {
        self.id = id
        self.flags = flags
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
        self.isPartial = isPartial
    }

    public var isResponse: Bool { flags.isResponse }
}

/// The 16-bit flags word of the DNS header.
public struct DNSHeaderFlags: Sendable, Equatable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// QR
    public var isResponse: Bool { rawValue & 0x8000 != 0 }
    /// 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO.
    public var opcode: UInt8 { UInt8((rawValue >> 11) & 0xf) }
    /// AA
    public var authoritative: Bool { rawValue & 0x0400 != 0 }
    /// TC
    public var truncated: Bool { rawValue & 0x0200 != 0 }
    /// RD
    public var recursionDesired: Bool { rawValue & 0x0100 != 0 }
    /// RA
    public var recursionAvailable: Bool { rawValue & 0x0080 != 0 }
    /// AD
    public var authenticData: Bool { rawValue & 0x0020 != 0 }
    /// CD
    public var checkingDisabled: Bool { rawValue & 0x0010 != 0 }
    /// The header's 4-bit RCODE.
    public var rcode: UInt8 { UInt8(rawValue & 0xf) }
}

public struct DNSQuestion: Sendable, Equatable, Hashable {
    /// FQDN, lower case, trailing dot (`"."` for the root).
    public var name: String
    public var type: UInt16
    public var qclass: UInt16
    public init(name: String, type: UInt16, qclass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }
}

public struct DNSResourceRecord: Sendable, Equatable, Hashable {
    /// Owner name: FQDN, lower case, trailing dot.
    public var name: String
    public var type: UInt16
    public var rrclass: UInt16
    public var ttl: UInt32
    public var data: DNSRData
    public init(name: String, type: UInt16, rrclass: UInt16 = 1, ttl: UInt32, data: DNSRData) {
        self.name = name
        self.type = type
        self.rrclass = rrclass
        self.ttl = ttl
        self.data = data
    }
}

/// RDATA of the answer types Spyglass reads; everything else is kept as its length.
public enum DNSRData: Sendable, Equatable, Hashable {
    /// A (IPv4) or AAAA (IPv6).
    case address(IPAddress)
    /// The target of CNAME, NS, PTR and DNAME: FQDN, lower case, trailing dot.
    case name(String)
    case other(length: Int)
}

/// Why a DNS message was rejected. `reason` is the stable label value of `spyglass_l7_malformed_total{protocol="dns"}`.
public enum DNSParseError: Error, Sendable, Equatable, CaseIterable {
    /// Fewer than 12 bytes.
    case shortHeader
    /// The message ends inside a name, question or record (in the header/question section, or anywhere when the
    /// bytes are the whole message).
    case truncated
    /// A label type other than 0b00 (length) or 0b11 (pointer).
    case badLabelType
    /// A name longer than 255 bytes in wire form.
    case nameTooLong
    /// A compression pointer beyond the end of the message.
    case pointerOutOfRange
    /// A compression pointer that does not point strictly before the labels that led to it (loops, self and
    /// forward references), or too many pointers in one name.
    case pointerLoop
    /// RDATA inconsistent with its type (A not 4 bytes, AAAA not 16, a target name running past RDLENGTH).
    case badRData

    public var reason: String {
        switch self {
        case .shortHeader: "short_header"
        case .truncated: "truncated"
        case .badLabelType: "bad_label_type"
        case .nameTooLong: "name_too_long"
        case .pointerOutOfRange: "pointer_out_of_range"
        case .pointerLoop: "pointer_loop"
        case .badRData: "bad_rdata"
        }
    }

    public static let allReasons: [String] = allCases.map(\.reason)
}

/// Resource record type names, as `qtypes`/`rrtypes` carry them.
public enum DNSRecordType {
    public static let a: UInt16 = 1
    public static let ns: UInt16 = 2
    public static let cname: UInt16 = 5
    public static let soa: UInt16 = 6
    public static let ptr: UInt16 = 12
    public static let mx: UInt16 = 15
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let dname: UInt16 = 39
    public static let opt: UInt16 = 41
    public static let svcb: UInt16 = 64
    public static let https: UInt16 = 65
    public static let any: UInt16 = 255

    /// The mnemonic of a type (`A`, `AAAA`, `CNAME`, …). Types without one are written `TYPE<n>` (RFC 3597 §5,
    /// e.g. `TYPE65534`), which is what miekg/dns prints; Hubble's own map lookup would give `""` there, which
    /// makes an empty, unreadable label.
    public static func name(_ type: UInt16) -> String {
        switch type {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 6: "SOA"
        case 12: "PTR"
        case 13: "HINFO"
        case 15: "MX"
        case 16: "TXT"
        case 17: "RP"
        case 18: "AFSDB"
        case 24: "SIG"
        case 25: "KEY"
        case 28: "AAAA"
        case 29: "LOC"
        case 33: "SRV"
        case 35: "NAPTR"
        case 36: "KX"
        case 37: "CERT"
        case 39: "DNAME"
        case 41: "OPT"
        case 42: "APL"
        case 43: "DS"
        case 44: "SSHFP"
        case 45: "IPSECKEY"
        case 46: "RRSIG"
        case 47: "NSEC"
        case 48: "DNSKEY"
        case 49: "DHCID"
        case 50: "NSEC3"
        case 51: "NSEC3PARAM"
        case 52: "TLSA"
        case 53: "SMIMEA"
        case 55: "HIP"
        case 59: "CDS"
        case 60: "CDNSKEY"
        case 61: "OPENPGPKEY"
        case 62: "CSYNC"
        case 63: "ZONEMD"
        case 64: "SVCB"
        case 65: "HTTPS"
        case 99: "SPF"
        case 108: "EUI48"
        case 109: "EUI64"
        case 249: "TKEY"
        case 250: "TSIG"
        case 251: "IXFR"
        case 252: "AXFR"
        case 253: "MAILB"
        case 254: "MAILA"
        case 255: "ANY"
        case 256: "URI"
        case 257: "CAA"
        default: "TYPE" + String(type)
        }
    }
}
