#!/usr/bin/env python3
"""Fake business websites on 127.0.0.1, for the HTTP website check tests.

usage: websites.py PORT_FILE [IDLE_SECONDS] [--exists-rate F] [--hang-rate F]
                   [--hang-seconds S] [--seed N]

Binds an ephemeral port, writes it to PORT_FILE, and serves until idle for
IDLE_SECONDS (default 10), until GET /quit, or until its parent goes away.
The first path segment says how to answer (the rest of the path is
ignored, so a test can append the host it stands for):
  /status/<code>/...     that status, a small HTML body (HEAD: no body)
  /redirect/<code>/...?to=URL   that status with Location: URL
  /sleep/<seconds>/...   waits, then 200
  /parked/...            200, a "this domain is for sale" page
  /headmiss/...          HEAD 404 but GET 200 (servers that mishandle HEAD)
  /site/<host>/...       the web as the chaos suite (tests/chaos/) sees it: 200
                         for the hosts that a hash puts in --exists-rate
                         (default 0), else 404; a --hang-rate fraction of
                         these requests (default 0, drawn at random) first
                         waits --hang-seconds (default 30): a site that
                         answers after the check has given up
  /ok                    204 (a canary)
  /_log                  every request seen: [{method, path}]
  POST /_chaos           body {"hang_rate": F, "exists_rate": F}: changes those
                         settings while serving; answers the counts so far
                         {"site": n, "hung": n}
"""
import argparse
import hashlib
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from fakeserver import Server, publish_and_serve
from urllib.parse import parse_qs, urlsplit

STATE = {"active": 0, "last": time.monotonic(), "log": [], "exists_rate": 0.0, "hang_rate": 0.0,
         "hang_seconds": 30.0, "site": 0, "hung": 0}
RNG = random.Random()


def exists(host):
    """Whether `host` has a website: fixed per host, about exists_rate of them."""
    h = int(hashlib.sha256(host.encode()).hexdigest()[:8], 16)
    return h / 2.0 ** 32 < STATE["exists_rate"]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        with LOCK:
            STATE["active"] += 1
        try:
            self.handle_route()
        except OSError:
            self.close_connection = True
        finally:
            with LOCK:
                STATE["active"] -= 1
                STATE["last"] = time.monotonic()

    def handle_route(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        parts = [p for p in u.path.split("/") if p]
        if u.path != "/_log":
            with LOCK:
                STATE["log"].append({"method": self.command, "path": u.path})
        kind = parts[0] if parts else ""
        if kind == "_log":
            with LOCK:
                body = json.dumps(STATE["log"]).encode()
            return self.send(200, body)
        if kind == "quit":
            self.send(200, b"bye")
            self.wfile.flush()
            os._exit(0)
        if kind == "ok":
            return self.send(204)
        if kind == "_chaos" and self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            try:
                item = json.loads(self.rfile.read(n) or b"{}")
                with LOCK:
                    for k in ("hang_rate", "exists_rate", "hang_seconds"):
                        if k in item:
                            STATE[k] = float(item[k])
                    body = json.dumps({"site": STATE["site"], "hung": STATE["hung"]}).encode()
            except (ValueError, TypeError, AttributeError):
                return self.send(400, b"a JSON object of numbers, please")
            return self.send(200, body)
        if kind == "site":
            host = parts[1] if len(parts) > 1 else ""
            with LOCK:
                STATE["site"] += 1
                hang = STATE["hang_rate"] > 0 and RNG.random() < STATE["hang_rate"]
                if hang:
                    STATE["hung"] += 1
                wait = STATE["hang_seconds"]
            if hang:
                time.sleep(wait)
            if exists(host):
                return self.send(200, b"<html><h1>Welcome to our shop</h1></html>")
            return self.send(404, b"<html>not found</html>")
        if kind == "status":
            code = int(parts[1])
            return self.send(code, b"<html><body>status %d</body></html>" % code)
        if kind == "redirect":
            code = int(parts[1])
            return self.send(code, b"moved", [("Location", q.get("to", ["/status/200"])[0])])
        if kind == "sleep":
            time.sleep(float(parts[1]))
            return self.send(200, b"<html>late</html>")
        if kind == "parked":
            return self.send(200, b"<html><title>example.com</title><h1>This domain is for sale!</h1>"
                                  b"<p>Buy this domain today.</p></html>")
        if kind == "headmiss":
            if self.command == "HEAD":
                return self.send(404)
            return self.send(200, b"<html><h1>Welcome to our shop</h1></html>")
        return self.send(404, b"<html>not found</html>")

    do_GET = do_POST = do_HEAD = route


def main():
    ap = argparse.ArgumentParser(description="Fake business websites (see the module's docstring).")
    ap.add_argument("port_file")
    ap.add_argument("idle", nargs="?", type=float, default=10.0)
    ap.add_argument("--exists-rate", type=float, default=0.0)
    ap.add_argument("--hang-rate", type=float, default=0.0)
    ap.add_argument("--hang-seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    STATE.update(exists_rate=a.exists_rate, hang_rate=a.hang_rate, hang_seconds=a.hang_seconds)
    RNG.seed(a.seed)
    port_file, idle = a.port_file, a.idle
    srv = Server(("127.0.0.1", 0), Handler)
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
