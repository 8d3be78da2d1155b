"""Plumbing shared by the test fakes (tests/fakes/*.py, tests/httpc/server.py).

A fake serves on a free 127.0.0.1 port, publishes the port(s) by writing a
file atomically (the test waits for it), and exits by itself once it has been
idle for a while or its parent (the test) has gone, so a failed test never
leaves a server behind. Each fake keeps its request count in its own
STATE["active"] / STATE["last"] under its LOCK; publish_and_serve watches them.
"""
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (timeouts, caps) are the point


class CountingHandler(BaseHTTPRequestHandler):
    """A handler that keeps STATE["active"] / STATE["last"] (the subclass's
    class attributes STATE and LOCK) around its handle_one(), for every
    method, so publish_and_serve knows when the fake is idle."""

    STATE = None
    LOCK = None

    def handle_any(self):
        with self.LOCK:
            self.STATE["active"] += 1
            self.STATE["last"] = time.monotonic()
        try:
            self.handle_one()
        finally:
            with self.LOCK:
                self.STATE["active"] -= 1
                self.STATE["last"] = time.monotonic()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def publish_and_serve(srv, ports, port_file, idle, state, lock):
    """Writes `ports` (text) to port_file, then serves `srv` until idle.
    When the test made a lease file beside it (port_file + ".lease",
    tests/fakes/start.lua), the fake also exits as soon as that is removed:
    the test's file is done with it."""
    parent = os.getppid()
    lease = port_file + ".lease"
    leased = os.path.exists(lease)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(ports)
    os.replace(tmp, port_file)

    def watchdog():
        while True:
            time.sleep(0.2)
            with lock:
                quiet = state["active"] == 0 and time.monotonic() - state["last"] > idle
            if quiet or os.getppid() != parent or (leased and not os.path.exists(lease)):
                os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever()
