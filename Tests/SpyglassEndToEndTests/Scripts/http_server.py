#!/usr/bin/env python3
"""A small HTTP/1.1 server for Spyglass's namespace tests: keep-alive, fixed answers by path.

usage: http_server.py ADDRESS PORT
  /ok -> 200, /missing -> 404, /boom -> 500, /v1/request-landing (POST) -> 200 "Ship landed",
  /v1/exhaust-port (PUT) -> 503; anything else 404.
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        routes = {"/ok": (200, b"ok\n"), "/boom": (500, b"boom\n"), "/v1/request-landing": (200, b"Ship landed\n"),
                  "/v1/exhaust-port": (503, b"Panic! The Death Star exploded\n")}
        code, body = routes.get(self.path.split("?")[0], (404, b"not found\n"))
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
