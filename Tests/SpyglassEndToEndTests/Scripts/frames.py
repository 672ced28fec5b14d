#!/usr/bin/env python3
"""Malformed Ethernet frames for Spyglass's drop-parsing tests, sent on a packet socket (bounded count).

usage: frames.py KIND IFACE SRC_MAC DST_MAC SRC_IP DST_IP COUNT
  v4-short-ihl     IPv4 header with IHL 4 (16 bytes): the kernel drops it (IP_INHDR); no header to report
  v4-cut-header    only 12 bytes of an IPv4 header: dropped (IP_INHDR); no header to report
  v4-too-small     IPv4 + UDP 40000->7200 whose total length claims more than the frame holds (PKT_TOO_SMALL)
  v4-cut-tcp       IPv4 (bad header checksum: IP_CSUM) whose TCP header is cut after 6 bytes: addresses are
                   reportable, ports are not
  v6-cut-header    only 24 bytes of an IPv6 header: no header to report
  v6-ext-past-end  IPv6 announcing 100 bytes of payload (PKT_TOO_SMALL) whose destination-options header claims
                   2 KiB the frame does not hold
  v6-bad-option    IPv6 hop-by-hop header with an unknown option that says "discard" (then UDP 40001->7201)
"""
import socket
import struct
import sys

from netcsum import csum


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ipv4(src, dst, proto, total_len, ident, ihl=5):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total_len, ident, 0, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    if ihl < 5:
        hdr = hdr[:ihl * 4]
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]


def ipv6(src, dst, nexthdr, payload_len):
    return struct.pack("!IHBB16s16s", 0x60000000, payload_len, nexthdr, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))


def frame(kind, src, dst, i):
    if kind == "v4-short-ihl":
        return 0x0800, ipv4(src, dst, 17, 36, i, ihl=4) + b"\0" * 20
    if kind == "v4-cut-header":
        return 0x0800, ipv4(src, dst, 17, 28, i)[:12]
    if kind == "v4-too-small":
        udp = struct.pack("!HHHH", 40000, 7200, 180, 0) + b"spy!"
        return 0x0800, ipv4(src, dst, 17, 200, i) + udp
    if kind == "v4-cut-tcp":
        hdr = ipv4(src, dst, 6, 26, i)
        bad = hdr[:10] + struct.pack("!H", struct.unpack("!H", hdr[10:12])[0] ^ 0x5A5A) + hdr[12:]
        return 0x0800, bad + struct.pack("!HHH", 40002, 7202, 0)
    if kind == "v6-cut-header":
        return 0x86DD, ipv6(src, dst, 17, 8)[:24]
    if kind == "v6-ext-past-end":
        return 0x86DD, ipv6(src, dst, 60, 100) + bytes([17, 255, 1, 4, 0, 0, 0, 0])
    if kind == "v6-bad-option":
        udp = struct.pack("!HHHH", 40001, 7201, 12, 0) + b"spy!"
        hbh = bytes([17, 0, 0x80 | 0x1E, 4, 0, 0, 0, 0])  # option type 10xxxxxx: discard, send ICMP
        return 0x86DD, ipv6(src, dst, 0, len(hbh) + len(udp)) + hbh + udp
    sys.exit("unknown kind " + kind)


def main():
    kind, iface, smac, dmac, src, dst, count = sys.argv[1:8]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for i in range(int(count)):
        ethertype, payload = frame(kind, src, dst, i)
        s.send(mac(dmac) + mac(smac) + struct.pack("!H", ethertype) + payload)


if __name__ == "__main__":
    main()
