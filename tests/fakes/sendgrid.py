#!/usr/bin/env python3
"""A fake of SendGrid's v3 Mail Send and of its signed Event Webhook, on 127.0.0.1.

usage: sendgrid.py PORT_FILE [IDLE_SECONDS [API_KEY]]

Binds an ephemeral port, writes it to PORT_FILE, and serves until idle for
IDLE_SECONDS (default 10) or until its parent goes away.

POST /v3/mail/send (providers.md section 4.1):
  Authorization must be "Bearer API_KEY" (default "SG.test-key"), else 401 with
  SendGrid's error body. The JSON is checked as SendGrid does: personalizations
  (1..1000, each with to[].email and no "," or ";" in a name), from.email, a subject, content[] of
  {type, value} with text/plain before text/html, headers with string values
  and none of the reserved names, custom_args string values within 10,000
  bytes; anything else is a 400 {"errors": [{"message", "field", "help"}]}.
  Accepted: 202, empty body, X-Message-Id: a fresh 22-character id.
  The first recipient's local part scripts a misbehaviour:
    "throttle"  the first request for that address is a 429 with
                X-RateLimit-Limit/Remaining/Reset (Reset = now + 2), later ones 202
    "boom"      500 {"errors": [...]}
    "stall"     reads the whole request, then answers nothing for 5 s (the
                test waits 1 s; the fake, and so wm test, wait out the rest)
GET  /_log   every Mail Send request: [{status, auth, json, message_id}]

The signed Event Webhook (section 4.2): the fake holds a P-256 key made at start.
GET  /_key   the public key: base64 of SubjectPublicKeyInfo DER (as SendGrid's dashboard shows it)
POST /_sign  body: the payload; header X-Timestamp: the timestamp to sign ->
             base64 DER ECDSA-SHA256 signature over timestamp + payload
"""
import base64
import json
import os
import secrets
import sys
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fakeserver import CountingHandler, Server, publish_and_serve

STATE = {"active": 0, "last": time.monotonic(), "log": [], "throttled": set()}
LOCK = threading.Lock()
API_KEY = "SG.test-key"
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

RESERVED = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
            "to", "from", "subject", "reply-to", "cc", "bcc"}


def error(message, field=None):
    return {"errors": [{"message": message, "field": field, "help": None}]}


def check(doc):
    """SendGrid's validation of a Mail Send body: None or (message, field)."""
    if not isinstance(doc, dict):
        return ("Bad Request", None)
    p = doc.get("personalizations")
    if not isinstance(p, list) or not 1 <= len(p) <= 1000:
        return ("The personalizations field is required and must have at least one personalization.",
                "personalizations")
    for i, one in enumerate(p):
        to = one.get("to") if isinstance(one, dict) else None
        if not isinstance(to, list) or not to or not all(isinstance(t, dict) and "@" in str(t.get("email", ""))
                                                         for t in to):
            return ("Does not contain a valid address.", "personalizations.%d.to" % i)
        if any(c in str(t.get("name", "")) for t in to for c in ",;"):
            return ("The to name field cannot contain ; or , characters.", "personalizations.%d.to" % i)
    frm = doc.get("from")
    if not isinstance(frm, dict) or "@" not in str(frm.get("email", "")):
        return ("The from object must be provided for every email send.", "from")
    if not doc.get("subject") and not all(isinstance(x, dict) and x.get("subject") for x in p):
        return ("The subject is required.", "subject")
    content = doc.get("content")
    if not isinstance(content, list) or not content:
        return ("Unless a valid template_id is provided, the content parameter is required.", "content")
    types = [c.get("type") if isinstance(c, dict) else None for c in content]
    if any(not isinstance(c, dict) or not isinstance(c.get("value"), str) or not c["value"] for c in content):
        return ("The content value must be a string at least one character in length.", "content.0.value")
    if "text/plain" in types and types.index("text/plain") != 0:
        return ("If present, text/plain content must be first.", "content.0.type")
    headers = doc.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return ("Invalid type. Expected: object, given: array.", "headers")
    for k in headers:
        if k.lower() in RESERVED:
            return ("The %s header is reserved and cannot be overridden." % k, "headers")
    args = doc.get("custom_args", {})
    if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
        return ("Invalid type. Expected: string.", "custom_args")
    if len(json.dumps(args).encode()) > 10000:
        return ("The custom_args must not exceed 10,000 bytes.", "custom_args")
    return None


class Handler(CountingHandler):
    STATE = STATE
    LOCK = LOCK

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_one(self):
        if self.command == "GET" and self.path == "/_log":
            with LOCK:
                return self.answer(200, STATE["log"])
        if self.command == "GET" and self.path == "/_key":
            return self.answer(200, {"public_key": PUBLIC})
        if self.command == "POST" and self.path == "/_sign":
            payload = self.headers.get("X-Timestamp", "").encode() + self.body()
            sig = KEY.sign(payload, ec.ECDSA(hashes.SHA256()))
            return self.answer(200, {"signature": base64.b64encode(sig).decode()})
        if self.command == "POST" and self.path == "/v3/mail/send":
            return self.mail_send()
        return self.answer(404, error("not found"))

    def mail_send(self):
        raw = self.body()
        auth = self.headers.get("Authorization", "")
        entry = {"auth": auth, "content_type": self.headers.get("Content-Type")}
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        entry["json"] = doc

        def done(status, body=b"", headers=None, message_id=None):
            entry["status"], entry["message_id"] = status, message_id
            with LOCK:
                STATE["log"].append(entry)
            self.answer(status, body, headers)

        if auth != "Bearer " + API_KEY:
            return done(401, error("The provided authorization grant is invalid, expired, or revoked"))
        bad = check(doc)
        if bad:
            return done(400, error(*bad))
        rcpt = doc["personalizations"][0]["to"][0]["email"].lower()
        local = rcpt.split("@")[0]
        if "throttle" in local:
            with LOCK:
                first = rcpt not in STATE["throttled"]
                STATE["throttled"].add(rcpt)
            if first:
                return done(429, error("too many requests"), {"X-RateLimit-Limit": "600",
                            "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 2)})
        if "boom" in local:
            return done(500, error("internal error"))
        if "stall" in local:
            with LOCK:
                entry["status"] = "stalled"
                STATE["log"].append(entry)
            time.sleep(5)
            return
        mid = secrets.token_urlsafe(16)[:22]
        return done(202, b"", {"X-Message-Id": mid}, mid)


def main():
    global API_KEY
    port_file = sys.argv[1]
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    if len(sys.argv) > 3:
        API_KEY = sys.argv[3]
    srv = Server(("127.0.0.1", 0), Handler)
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
