/// Recognises the first segment of an HTTP/1.x message on a port that is not configured as HTTP (`--http-detect`):
/// the kernel reports TCP payloads that start with a method or `HTTP` on any port, and this decides which side is
/// the client from the segment alone — the stricter check here keeps a body that happens to begin with `GET ` from
/// being taken for a request.
enum HTTPDetect {
    /// `true`: the payload starts a request (its sender is the client); `false`: a status line (its sender is the
    /// server); nil: neither. A request line must end with ` HTTP/1.0` or ` HTTP/1.1` within the snapshot.
    static func startsFromClient(_ p: UnsafeRawBufferPointer) -> Bool? {
        if p.count >= 13, p[0] == 0x48, p[1] == 0x54, p[2] == 0x54, p[3] == 0x50, p[4] == 0x2f, p[5] == 0x31,
            p[6] == 0x2e, p[7] == 0x30 || p[7] == 0x31, p[8] == 0x20, isDigit(p[9]), isDigit(p[10]), isDigit(p[11])
        {
            return false
        }
        // token SP target SP HTTP/1.x CRLF: the method in capitals (RFC 9110's registered methods are).
        var i = 0
        while i < p.count, i < 16, p[i] >= 0x41, p[i] <= 0x5a { i += 1 }
        guard i >= 3, i < p.count, p[i] == 0x20 else { return nil }
        guard let lf = p[(i + 1)...].firstIndex(of: 0x0a), lf >= 10 else { return nil }
        let end = p[lf - 1] == 0x0d ? lf - 1 : lf
        guard end - 9 > i else { return nil }
        // " HTTP/1.0" or " HTTP/1.1" right before the line end.
        let v = end - 9
        return p[v] == 0x20 && p[v + 1] == 0x48 && p[v + 2] == 0x54 && p[v + 3] == 0x54 && p[v + 4] == 0x50
            && p[v + 5] == 0x2f && p[v + 6] == 0x31 && p[v + 7] == 0x2e && (p[v + 8] == 0x30 || p[v + 8] == 0x31)
            ? true : nil
    }

    @inline(__always) private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
