#!/usr/bin/env python3
"""Crafted IPv4 packets for Spyglass's namespace tests, sent with a raw socket (bounded count).

usage: packets.py KIND SRC DST DPORT COUNT
  syn        TCP SYNs with correct checksums (a closed port answers with RST and drops them: NO_SOCKET)
  udp-badsum UDP datagrams whose checksum is wrong (dropped as UDP_CSUM)
  tcp-badsum TCP SYNs whose checksum is wrong (dropped as TCP_CSUM)
"""
import socket
import struct
import sys

from netcsum import csum


def ip_header(src, dst, proto, payload_len, ident):
    # The kernel fills in the total length and header checksum for IP_HDRINCL sockets.
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))


def pseudo(src, dst, proto, length):
    return struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, proto, length)


def tcp_syn(src, dst, sport, dport, bad):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    c = csum(pseudo(src, dst, 6, len(hdr)) + hdr)
    if bad:
        c ^= 0x5A5A
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def udp(src, dst, sport, dport, bad):
    payload = b"spyglass"
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(src, dst, 17, 8 + len(payload)) + hdr + payload) or 0xFFFF
    if bad:
        c ^= 0x5A5A
    return hdr[:6] + struct.pack("!H", c) + payload


def main():
    kind, src, dst, dport, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    for i in range(count):
        sport = 20000 + (i % 40000)
        if kind == "syn":
            l4, proto = tcp_syn(src, dst, sport, dport, False), 6
        elif kind == "tcp-badsum":
            l4, proto = tcp_syn(src, dst, sport, dport, True), 6
        elif kind == "udp-badsum":
            l4, proto = udp(src, dst, sport, dport, True), 17
        else:
            sys.exit("unknown kind " + kind)
        s.sendto(ip_header(src, dst, proto, len(l4), i & 0xFFFF) + l4, (dst, 0))


if __name__ == "__main__":
    main()
