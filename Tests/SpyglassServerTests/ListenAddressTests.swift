import Testing

@testable import SpyglassServer

@Suite("--hubble-metrics-server address parsing")
struct ListenAddressTests {
    @Test(
        "valid addresses",
        arguments: [
            (":9965", ListenAddress.Host.any, 9965, ":9965"),
            ("127.0.0.1:9965", .ipv4("127.0.0.1"), 9965, "127.0.0.1:9965"),
            ("[::1]:9965", .ipv6("::1"), 9965, "[::1]:9965"),
            ("[::]:0", .ipv6("::"), 0, "[::]:0"),
            ("0.0.0.0:0", .ipv4("0.0.0.0"), 0, "0.0.0.0:0"),
            ("localhost:65535", .name("localhost"), 65535, "localhost:65535"),
            ("[fe80::1%eth0]:9965", .ipv6("fe80::1%eth0"), 9965, "[fe80::1%eth0]:9965")
        ] as [(String, ListenAddress.Host, Int, String)]
    )
    func valid(input: String, host: ListenAddress.Host, port: Int, description: String) throws {
        let address = try ListenAddress(parsing: input)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == description)
    }

    @Test(
        "invalid addresses name the flag and the value",
        arguments: [
            (
                "",
                #"invalid --hubble-metrics-server value "": empty address; expected [host]:port, e.g. ":9965" or "127.0.0.1:9965""#
            ),
            (
                "9965",
                #"invalid --hubble-metrics-server value "9965": missing port; expected [host]:port, e.g. ":9965" or "127.0.0.1:9965""#
            ),
            (
                "127.0.0.1",
                #"invalid --hubble-metrics-server value "127.0.0.1": missing port; expected [host]:port, e.g. ":9965" or "127.0.0.1:9965""#
            ),
            (
                "127.0.0.1:",
                #"invalid --hubble-metrics-server value "127.0.0.1:": port "" is not a number from 0 to 65535"#
            ),
            (":http", #"invalid --hubble-metrics-server value ":http": port "http" is not a number from 0 to 65535"#),
            (
                ":65536",
                #"invalid --hubble-metrics-server value ":65536": port "65536" is not a number from 0 to 65535"#
            ),
            (":-1", #"invalid --hubble-metrics-server value ":-1": port "-1" is not a number from 0 to 65535"#),
            (
                "::1:9965",
                #"invalid --hubble-metrics-server value "::1:9965": too many colons; IPv6 addresses must be in brackets, e.g. "[::1]:9965""#
            ),
            ("[::1:9965", #"invalid --hubble-metrics-server value "[::1:9965": missing "]" in address"#),
            (
                "[::1]",
                #"invalid --hubble-metrics-server value "[::1]": missing port; expected [host]:port, e.g. ":9965" or "127.0.0.1:9965""#
            ),
            ("[::1]x:9965", #"invalid --hubble-metrics-server value "[::1]x:9965": unexpected "x:9965" after "]""#),
            (
                "[127.0.0.1]:9965",
                #"invalid --hubble-metrics-server value "[127.0.0.1]:9965": "127.0.0.1" is not an IPv6 address"#
            ),
            (
                "256.1.1.1:9965",
                #"invalid --hubble-metrics-server value "256.1.1.1:9965": "256.1.1.1" is neither an IPv4 address, a bracketed IPv6 address nor a host name"#
            ),
            (
                "bad_host:9965",
                #"invalid --hubble-metrics-server value "bad_host:9965": "bad_host" is neither an IPv4 address, a bracketed IPv6 address nor a host name"#
            ),
            (" :9965", #"invalid --hubble-metrics-server value " :9965": contains white space"#)
        ] as [(String, String)]
    )
    func invalid(input: String, message: String) {
        #expect {
            _ = try ListenAddress(parsing: input)
        } throws: { error in
            guard let error = error as? MetricsServerError else { return false }
            #expect(error.kind == .invalidAddress)
            #expect(error.description == message)
            return error.description == message
        }
    }

    @Test func serverInitRejectsBadAddressWithSameMessage() {
        #expect(
            throws: MetricsServerError.invalidAddress(
                "localhost", "missing port; expected [host]:port, e.g. \":9965\" or \"127.0.0.1:9965\"")
        ) {
            _ = try MetricsServer(address: "localhost", provider: StubProvider())
        }
    }
}

@Suite("Accept-Encoding negotiation")
struct AcceptEncodingTests {
    @Test(
        arguments: [
            ([], false),
            (["gzip"], true),
            (["GZIP"], true),
            (["x-gzip"], true),
            (["gzip, deflate, br"], true),
            (["deflate, br"], false),
            (["gzip;q=0"], false),
            (["gzip; q=0.000"], false),
            (["gzip;q=0.5"], true),
            (["*"], true),
            (["*;q=0"], false),
            (["*, gzip;q=0"], false),
            (["identity"], false),
            (["identity;q=1, gzip;q=0.5"], false),
            (["identity;q=0.5, gzip;q=0.5"], true),
            (["gzip;q=0.8, identity;q=0.2"], true),
            (["gzip;q=nonsense"], false),
            (["br", "gzip"], true),
            ([""], false)
        ] as [([String], Bool)]
    )
    func negotiation(values: [String], gzip: Bool) {
        #expect(AcceptEncoding.prefersGzip(values) == gzip)
    }
}
