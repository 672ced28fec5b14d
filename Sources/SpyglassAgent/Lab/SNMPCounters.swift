/// A namespace's `/proc/net/snmp` counters, keyed `Group.Name` (`Tcp.InSegs`, `Udp.OutDatagrams`,
/// `Icmp.InMsgs`, `IcmpMsg.OutType8`, …). Tests use them as the kernel's own packet counts.
public struct SNMPCounters: Sendable, Equatable {
    public let values: [String: Int]

    public init(values: [String: Int]) {
        self.values = values
    }

    public subscript(_ key: String) -> Int? { values[key] }

    /// The value, or 0 when the kernel has not created the counter yet (IcmpMsg rows appear on first use).
    public func count(_ key: String) -> Int { values[key] ?? 0 }

    /// `self - earlier` for every key of either (missing counts as 0).
    public func delta(since earlier: SNMPCounters) -> [String: Int] {
        var out: [String: Int] = [:]
        for key in Set(values.keys).union(earlier.values.keys) {
            out[key] = (values[key] ?? 0) - (earlier.values[key] ?? 0)
        }
        return out
    }

    /// Parses the text of `/proc/net/snmp`: pairs of lines, `Group: Name1 Name2 …` then `Group: v1 v2 …`.
    public static func parse(_ text: String) throws(LabError) -> SNMPCounters {
        var values: [String: Int] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var i = 0
        while i < lines.count {
            guard i + 1 < lines.count else { throw LabError("/proc/net/snmp: header line without values: \(lines[i])") }
            let header = lines[i].split(separator: " ", omittingEmptySubsequences: true)
            let row = lines[i + 1].split(separator: " ", omittingEmptySubsequences: true)
            guard let group = header.first, group.hasSuffix(":"), row.first == group else {
                throw LabError("/proc/net/snmp: malformed lines \"\(lines[i])\" / \"\(lines[i + 1])\"")
            }
            guard header.count == row.count else {
                throw LabError("/proc/net/snmp: \(group) has \(header.count - 1) names but \(row.count - 1) values")
            }
            let name = group.dropLast()
            for (key, value) in zip(header.dropFirst(), row.dropFirst()) {
                guard let number = Int(value) else {
                    throw LabError("/proc/net/snmp: \(name).\(key) is not a number: \(value)")
                }
                values["\(name).\(key)"] = number
            }
            i += 2
        }
        return SNMPCounters(values: values)
    }
}
