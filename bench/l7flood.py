"""Floods that fill the agent's L7 tables (bench/memory.sh): requests that never get an answer.

usage: python3 bench/l7flood.py server IP PORT SECONDS
           accept TCP on IP:PORT, never read and never answer, for SECONDS; prints how many connections it took
       python3 bench/l7flood.py dns DST COUNT RATE SECONDS
           COUNT DNS queries (distinct names of about 200 bytes) to DST:53 at RATE per second, at most SECONDS;
           prints how many were sent
       python3 bench/l7flood.py http DST PORT CONNS REQUESTS URL_BYTES RATE HOLD
           CONNS connections, each sending REQUESTS GET requests with URL_BYTES-long URLs, one request per segment,
           RATE requests per second over all connections; prints how many were sent, then holds the connections
           open HOLD seconds
Standard library only; every loop is bounded in count and time.
"""

import selectors
import socket
import struct
import sys
import time


def server(ip, port, seconds):
    # Never read: the requests stay in the socket buffers, none is ever answered. A larger receive buffer keeps the
    # window open for every request of a connection.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    listener.bind((ip, int(port)))
    listener.listen(4096)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    held = []
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        for _ in sel.select(timeout=0.5):
            conn, _ = listener.accept()
            held.append(conn)
    print(len(held), flush=True)


def dns(dst, count, rate, seconds):
    count, rate = int(count), float(rate)
    start = time.monotonic()
    end = start + float(seconds)
    sock, sent = None, 0
    # 63-byte labels: each name is about 200 bytes on the wire and distinct by its first label.
    pad = [b"p" * 63, b"a" * 63]
    for i in range(count):
        if time.monotonic() > end:
            break
        if i % 50 == 0:  # a new source port every 50 queries, as many clients would
            if sock:
                sock.close()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        labels = [b"q%08d" % i + b"x" * 50] + pad + [b"flood", b"test"]
        name = b"".join(bytes([len(p)]) + p for p in labels) + b"\0"
        query = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
        try:
            sock.sendto(query, (dst, 53))
            sent += 1
        except OSError:  # an ICMP port unreachable reported on this socket: the query before it was still sent
            pass
        ahead = start + sent / rate - time.monotonic()
        if ahead > 0.001:
            time.sleep(ahead)
    print(sent, flush=True)


def http(dst, port, conns, requests, url_bytes, rate, hold):
    conns, requests, url_bytes, rate = int(conns), int(requests), int(url_bytes), float(rate)
    socks = []
    for _ in range(conns):
        s = socket.create_connection((dst, int(port)), timeout=2)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    start = time.monotonic()
    deadline = start + 60
    sent = 0
    for k in range(requests):
        for i, s in enumerate(socks):
            if time.monotonic() > deadline:
                break
            path = b"/flood/%04d/%04d/" % (i, k)
            req = b"GET " + path + b"u" * max(url_bytes - len(path), 0) + b" HTTP/1.1\r\nHost: b\r\n\r\n"
            try:
                s.sendall(req)
                sent += 1
            except OSError:
                pass
            ahead = start + sent / rate - time.monotonic()
            if ahead > 0.001:
                time.sleep(ahead)
    print(sent, flush=True)
    time.sleep(float(hold))
    for s in socks:
        s.close()


if __name__ == "__main__":
    commands = {"server": (server, 3), "dns": (dns, 4), "http": (http, 7)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])
