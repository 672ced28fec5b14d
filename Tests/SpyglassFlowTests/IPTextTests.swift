import SpyglassFlow
import Testing

/// `IPText`, the formatter behind `IPAddress.description` and the metric labels: RFC 5952 text.
@Suite struct IPTextTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"), ("10.1.20.255", "10.1.20.255"),
        ("0:0:0:0:0:0:0:0", "::"), ("0:0:0:0:0:0:0:1", "::1"), ("fd00:0:0:0:0:0:0:1", "fd00::1"),
        // The longest run of zero groups is compressed, the first one on ties, never a single group.
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ("FE80:0:0:0:1:2:3:4", "fe80::1:2:3:4"),
        ("2606:2800:0220:0001:0248:1893:25c8:1946", "2606:2800:220:1:248:1893:25c8:1946"),
        // IPv4-mapped: dotted tail, as Go's net.IP prints it.
        ("::ffff:10.1.2.3", "::ffff:10.1.2.3"), ("0:0:0:0:0:ffff:a01:203", "::ffff:10.1.2.3")
    ])
    func rfc5952(_ text: String, _ expected: String) throws {
        let a = try #require(IPAddress(text))
        #expect(a.description == expected)
        var out: [UInt8] = []
        IPText.append(a, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }
}
