#!/usr/bin/env python3
"""A fake of Amazon SES v2 and of SNS's HTTP side, for the ses provider tests.

usage: ses.py PORT_FILE [IDLE_SECONDS [ACCESS_KEY_ID SECRET_ACCESS_KEY [REGION]]]

Binds an ephemeral port on 127.0.0.1, writes it to PORT_FILE, and serves until
idle for IDLE_SECONDS (default 5) or until its parent goes away. Shapes from
providers.md section 5:

  POST /v2/email/outbound-emails   SES v2 SendEmail. The request must be signed
      with AWS Signature Version 4 for ACCESS_KEY_ID / SECRET_ACCESS_KEY
      (defaults AKIDFAKE / fake-secret), region REGION (default us-east-1),
      service "ses": the Authorization header is parsed (AWS4-HMAC-SHA256
      Credential=<id>/<yyyymmdd>/<region>/ses/aws4_request, SignedHeaders=,
      Signature=) and the signature recomputed here from the request as
      received; a mismatch is 403 SignatureDoesNotMatch, a wrong key id 403
      UnrecognizedClientException, another scope 403 InvalidSignatureException.
      The body must be JSON with Content.Raw.Data (base64); else 400
      BadRequestException. 200 {"MessageId": "0100...-000000"}.
      Errors have SES's form: an x-amzn-ErrorType header and {"message": ...}.

SNS (the test sends the signed messages itself):
  GET  /SimpleNotificationService-fake.pem   the signing certificate (PEM),
      a throwaway self-signed RSA 2048 certificate made at start
  GET  /?Action=ConfirmSubscription&TopicArn=..&Token=..   200 the
      ConfirmSubscriptionResponse XML with a SubscriptionArn

Test control (not part of any real API):
  POST /_fake/queue    body {"status": 429, "error": "TooManyRequestsException",
                       "message": "...", "retry_after": 2, "stall": seconds,
                       "xml": true}: the next SendEmail (after the signature
                       check) answers with it; "stall" reads the request and
                       waits that long before answering (200 unless a status
                       is given); "xml" answers in SES v1's XML error form
  POST /_fake/sign     body: an SNS message's fields (Type, MessageId, TopicArn,
                       Message, Timestamp, Subject?, SubscribeURL?, Token?,
                       SignatureVersion "1"|"2"): the message back with
                       SigningCertURL (unless given) and Signature, signed
                       over SNS's string to sign (the fields of its type in
                       byte order, "Name\\nvalue\\n" each) with the
                       certificate's key, RSA PKCS#1 v1.5 SHA1 (1) or SHA256 (2)
  GET  /_fake/sent     the accepted SendEmail requests: [{authorization,
                       amz_date, security_token, body}]
  GET  /_fake/stats    {"sends": n, "cert_fetches": n, "confirms": [{TopicArn, Token}]}
"""
import base64
import datetime
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse

from fakeserver import CountingHandler, Server, publish_and_serve

STATE = {"active": 0, "last": time.monotonic(), "queue": [], "sent": [], "sends": 0,
         "cert_fetches": 0, "confirms": []}
LOCK = threading.Lock()
CONF = {"key_id": "AKIDFAKE", "secret": "fake-secret", "region": "us-east-1"}
CERT_PATH = "/SimpleNotificationService-fake.pem"

NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


# The certificate is made after the port is published (importing
# cryptography and an RSA key take seconds on a loaded machine, longer than
# a test waits for the port); the SNS routes wait for it.
CERT = {}
CERT_READY = threading.Event()


def make_cert():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.fake.amazonaws.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    CERT.update(key=key, pem=cert.public_bytes(serialization.Encoding.PEM), padding=padding, hashes=hashes)
    CERT_READY.set()


def cert():
    if not CERT_READY.wait(120):
        raise RuntimeError("no certificate")
    return CERT


def string_to_sign(msg):
    fields = NOTIFICATION_FIELDS if msg.get("Type") == "Notification" else CONFIRMATION_FIELDS
    out = []
    for f in fields:
        if f in msg and msg[f] is not None:
            out.append(f + "\n" + str(msg[f]) + "\n")
    return "".join(out).encode()


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_sigv4(method, path, headers, body):
    """None when the request is signed right, else (status, error, message)."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
    parts = {}
    for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = item.strip().partition("=")
        parts[k] = v
    cred = parts.get("Credential", "").split("/")
    if len(cred) != 5 or not parts.get("SignedHeaders") or len(parts.get("Signature", "")) != 64:
        return 403, "IncompleteSignatureException", "Authorization header malformed: " + auth[:40]
    key_id, day, region, service, terminal = cred
    if key_id != CONF["key_id"]:
        return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
    amz_date = headers.get("X-Amz-Date", "")
    if region != CONF["region"] or service != "ses" or terminal != "aws4_request" or not amz_date.startswith(day):
        return 403, "InvalidSignatureException", "Credential should be scoped to a valid region and service 'ses'"
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return 403, "InvalidSignatureException", "host and x-amz-date must be signed"
    missing = [h for h in signed if headers.get(h) is None]
    if missing:   # a header signed but never sent (libcurl signing a removed "Expect:")
        return 403, "SignatureDoesNotMatchException", "signed headers not in the request: " + ",".join(missing)
    canonical_headers = "".join(
        "%s:%s\n" % (h, " ".join((headers.get(h) or "").split())) for h in signed)
    url = urllib.parse.urlsplit(path)
    query = "&".join(sorted(url.query.split("&"))) if url.query else ""
    canonical = "\n".join([method, url.path or "/", query, canonical_headers, parts["SignedHeaders"],
                           hashlib.sha256(body).hexdigest()])
    scope = "/".join([day, region, service, terminal])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = hmac256(("AWS4" + CONF["secret"]).encode(), day)
    for part in (region, service, terminal):
        k = hmac256(k, part)
    want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, parts["Signature"]):
        return 403, "SignatureDoesNotMatchException", "The request signature we calculated does not match"
    return None


class Handler(CountingHandler):
    STATE = STATE
    LOCK = LOCK
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-request-id")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def ses_error(self, status, name, message, xml=False, extra=None):
        if xml:
            body = ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                    "<RequestId>fake</RequestId></ErrorResponse>" % (name, message))
            return self.reply(status, body, "text/xml", extra)
        headers = {"x-amzn-ErrorType": name + ":http://internal.amazon.com/coral/com.amazonaws.sesv2/"}
        headers.update(extra or {})
        return self.reply(status, {"message": message}, "application/json", headers)

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        if self.command == "POST" and url.path == "/v2/email/outbound-emails":
            return self.send_email(body)
        if self.command == "GET" and url.path == CERT_PATH:
            with LOCK:
                STATE["cert_fetches"] += 1
            return self.reply(200, cert()["pem"], "application/x-x509-ca-cert")
        if self.command == "GET" and url.path == "/":
            q = dict(urllib.parse.parse_qsl(url.query))
            if q.get("Action") != "ConfirmSubscription" or not q.get("Token") or not q.get("TopicArn"):
                return self.reply(400, "<ErrorResponse><Error><Code>InvalidParameter</Code></Error></ErrorResponse>",
                                  "text/xml")
            with LOCK:
                STATE["confirms"].append({"TopicArn": q["TopicArn"], "Token": q["Token"]})
            arn = q["TopicArn"] + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
            return self.reply(200, ('<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                                    "<ConfirmSubscriptionResult><SubscriptionArn>%s</SubscriptionArn>"
                                    "</ConfirmSubscriptionResult><ResponseMetadata><RequestId>fake</RequestId>"
                                    "</ResponseMetadata></ConfirmSubscriptionResponse>") % arn, "text/xml")
        if self.command == "POST" and url.path == "/_fake/queue":
            with LOCK:
                STATE["queue"].append(json.loads(body or b"{}"))
            return self.reply(200, {"queued": True})
        if self.command == "POST" and url.path == "/_fake/sign":
            msg = json.loads(body)
            port = self.server.server_address[1]
            msg.setdefault("SigningCertURL", "http://127.0.0.1:%d%s" % (port, CERT_PATH))
            c = cert()
            digest = c["hashes"].SHA1() if str(msg.get("SignatureVersion", "1")) == "1" else c["hashes"].SHA256()
            sig = c["key"].sign(string_to_sign(msg), c["padding"].PKCS1v15(), digest)
            msg["Signature"] = base64.b64encode(sig).decode()
            return self.reply(200, msg)
        if self.command == "GET" and url.path == "/_fake/sent":
            with LOCK:
                return self.reply(200, list(STATE["sent"]))
        if self.command == "GET" and url.path == "/_fake/stats":
            with LOCK:
                return self.reply(200, {"sends": STATE["sends"], "cert_fetches": STATE["cert_fetches"],
                                        "confirms": list(STATE["confirms"])})
        return self.reply(404, {"message": "no route " + url.path})

    def send_email(self, body):
        bad = check_sigv4("POST", self.path, self.headers, body)
        if bad:
            return self.ses_error(*bad)
        with LOCK:
            STATE["sends"] += 1
            answer = STATE["queue"].pop(0) if STATE["queue"] else {}
        if answer.get("stall"):
            time.sleep(float(answer["stall"]))
        if answer.get("status") and answer["status"] != 200:
            extra = {"Retry-After": str(answer["retry_after"])} if answer.get("retry_after") else None
            return self.ses_error(answer["status"], answer.get("error", "InternalFailure"),
                                  answer.get("message", "scripted"), answer.get("xml"), extra)
        try:
            doc = json.loads(body)
            raw = base64.b64decode(doc["Content"]["Raw"]["Data"], validate=True)
        except (ValueError, KeyError, TypeError):
            return self.ses_error(400, "BadRequestException", "Content.Raw.Data is required")
        message_id = "0100%016x-%s-000000" % (int(time.time() * 1000), hashlib.sha1(raw).hexdigest()[:12])
        with LOCK:
            STATE["sent"].append({
                "message_id": message_id,
                "authorization": self.headers.get("Authorization"),
                "amz_date": self.headers.get("X-Amz-Date"),
                "security_token": self.headers.get("x-amz-security-token"),
                "request": doc,
                "raw": raw.decode("utf-8", "replace"),
            })
        return self.reply(200, {"MessageId": message_id})


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if args else 2)
    port_file = args[0]
    idle = float(args[1]) if len(args) > 1 else 5.0
    if len(args) > 3:
        CONF["key_id"], CONF["secret"] = args[2], args[3]
    if len(args) > 4:
        CONF["region"] = args[4]
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=make_cert, daemon=True).start()
    publish_and_serve(srv, str(srv.server_address[1]), port_file, idle, STATE, LOCK)


if __name__ == "__main__":
    main()
