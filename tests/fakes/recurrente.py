#!/usr/bin/env python3
"""A fake of Recurrente's API on 127.0.0.1, for the payments provider tests.

usage: recurrente.py PORT_FILE [IDLE_SECONDS [PUBLIC_KEY SECRET_KEY [WEBHOOK_SECRET]]]

Binds an ephemeral port, writes it to PORT_FILE, and serves until idle for
IDLE_SECONDS (default 5), until GET /_fake/quit, or until its parent goes
away. Speaks the shapes of providers.md section 1:

  every /api/ call needs X-PUBLIC-KEY == PUBLIC_KEY (default pk_test_fake) and
      X-SECRET-KEY == SECRET_KEY (default sk_test_fake), else 401 with the
      documented body {"message": "Autenticación Errónea 👀",
      "errors": {"authentication": [...]}}
  POST   /api/checkouts          201 {"id": "ch_...", "checkout_url": "<base>/checkout-session/ch_..."}
      422 {"error": ...} on bad items: none; a name missing; currency not GTQ
      or USD; amount_in_cents not an integer or under the minimum (500 GTQ,
      100 USD); charge_type not recurring/one_time; a recurring item without
      billing_interval week/month/year and an integer billing_interval_count
      >= 1; recurring and one-time items mixed; metadata over 50 keys, a key
      over 40 characters or a value that is not a string of at most 500
  DELETE /api/subscriptions/<su_...>   200 {"message": "Suscripción cancelada"}
  POST   /api/refunds {"payment_intent_id": "pa_..."}   200 {"id": "re_...", "status": "succeeded", ...}
  GET    /api/test               200 {"message": "Hello Fake Account"}

Test control (not part of the real API):
  POST /_fake/queue    body {"status": 503, "body": {...}, "stall": seconds}:
                       the next /api/ call (after the key check) answers with
                       it; "stall" waits that long first (a timeout), then
                       answers 200 {} unless a status is given
  GET  /_fake/requests every /api/ request: [{method, path, headers, body}]
  POST /_fake/reset    forget requests and the queue
  GET  /_fake/quit     answers, then exits
  POST /hooks/recurrente   a stand-in webhook receiver for the offline
                       provider's events: checks the Svix signature with
                       WEBHOOK_SECRET here, independently of wm (HMAC-SHA256
                       of id.timestamp.body, keyed with the base64 after
                       whsec_; ±5 minutes), answers 204, or 401 when it fails
  GET  /_fake/hooks    the deliveries: [{headers, body, verified, reason}]
"""
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid

from fakeserver import CountingHandler, Server, publish_and_serve

STATE = {"active": 0, "last": time.monotonic(), "requests": [], "queue": [], "hooks": []}
LOCK = threading.Lock()
KEYS = {"public": "pk_test_fake", "secret": "sk_test_fake", "webhook": ""}
MIN_AMOUNT = {"GTQ": 500, "USD": 100}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_checkout(body):
    if not isinstance(body, dict):
        return "body must be a JSON object"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items: at least one item is required"
    kinds = set()
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            return "items[%d]: must be an object" % i
        if "price_id" in it or "product_id" in it:
            kinds.add("one_time")
            continue
        if not isinstance(it.get("name"), str) or not it["name"]:
            return "items[%d].name: required" % i
        cur = it.get("currency")
        if cur not in MIN_AMOUNT:
            return "items[%d].currency: must be GTQ or USD" % i
        amt = it.get("amount_in_cents")
        if not is_int(amt) or amt < MIN_AMOUNT[cur]:
            return "items[%d].amount_in_cents: an integer of at least %d for %s" % (i, MIN_AMOUNT[cur], cur)
        q = it.get("quantity", 1)
        if not is_int(q) or not 1 <= q <= 9:
            return "items[%d].quantity: 1 to 9" % i
        ct = it.get("charge_type", "one_time")
        if ct not in ("recurring", "one_time"):
            return "items[%d].charge_type: recurring or one_time" % i
        if ct == "recurring":
            if it.get("billing_interval") not in ("week", "month", "year"):
                return "items[%d].billing_interval: week, month or year" % i
            n = it.get("billing_interval_count")
            if not is_int(n) or n < 1:
                return "items[%d].billing_interval_count: an integer >= 1" % i
        elif "billing_interval" in it:
            return "items[%d]: billing_interval on a one-time item" % i
        kinds.add(ct)
    if len(kinds) > 1:
        return "items: recurring and one-time items cannot be mixed in one checkout"
    md = body.get("metadata", {})
    if not isinstance(md, dict) or len(md) > 50:
        return "metadata: at most 50 keys"
    for k, v in md.items():
        if len(k) > 40:
            return "metadata: key %r longer than 40 characters" % k
        if not isinstance(v, str) or len(v) > 500:
            return "metadata.%s: a string of at most 500 characters" % k
    for k in ("success_url", "cancel_url"):
        if k in body and not (isinstance(body[k], str) and body[k].startswith(("http://", "https://"))):
            return "%s: must be a URL" % k
    return None


def verify_svix(headers, body):
    secret = KEYS["webhook"]
    if not secret:
        return False, "the fake has no webhook secret"
    msg_id, ts, sig = headers.get("svix-id"), headers.get("svix-timestamp"), headers.get("svix-signature")
    if not (msg_id and ts and sig):
        return False, "missing headers"
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False, "timestamp out of tolerance"
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    want = base64.b64encode(hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body), hashlib.sha256).digest())
    for entry in sig.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), want):
            return True, None
    return False, "bad signature"


class Handler(CountingHandler):
    STATE, LOCK = STATE, LOCK
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj):
        body = b"" if obj is None else json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def control(self, path, raw):
        if path == "/_fake/quit":
            self.send(200, {"ok": True})
            threading.Thread(target=lambda: (time.sleep(0.1), os._exit(0)), daemon=True).start()
        elif path == "/_fake/requests":
            with LOCK:
                self.send(200, list(STATE["requests"]))
        elif path == "/_fake/hooks":
            with LOCK:
                self.send(200, list(STATE["hooks"]))
        elif path == "/_fake/reset":
            with LOCK:
                STATE["requests"].clear()
                STATE["queue"].clear()
                STATE["hooks"].clear()
            self.send(200, {"ok": True})
        elif path == "/_fake/queue":
            with LOCK:
                STATE["queue"].append(json.loads(raw or b"{}"))
            self.send(200, {"ok": True})
        else:
            self.send(404, {"error": "Not found"})

    def handle_one(self):
        path = self.path.split("?", 1)[0]
        raw = self.read_body()
        if path.startswith("/_fake/"):
            self.control(path, raw)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if path == "/hooks/recurrente" and self.command == "POST":
            ok, reason = verify_svix(headers, raw)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with LOCK:
                STATE["hooks"].append({"headers": headers, "body": body, "verified": ok, "reason": reason})
            self.send(204 if ok else 401, None if ok else {"error": reason})
            return
        if not path.startswith("/api/"):
            self.send(404, {"error": "Not found"})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with LOCK:
            STATE["requests"].append({"method": self.command, "path": path, "headers": headers, "body": body})
        if headers.get("x-public-key") != KEYS["public"] or headers.get("x-secret-key") != KEYS["secret"]:
            self.send(401, {"message": "Autenticación Errónea 👀",
                            "errors": {"authentication": ["Las llaves de API no son válidas o no fueron enviadas"]}})
            return
        with LOCK:
            item = STATE["queue"].pop(0) if STATE["queue"] else None
        if item is not None:
            if item.get("stall"):
                time.sleep(float(item["stall"]))
            self.send(int(item.get("status", 200)), item.get("body", {}))
            return
        self.route(path, body)

    def route(self, path, body):
        if self.command == "GET" and path == "/api/test":
            self.send(200, {"message": "Hello Fake Account"})
        elif self.command == "POST" and path == "/api/checkouts":
            problem = check_checkout(body)
            if problem:
                self.send(422, {"error": problem})
                return
            cid = "ch_" + uuid.uuid4().hex[:16]
            self.send(201, {"id": cid, "checkout_url": self.base() + "/checkout-session/" + cid})
        elif self.command == "DELETE" and path.startswith("/api/subscriptions/"):
            sid = path[len("/api/subscriptions/"):]
            if not sid.startswith("su_"):
                self.send(404, {"error": "Not found"})
                return
            self.send(200, {"message": "Suscripción cancelada"})
        elif self.command == "POST" and path == "/api/refunds":
            pid = body.get("payment_intent_id") if isinstance(body, dict) else None
            if not isinstance(pid, str) or not pid.startswith("pa_"):
                self.send(422, {"error": "payment_intent_id: required (pa_...)"})
                return
            self.send(200, {"id": "re_" + uuid.uuid4().hex[:16], "status": "succeeded", "payment_intent_id": pid})
        else:
            self.send(404, {"error": "Not found"})



def main():
    import sys
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if args else 2)
    port_file = args[0]
    idle = float(args[1]) if len(args) > 1 else 5.0
    if len(args) > 3:
        KEYS["public"], KEYS["secret"] = args[2], args[3]
    if len(args) > 4:
        KEYS["webhook"] = args[4]
    srv = Server(("127.0.0.1", 0), Handler)
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
