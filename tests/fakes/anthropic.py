#!/usr/bin/env python3
"""A fake Anthropic Messages API on 127.0.0.1, for the provider tests.

usage: anthropic.py PORT_FILE [IDLE_SECONDS [API_KEY]]
           [--fail-rate F] [--retry-after S] [--seed N]

Binds an ephemeral port, writes it to PORT_FILE, and serves until it has been
idle for IDLE_SECONDS (default 5), until GET /_fake/quit, or until its parent
process goes away. API_KEY (default "sk-ant-test") is the only key accepted.

--fail-rate F (default 0: never) makes that fraction of the /v1/messages
calls that pass the checks fail like an overloaded API: 429 rate_limit_error,
529 overloaded_error or 500 api_error, in turn at random, each with a
retry-after header of S seconds (default 1); --seed fixes the draw (the
chaos suite, tests/chaos/).

POST /v1/messages behaves like the real endpoint (providers.md section 3):
  - 401 authentication_error for a missing or wrong x-api-key;
  - 400 invalid_request_error when anthropic-version is not 2023-06-01, the
    body is not JSON, or model / max_tokens / messages are missing or wrong
    (messages must start with a user turn and alternate roles; system is a
    string or a list of text blocks; cache_control must be {"type":
    "ephemeral"} with an optional ttl of "5m" or "1h"); temperature, top_p
    and top_k are refused like current models do;
  - otherwise 200 with {id, type:"message", role:"assistant", content:[{type:
    "text", text}], model, stop_reason:"end_turn", stop_sequence:null, usage}.
    The default text is {"ok": true}. Usage counts about 4 characters per
    token; a system prompt marked with cache_control of at least
    MIN_CACHE_TOKENS (512) is written to the cache on first sight
    (cache_creation_input_tokens) and read afterwards
    (cache_read_input_tokens), and input_tokens then counts only the rest.
    Every answer carries a request-id header.

Test control (not part of the real API):
  POST /_fake/queue    body {"status": 200, "text": "...", "stop_reason": "...",
                       "usage": {...}, "headers": {...}, "error": {"type", "message"},
                       "raw": "a body sent as is", "content": [...]}; the next
                       /v1/messages answers with it (after the checks above
                       pass; "status" other than 200 sends an error body)
  POST /_fake/answer   body {"key": K, "text": "...", "stop_reason": "..."}: a
                       request whose last user turn's text has the SHA-256
                       (hex) K gets this text instead of the default (the
                       queue still comes first); kept until reset
  POST /_fake/chaos    body {"fail_rate": F, "retry_after": S}: changes the
                       --fail-rate / --retry-after settings while serving
  GET  /_fake/stats    {"calls": n, "answered": n, "failed": {"429": n, ...}}
  GET  /_fake/requests every request received: [{headers, body}]
  POST /_fake/reset    forget requests, queue, answers, counts and cache
  GET  /_fake/quit     answers, then exits
"""
import argparse
import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid

from fakeserver import CountingHandler, Server, publish_and_serve

STATE = {"active": 0, "last": time.monotonic(), "requests": [], "queue": [], "cache": set(), "answers": {},
         "fail_rate": 0.0, "retry_after": 1, "calls": 0, "answered": 0, "failed": {}}
RNG = random.Random()
FAILURES = (429, 529, 500)
LOCK = threading.Lock()
API_KEY = "sk-ant-test"
VERSION = "2023-06-01"
MIN_CACHE_TOKENS = 512
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}


def tokens(text):
    return max(1, (len(text) + 3) // 4) if text else 0


def block_text(content):
    if isinstance(content, str):
        return content
    out = []
    for b in content or []:
        if isinstance(b, dict) and isinstance(b.get("text"), str):
            out.append(b["text"])
    return "".join(out)


def check_cache_control(cc):
    if cc is None:
        return None
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        return "cache_control: type must be 'ephemeral'"
    if "ttl" in cc and cc["ttl"] not in ("5m", "1h"):
        return "cache_control.ttl: must be '5m' or '1h'"
    return None


def validate(body):
    if not isinstance(body, dict):
        return "body: must be an object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    mt = body.get("max_tokens")
    if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
        return "max_tokens: Field required (an integer >= 1)"
    for k in ("temperature", "top_p", "top_k"):
        if k in body:
            return "%s: not supported by this model" % k
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "messages: Field required (a non-empty list)"
    want = "user"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            return "messages.%d.role: must be 'user' or 'assistant'" % i
        if m["role"] != want:
            return "messages: roles must alternate, starting with 'user'"
        want = "assistant" if want == "user" else "user"
        c = m.get("content")
        if isinstance(c, str):
            if not c:
                return "messages.%d.content: must not be empty" % i
        elif isinstance(c, list):
            for b in c:
                if not isinstance(b, dict) or b.get("type") not in ("text", "image", "document", "tool_result"):
                    return "messages.%d.content: bad block" % i
                err = check_cache_control(b.get("cache_control"))
                if err:
                    return err
        else:
            return "messages.%d.content: must be a string or a list of blocks" % i
    system = body.get("system")
    if system is not None:
        if isinstance(system, list):
            for b in system:
                if not isinstance(b, dict) or b.get("type") != "text" or not isinstance(b.get("text"), str):
                    return "system: blocks must be {type: 'text', text}"
                err = check_cache_control(b.get("cache_control"))
                if err:
                    return err
        elif not isinstance(system, str):
            return "system: must be a string or a list of text blocks"
    return None


def last_turn_key(body):
    """The SHA-256 (hex) of the last message's text: how /_fake/answer finds its request."""
    return hashlib.sha256(block_text(body["messages"][-1].get("content")).encode()).hexdigest()


def usage_for(body, out_text):
    system = body.get("system")
    cached, rest = "", ""
    if isinstance(system, list):
        # The cache covers the prefix up to the last block with cache_control.
        last = -1
        for i, b in enumerate(system):
            if b.get("cache_control"):
                last = i
        cached = "".join(b["text"] for b in system[:last + 1])
        rest = "".join(b["text"] for b in system[last + 1:])
    elif isinstance(system, str):
        rest = system
    for m in body["messages"]:
        rest += block_text(m.get("content"))
    u = {"input_tokens": tokens(rest) + 3 * len(body["messages"]), "output_tokens": tokens(out_text),
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
    n = tokens(cached)
    if n >= MIN_CACHE_TOKENS:
        key = (body["model"], cached)
        with LOCK:
            hit = key in STATE["cache"]
            STATE["cache"].add(key)
        if hit:
            u["cache_read_input_tokens"] = n
        else:
            u["cache_creation_input_tokens"] = n
            u["cache_creation"]["ephemeral_5m_input_tokens"] = n
    else:
        u["input_tokens"] += n
    return u


class Handler(CountingHandler):
    STATE, LOCK = STATE, LOCK
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj, headers=None, raw=None):
        body = raw.encode() if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("request-id", "req_fake_" + uuid.uuid4().hex[:20])
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message, etype=None, headers=None):
        self.send(status, {"type": "error",
                           "error": {"type": etype or ERROR_TYPES.get(status, "api_error"), "message": message},
                           "request_id": "req_fake_err"}, headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_one(self):
        path = self.path.split("?", 1)[0]
        if self.command == "GET" and path == "/_fake/quit":
            self.send(200, {"ok": True})
            threading.Thread(target=lambda: (time.sleep(0.1), os._exit(0)), daemon=True).start()
            return
        if self.command == "GET" and path == "/_fake/requests":
            with LOCK:
                reqs = list(STATE["requests"])
            self.send(200, reqs)
            return
        if self.command == "POST" and path == "/_fake/reset":
            self.read_body()
            with LOCK:
                STATE["requests"].clear()
                STATE["queue"].clear()
                STATE["cache"].clear()
                STATE["answers"].clear()
                STATE["calls"] = STATE["answered"] = 0
                STATE["failed"] = {}
            self.send(200, {"ok": True})
            return
        if self.command == "GET" and path == "/_fake/stats":
            with LOCK:
                stats = {"calls": STATE["calls"], "answered": STATE["answered"], "failed": dict(STATE["failed"])}
            self.send(200, stats)
            return
        if self.command == "POST" and path in ("/_fake/answer", "/_fake/chaos"):
            try:
                item = json.loads(self.read_body() or b"{}")
            except ValueError:
                item = None
            if not isinstance(item, dict):
                self.send(400, {"error": "body must be a JSON object"})
                return
            with LOCK:
                if path == "/_fake/chaos":
                    STATE["fail_rate"] = float(item.get("fail_rate", STATE["fail_rate"]))
                    STATE["retry_after"] = item.get("retry_after", STATE["retry_after"])
                elif isinstance(item.get("key"), str) and isinstance(item.get("text"), str):
                    STATE["answers"][item["key"]] = item
                else:
                    self.send(400, {"error": "an answer needs key and text"})
                    return
            self.send(200, {"ok": True})
            return
        if self.command == "POST" and path == "/_fake/queue":
            try:
                item = json.loads(self.read_body() or b"{}")
            except ValueError:
                self.send(400, {"error": "queue item must be JSON"})
                return
            with LOCK:
                STATE["queue"].append(item)
            self.send(200, {"queued": len(STATE["queue"])})
            return
        if path != "/v1/messages":
            self.read_body()
            self.error(404, "Not found: " + path)
            return
        if self.command != "POST":
            self.error(405, "Method not allowed", "invalid_request_error")
            return

        raw = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["requests"].append({"headers": headers, "body": body})
        if headers.get("x-api-key") != API_KEY:
            self.error(401, "invalid x-api-key")
            return
        if headers.get("anthropic-version") != VERSION:
            self.error(400, "anthropic-version: must be %s here" % VERSION)
            return
        if not (headers.get("content-type") or "").startswith("application/json"):
            self.error(400, "content-type must be application/json")
            return
        if body is None:
            self.error(400, "There was an issue with the request body: not valid JSON")
            return
        problem = validate(body)
        if problem:
            self.error(400, problem)
            return

        with LOCK:
            STATE["calls"] += 1
            item = STATE["queue"].pop(0) if STATE["queue"] else None
            if item is None and STATE["fail_rate"] > 0 and RNG.random() < STATE["fail_rate"]:
                code = RNG.choice(FAILURES)
                STATE["failed"][str(code)] = STATE["failed"].get(str(code), 0) + 1
                item = {"status": code, "headers": {"retry-after": STATE["retry_after"]}}
            if item is None:
                item = STATE["answers"].get(last_turn_key(body), {})
            if int(item.get("status", 200)) == 200:
                STATE["answered"] += 1
        status = int(item.get("status", 200))
        extra = item.get("headers") or {}
        if "raw" in item:
            self.send(status, None, extra, raw=item["raw"])
            return
        if status != 200:
            e = item.get("error") or {}
            self.error(status, e.get("message", "simulated error"), e.get("type"), extra)
            return
        text = item.get("text", '{"ok": true}')
        usage = usage_for(body, text)
        usage.update(item.get("usage") or {})
        content = item.get("content")
        if content is None:
            content = [{"type": "text", "text": text}]
        self.send(200, {
            "id": "msg_fake_" + uuid.uuid4().hex[:20],
            "type": "message",
            "role": "assistant",
            "content": content,
            "model": item.get("model", body["model"]),
            "stop_reason": item.get("stop_reason", "end_turn"),
            "stop_sequence": None,
            "usage": usage,
        }, extra)



def main():
    global API_KEY
    ap = argparse.ArgumentParser(description="A fake Anthropic Messages API (see the module's docstring).")
    ap.add_argument("port_file")
    ap.add_argument("idle", nargs="?", type=float, default=5.0)
    ap.add_argument("api_key", nargs="?", default=API_KEY)
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--retry-after", type=float, default=1)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    API_KEY = a.api_key
    STATE["fail_rate"] = a.fail_rate
    STATE["retry_after"] = int(a.retry_after) if a.retry_after == int(a.retry_after) else a.retry_after
    RNG.seed(a.seed)
    port_file, idle = a.port_file, a.idle
    srv = Server(("127.0.0.1", 0), Handler)
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
