#!/usr/bin/env python3
"""A fake of Outscraper's Maps API on 127.0.0.1, for the lead source tests.

usage: outscraper.py PORT_FILE [IDLE_SECONDS [API_KEY]]

Binds an ephemeral port, writes it to PORT_FILE, and serves until idle for
IDLE_SECONDS (default 10), until GET /quit, or until its parent goes away.

Speaks the shapes of providers.md section 2:
  GET /maps/search-v3?query=..&organizationsPerQueryLimit=N&region=..&async=..
      X-API-KEY must equal API_KEY (default "test-key"), else 401.
      async=true  -> 202 {"id", "status": "Pending", "results_location"}
      async=false -> 200 {"id", "status": "Success", "data": [[place, ...]]}
  GET /maps/reviews-v3?query=<google_id>&reviewsLimit=N -> the same async
      flow; data is [place-with-reviews_data] (a flat list, as some
      answers are).
  GET /requests/<id> -> "Pending" for the first two polls, then "Success"
      (or "Failure" when the query contained "failure").
Queries containing these words misbehave:
  "ratelimit"   429 with Retry-After: 7
  "overloaded"  503
  "garbage"     200 with a body that is not JSON
  "forever"     stays Pending
  "failure"     the task ends with status "Failure"
GET /_log returns every request seen: [{method, path, query, api_key}].
"""
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

from fakeserver import Server, publish_and_serve
from urllib.parse import parse_qs, urlsplit

STATE = {"active": 0, "last": time.monotonic(), "log": [], "tasks": {}}
LOCK = threading.Lock()
API_KEY = "test-key"


def place(i, query):
    hostile = i == 1
    return {
        "query": query,
        "name": ("<script>alert(1)</script> Rivera & Sons \"Plumbing\" \u202e" if hostile
                 else "Fake Place %d" % i),
        "name_for_emails": "Rivera & Sons Plumbing" if hostile else "Fake Place %d" % i,
        "place_id": "ChIJfake%019d" % i,
        "google_id": "0x%016x:0x%016x" % (i, i * 7919),
        "full_address": "%d Main St, Austin, TX 78701" % (100 + i),
        "street": "%d Main St" % (100 + i),
        "postal_code": "78701",
        "country_code": "US",
        "country": "United States of America",
        "city": "Austin",
        "us_state": "Texas",
        "state": "Texas",
        "latitude": 30.2672 + i / 1000.0,
        "longitude": -97.7431 - i / 1000.0,
        "site": "https://fakeplace%d.example/" % i if i == 2 else None,
        "phone": "+1 512-555-01%02d" % i,
        "type": "Plumber",
        "subtypes": "Plumber, Drainage service",
        "category": "Plumber",
        "rating": 4.6,
        "reviews": 40 + i,
        "reviews_per_score": {"1": 1, "2": 0, "3": 2, "4": 7, "5": 30 + i},
        "photos_count": 3,
        "photo": "https://lh5.googleusercontent.com/p/fake%d" % i,
        "logo": None,
        "working_hours": {"Monday": "8AM-5PM"},
        "business_status": "OPERATIONAL",
        "verified": True,
        "email_1": "owner%d@example.com" % i if i != 3 else None,
        "email_1_full_name": "Ana Rivera" if i == 1 else None,
        "facebook": None,
    }


def reviews(n):
    out = []
    for k in range(n):
        ts = 1700000000 - k * 86400 * 9
        out.append({
            "review_id": "ChZfake%d" % k,
            "author_title": "Reviewer %d" % k,
            "author_id": "1%020d" % k,
            "review_text": "Great work by Tony" if k % 2 == 0 else None,
            "review_rating": 5 - (k % 2),
            "review_timestamp": ts,
            "review_datetime_utc": time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts)),
            "review_likes": k,
        })
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj, headers=()):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
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
        finally:
            with LOCK:
                STATE["active"] -= 1
                STATE["last"] = time.monotonic()

    def handle_route(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        key = self.headers.get("X-API-KEY")
        if u.path != "/_log":
            with LOCK:
                STATE["log"].append({"method": self.command, "path": u.path, "query": q, "api_key": key})
        if u.path == "/_log":
            with LOCK:
                return self.send(200, STATE["log"])
        if u.path == "/quit":
            self.send(200, {"bye": True})
            self.wfile.flush()
            os._exit(0)
        if key != API_KEY:
            return self.send(401, {"error": True, "errorMessage": "Invalid API key"})
        query = " ".join(q.get("query", [""]))
        if u.path in ("/maps/search-v3", "/maps/reviews-v3"):
            if "ratelimit" in query:
                return self.send(429, {"errorMessage": "Too Many Requests"}, [("Retry-After", "7")])
            if "overloaded" in query:
                return self.send(503, {"errorMessage": "Service Unavailable"})
            if "garbage" in query:
                return self.send(200, b"<html>not json</html>")
            if u.path == "/maps/search-v3":
                n = int(q.get("organizationsPerQueryLimit", ["20"])[0])
                data = [[place(i, query) for i in range(1, min(n, 3) + 1)]]
            else:
                n = int(q.get("reviewsLimit", ["10"])[0])
                p = place(1, query)
                p["reviews_data"] = reviews(min(n, 25))
                data = [p]
            rid = uuid.uuid4().hex
            status = "Failure" if "failure" in query else "Success"
            polls = 10 ** 9 if "forever" in query else 2
            if q.get("async", ["false"])[0] == "true":
                with LOCK:
                    STATE["tasks"][rid] = {"polls": polls, "status": status, "data": data}
                host = "http://%s:%d" % self.server.server_address[:2]
                return self.send(202, {"id": rid, "status": "Pending",
                                       "results_location": host + "/requests/" + rid})
            return self.send(200, {"id": rid, "status": status, "data": data})
        if u.path.startswith("/requests/"):
            rid = u.path[len("/requests/"):]
            with LOCK:
                task = STATE["tasks"].get(rid)
                if task is None:
                    return self.send(404, {"errorMessage": "no such request"})
                if task["polls"] > 0:
                    task["polls"] -= 1
                    return self.send(200, {"id": rid, "status": "Pending"})
            if task["status"] != "Success":
                return self.send(200, {"id": rid, "status": task["status"]})
            return self.send(200, {"id": rid, "status": "Success", "data": task["data"]})
        return self.send(404, {"errorMessage": "not found"})

    do_GET = do_POST = do_HEAD = route


def main():
    global API_KEY
    port_file = sys.argv[1]
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    if len(sys.argv) > 3:
        API_KEY = sys.argv[3]
    srv = Server(("127.0.0.1", 0), Handler)
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
