#!/usr/bin/env python3
"""A small HTTP/1.1 server on 127.0.0.1 for the wm.http client tests.

usage: server.py PORT_FILE [IDLE_SECONDS [CERT KEY]]

Binds an ephemeral port, writes it to PORT_FILE, and serves until it has
been idle (no request in flight, none started) for IDLE_SECONDS (default 5),
until GET /quit, or until its parent process goes away.

Routes:
  /echo              JSON {method, path, query, headers, body, body_sha256,
                     client_port}
                     plus two X-Multi and two Set-Cookie response fields
  /slow?s=N          waits N seconds, then answers "slow"
  /big?n=N           N bytes with Content-Length; X-Sha256 has their hash
  /chunked?n=N       N bytes, chunked (no Content-Length); X-Sha256 too
  /redirect?to=PATH  302 to PATH (default /echo)
  /loop              302 to itself
  /headers?n=N       N header fields of 40 bytes each
  /status?code=N     an empty answer with that status
  /garbage           a reply that is not HTTP, then close
  /quit              answers, then exits

With CERT and KEY it also serves the same routes over TLS on a second port
(a self-signed certificate), and PORT_FILE holds "PORT TLS_PORT".
"""
import hashlib
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from fakeserver import Server, publish_and_serve  # noqa: E402
from urllib.parse import parse_qs, urlsplit

STATE = {"active": 0, "last": time.monotonic()}
LOCK = threading.Lock()


def payload(n):
    block = bytes(range(256)) * 64  # 16 KiB
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        with LOCK:
            STATE["active"] += 1
            STATE["last"] = time.monotonic()
        try:
            self.serve()
        finally:
            with LOCK:
                STATE["active"] -= 1
                STATE["last"] = time.monotonic()

    def serve(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if u.path == "/echo":
            headers = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = headers[k] + ", " + v if k in headers else v
            out = json.dumps({
                "method": self.command,
                "path": u.path,
                "query": q,
                "headers": headers,
                "body": body.decode("latin-1"),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "client_port": self.client_address[1],
            }).encode()
            self.send(200, out, [("Content-Type", "application/json"),
                                 ("X-Multi", "a"), ("X-Multi", "b"),
                                 ("Set-Cookie", "a=1; Path=/"),
                                 ("Set-Cookie", "b=2; Path=/")])
        elif u.path == "/slow":
            time.sleep(float(q.get("s", "1.5")))
            try:
                self.send(200, b"slow")
            except OSError:
                pass
        elif u.path == "/big":
            data = payload(int(q.get("n", "1024")))
            self.send(200, data, [("X-Sha256", hashlib.sha256(data).hexdigest()),
                                  ("Content-Type", "application/octet-stream")])
        elif u.path == "/chunked":
            data = payload(int(q.get("n", "1024")))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Sha256", hashlib.sha256(data).hexdigest())
            self.end_headers()
            try:
                for i in range(0, len(data), 65536):
                    part = data[i:i + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
        elif u.path == "/redirect":
            self.send(302, b"moved", [("Location", q.get("to", "/echo"))])
        elif u.path == "/headers":
            n = int(q.get("n", "10"))
            self.send(200, b"h", [("X-H-%d" % i, "v" * 40) for i in range(n)])
        elif u.path == "/loop":
            self.send(302, b"again", [("Location", "/loop")])
        elif u.path == "/status":
            self.send(int(q.get("code", "200")), b"")
        elif u.path == "/garbage":
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            self.close_connection = True
        elif u.path == "/quit":
            self.send(200, b"bye")
            self.wfile.flush()
            os._exit(0)
        else:
            self.send(404, b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = route


def main():
    port_file = sys.argv[1]
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    srv = Server(("127.0.0.1", 0), Handler)
    ports = str(srv.server_address[1])
    if len(sys.argv) > 4:
        tls = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        ports += " " + str(tls.server_address[1])
    publish_and_serve(srv, ports, port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
