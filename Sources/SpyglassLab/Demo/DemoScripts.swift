/// Small programs the demo (and the tests) run inside namespaces with python3, kept here so the binary is
/// self-contained.
public enum DemoScripts {
    /// An HTTP/1.1 server with keep-alive and fixed answers by path — the Death Star's API:
    /// `POST /v1/request-landing` → 200 "Ship landed", `PUT /v1/exhaust-port` → 503, `/ok` → 200, `/boom` → 500,
    /// anything else → 404. Usage: `python3 -c <script> ADDRESS PORT`.
    public static let httpServer = """
        import sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                routes = {"/ok": (200, b"ok\\n"), "/boom": (500, b"boom\\n"),
                          "/v1/request-landing": (200, b"Ship landed\\n"),
                          "/v1/exhaust-port": (503, b"Panic! The Death Star exploded\\n")}
                code, body = routes.get(self.path.split("?")[0], (404, b"not found\\n"))
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args):
                pass

        ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
        """

    /// A UDP sink: receives datagrams and discards them. Usage: `python3 -c <script> ADDRESS PORT`.
    public static let udpSink = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        while True:
            s.recv(65535)
        """
}
