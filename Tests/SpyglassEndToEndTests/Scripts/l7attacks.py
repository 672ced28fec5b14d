#!/usr/bin/env python3
"""What a hostile pod sends at Spyglass's L7 parsing, for the namespace tests (bounded counts, stdlib only).

usage:
  l7attacks.py spoof-dns SRC DST DPORT NAME ADDRESS COUNT
      COUNT unsolicited DNS responses from SRC:53 to DST:DPORT claiming NAME has address ADDRESS.
  l7attacks.py forge-http SERVER PORT
      One keep-alive HTTP/1.1 connection to SERVER:PORT (GET /ok?n=1); then forged segments with the connection's
      own 4-tuple, seen on the pod's eth0 and sent from an AF_PACKET socket there: one far out of the window, one
      with an IPv4 total length of 60000 on a 1-byte payload, one a few KiB ahead of the stream, and an out-of-window
      RST; then GET /ok?n=2 and n=3 on the same connection. Prints the three status codes.
"""
import http.client
import socket
import struct
import sys
import time

from netcsum import csum


def dns_name(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def spoof_dns(src, dst, dport, name, address, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 53))
    for i in range(count):
        msg = struct.pack("!HHHHHH", 0x4000 + i, 0x8180, 1, 1, 0, 0)
        msg += dns_name(name) + struct.pack("!HH", 1, 1)
        msg += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(address)
        s.sendto(msg, (dst, dport))
        time.sleep(0.05)


def tcp_frame(eth, src, dst, sport, dport, seq, ack, flags, payload, ip_total=None):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, 5 << 4, flags, 502, 0, 0)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_total or total, 0x1234, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return eth + ip + tcp + payload


def last_segment(sniffer, src, sport, dport, deadline):
    """The Ethernet header, sequence end and ACK of the newest segment src:sport → dport seen on eth0."""
    found = None
    sniffer.settimeout(0.2)
    while time.time() < deadline:
        try:
            frame = sniffer.recv(65535)
        except socket.timeout:
            if found:
                return found
            continue
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        if socket.inet_ntoa(frame[26:30]) != src:
            continue
        t = 14 + ihl
        sp, dp, seq, ack = struct.unpack("!HHII", frame[t:t + 12])
        if sp != sport or dp != dport:
            continue
        total = struct.unpack("!H", frame[16:18])[0]
        doff = (frame[t + 12] >> 4) * 4
        length = total - ihl - doff
        found = (frame[:14], (seq + length) & 0xFFFFFFFF, ack)
    if not found:
        sys.exit("no segment of the connection seen on eth0")
    return found


def forge_http(server, port):
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    sniffer.bind(("eth0", 0))
    conn = http.client.HTTPConnection(server, port, timeout=5)
    codes = []

    def get(n):
        conn.request("GET", "/ok?n=%d" % n)
        r = conn.getresponse()
        r.read()
        codes.append(r.status)

    get(1)
    src, sport = conn.sock.getsockname()
    eth, nxt, ack = last_segment(sniffer, src, sport, port, time.time() + 3)
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out.bind(("eth0", 0))
    psh_ack, rst_ack = 0x18, 0x14
    forged = b"GET /forged HTTP/1.1\r\nHost: forged\r\n\r\n"
    out.send(tcp_frame(eth, src, server, sport, port, nxt + 0x40000000, ack, psh_ack, forged))
    out.send(tcp_frame(eth, src, server, sport, port, nxt, ack, psh_ack, b"x", ip_total=60000))
    out.send(tcp_frame(eth, src, server, sport, port, nxt + 3000, ack, psh_ack, b"y" * 10))
    out.send(tcp_frame(eth, src, server, sport, port, nxt + 0x50000000, ack, rst_ack, b""))
    time.sleep(0.2)
    get(2)
    get(3)
    conn.close()
    print(" ".join(str(c) for c in codes))


def main():
    kind = sys.argv[1]
    if kind == "spoof-dns":
        spoof_dns(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7]))
    elif kind == "forge-http":
        forge_http(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()
