/// Bounded traffic generators run inside lab namespaces by `OverloadTests`. Each stops after a count or a time,
/// whichever comes first, and only sends to the address it is given (a lab pod).
enum OverloadScripts {
    /// UDP datagrams as fast as Python can send them: `dst count seconds`. Prints how many it sent.
    static let udpBurst = """
        import socket, sys, time
        dst, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        end = time.time() + seconds
        sent = 0
        while sent < n and time.time() < end:
            for i in range(1000):
                try:
                    s.sendto(b"burst", (dst, 9999))
                    sent += 1
                except OSError:
                    pass
        print(sent)
        """

    /// A port scan: one SYN to every port 1-65535 of `dst`, the source address cycling through `sources` spoofed
    /// addresses 10.199.200.1… (outside every lab subnet, so the target's answers have no route and stay inside its
    /// namespace). `dst sources seconds`. Prints how many it sent.
    static let synScan = """
        import socket, struct, sys, time
        dst, nsrc, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        def csum(b):
            if len(b) % 2: b += b"\\0"
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            s = (s >> 16) + (s & 0xffff); s += s >> 16
            return ~s & 0xffff
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        d = socket.inet_aton(dst)
        srcs = [socket.inet_aton("10.199.%d.%d" % (200 + k // 250, 1 + k % 250)) for k in range(nsrc)]
        end = time.time() + seconds
        sent = 0
        for port in range(1, 65536):
            if time.time() > end: break
            src = srcs[port % nsrc]
            tcp = struct.pack("!HHIIBBHHH", 40000 + port % 20000, port, port, 0, 5 << 4, 0x02, 1024, 0, 0)
            tcp = tcp[:16] + struct.pack("!H", csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), port & 0xffff, 0, 64, 6, 0, src, d)
            raw.sendto(ip + tcp, (dst, 0))
            sent += 1
        print(sent)
        """

    /// DNS queries nobody answers: `dst count seconds`, each with its own id, a new source port every 50.
    static let dnsFlood = """
        import socket, struct, sys, time
        dst, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        end = time.time() + seconds
        s = None
        for i in range(n):
            if time.time() > end: break
            if i % 50 == 0:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            name = b"".join(bytes([len(p)]) + p for p in [b"q%d" % i, b"flood", b"test"]) + b"\\0"
            s.sendto(struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1), (dst, 53))
        print(i + 1)
        """

    /// A TCP server that accepts and reads forever but never answers: `ip port`.
    static let silentServer = """
        import selectors, socket, sys
        sel = selectors.DefaultSelector()
        l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(1024); sel.register(l, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                if key.fileobj is l:
                    c, _ = l.accept(); sel.register(c, selectors.EVENT_READ)
                elif not key.fileobj.recv(65536):
                    sel.unregister(key.fileobj); key.fileobj.close()
        """

    /// `count` connections to `dst port`, each sending two whole requests and the start of a third head, held
    /// open for `hold` seconds: `dst port count hold`.
    static let halfOpenHTTP = """
        import socket, sys, time
        dst, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        conns = []
        for i in range(n):
            c = socket.create_connection((dst, port), timeout=2)
            c.sendall(b"GET /%d HTTP/1.1\\r\\nHost: h\\r\\n\\r\\nGET /again HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n" % i)
            c.sendall(b"GET /partial HTTP/1.1\\r\\nHost: h\\r\\nX-Pad: " + b"x" * 600)
            conns.append(c)
        time.sleep(hold)
        print(len(conns))
        """
}
