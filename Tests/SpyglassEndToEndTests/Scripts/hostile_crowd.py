#!/usr/bin/env python3
"""A crowd of hostile clients against a metrics endpoint (bounded in connections and time; loopback only).

usage: hostile_crowd.py HOST PORT SOURCES PER_SOURCE SECONDS
  Holds SOURCES x PER_SOURCE connections open, from source addresses 127.0.1.1 ... 127.0.1.SOURCES: half idle
  (never send a byte), half slowloris (a request line, then one header byte a second, never finished). Every
  connection the server closes is opened again at once, until SECONDS have passed. Prints how many connections
  were opened and how many the server closed.
"""
import selectors
import socket
import sys
import time


def main():
    host, port, sources, per_source, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    sel = selectors.DefaultSelector()
    opened = closed = failed = 0
    slots = {}  # socket -> (source, slow)

    def open_one(source, slow):
        nonlocal opened, failed
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((source, 0))
            s.connect_ex((host, port))
        except OSError:
            failed += 1
            s.close()
            return
        opened += 1
        slots[s] = (source, slow, time.time(), False)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)

    for i in range(sources):
        for j in range(per_source):
            open_one("127.0.1.%d" % (i + 1), j % 2 == 1)
    end = time.time() + seconds
    while time.time() < end:
        for key, events in sel.select(timeout=0.2):
            s = key.fileobj
            source, slow, last, started = slots[s]
            gone = False
            if events & selectors.EVENT_READ:
                try:
                    gone = s.recv(4096) == b""
                except OSError:
                    gone = True
            if not gone and events & selectors.EVENT_WRITE:
                sel.modify(s, selectors.EVENT_READ)
                if slow and not started:
                    try:
                        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        slots[s] = (source, slow, time.time(), True)
                    except OSError:
                        gone = True
            if gone:
                closed += 1
                sel.unregister(s)
                s.close()
                del slots[s]
                open_one(source, slow)
        now = time.time()
        for s, (source, slow, last, started) in list(slots.items()):
            if slow and started and now - last >= 1:
                try:
                    s.send(b"a")
                    slots[s] = (source, slow, now, True)
                except OSError:
                    pass
    print("opened %d closed %d failed %d open %d" % (opened, closed, failed, len(slots)))
    for s in slots:
        s.close()


if __name__ == "__main__":
    main()
