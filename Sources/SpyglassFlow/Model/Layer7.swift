/// The `l7` record of a flow (docs/hubble-compatibility.md §7.4).
public struct Layer7: Sendable, Equatable, Hashable {
    public var type: L7FlowType
    public var latencyNs: UInt64
    public var record: Record?
    public init(type: L7FlowType, latencyNs: UInt64 = 0, record: Record? = nil) {
        self.type = type
        self.latencyNs = latencyNs
        self.record = record
    }

    public enum Record: Sendable, Equatable, Hashable {
        case dns(DNS)
        case http(HTTP)
    }

    public var dns: DNS? {
        if case .dns(let d) = record { return d }
        return nil
    }
    public var http: HTTP? {
        if case .http(let h) = record { return h }
        return nil
    }
}

public struct DNS: Sendable, Equatable, Hashable {
    /// FQDN with a trailing dot, e.g. `example.com.`
    public var query: String
    public var ips: [String]
    public var ttl: UInt32
    public var cnames: [String]
    public var observationSource: String
    public var rcode: UInt32
    public var qtypes: [String]
    public var rrtypes: [String]
    public init(
        query: String = "", ips: [String] = [], ttl: UInt32 = 0, cnames: [String] = [],
        observationSource: String = "", rcode: UInt32 = 0, qtypes: [String] = [], rrtypes: [String] = []
    ) {
        self.query = query
        self.ips = ips
        self.ttl = ttl
        self.cnames = cnames
        self.observationSource = observationSource
        self.rcode = rcode
        self.qtypes = qtypes
        self.rrtypes = rrtypes
    }
}

public struct HTTPHeader: Sendable, Equatable, Hashable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct HTTP: Sendable, Equatable, Hashable {
    public var code: UInt32
    public var method: String
    public var url: String
    public var `protocol`: String
    public var headers: [HTTPHeader]
    public init(
        code: UInt32 = 0, method: String = "", url: String = "", protocol: String = "", headers: [HTTPHeader] = []
    ) {
        self.code = code
        self.method = method
        self.url = url
        self.protocol = `protocol`
        self.headers = headers
    }
}
