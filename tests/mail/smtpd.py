#!/usr/bin/python3
"""A real SMTP server for the mail tests (aiosmtpd, Debian python3-aiosmtpd),
misbehaving on request.

    smtpd.py DIR MODE [--tls | --implicit-tls] [--auth USER:PASSWORD] [--stall S] [--size BYTES]

Listens on 127.0.0.1 on a free port and writes it to DIR/port (its pid to
DIR/pid). Every event goes to DIR/log.jsonl as one JSON object a line:
{"ev": "connect"}, {"ev": "data", "mail_from", "rcpt", "tls", "auth",
"body"} when a whole message has arrived (before the answer), {"ev":
"replied", "code"} after answering it.

MODE: ok (250), greet421 (421 at connect, then close), stall_greeting (no
greeting at all), rcpt452 (452 to RCPT TO), data554 (554 after the
message), drop_after_data (the message is read, then the connection
closed without an answer), stall_after_data (the answer waits --stall
seconds, 30 by default), hold (the answer waits until DIR/go exists),
drop_reused (the second MAIL FROM of a session drops the connection, as a
relay that timed an idle session out).

--tls: STARTTLS with a throwaway self-signed certificate for 127.0.0.1 made
with the openssl CLI (DIR/cert.pem, also the CA file for clients), required
before MAIL. --implicit-tls: TLS from the first byte (smtps://), the same
certificate. --auth: AUTH PLAIN/LOGIN required (only after STARTTLS).
--size: the SIZE it offers and enforces (aiosmtpd's 32 MiB by default).
Exits when its parent goes away."""
import asyncio
import json
import os
import ssl
import subprocess
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DIR, MODE = sys.argv[1], sys.argv[2]
ARGS = sys.argv[3:]
TLS = "--tls" in ARGS
IMPLICIT_TLS = "--implicit-tls" in ARGS
AUTH = ARGS[ARGS.index("--auth") + 1] if "--auth" in ARGS else None
STALL = float(ARGS[ARGS.index("--stall") + 1]) if "--stall" in ARGS else 30.0
SIZE = int(ARGS[ARGS.index("--size") + 1]) if "--size" in ARGS else 33554432
PARENT = os.getppid()


def log(**ev):
    with open(os.path.join(DIR, "log.jsonl"), "a") as f:
        f.write(json.dumps(ev) + "\n")


class Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        session.mails = getattr(session, "mails", 0) + 1
        if MODE == "drop_reused" and session.mails > 1:
            log(ev="dropped")
            server.transport.abort()
            return "250 OK"   # never written: the connection is gone
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if MODE == "rcpt452":
            return "452 4.5.3 Insufficient system storage, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        log(ev="data", mail_from=envelope.mail_from, rcpt=envelope.rcpt_tos, mail_options=envelope.mail_options,
            tls=session.ssl is not None, auth=session.auth_data,
            body=envelope.original_content.decode("utf-8", "replace"))
        if MODE == "data554":
            code = "554 5.7.1 Message rejected as spam"
        elif MODE == "drop_after_data":
            server.transport.abort()
            log(ev="dropped")
            return "250 OK"   # never written: the connection is gone
        elif MODE == "stall_after_data":
            await asyncio.sleep(STALL)
            code = "250 OK queued after a stall"
        elif MODE == "hold":
            go = os.path.join(DIR, "go")
            for _ in range(600):
                if os.path.exists(go):
                    break
                await asyncio.sleep(0.05)
            code = "250 OK queued as held"
        else:
            code = "250 OK queued"
        log(ev="replied", code=int(code[:3]))
        return code


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and AUTH is not None:
        user, password = AUTH.split(":", 1)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        log(ev="auth", ok=ok, mechanism=mechanism)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
    return AuthResult(success=False, handled=False)


def tls_context():
    cert, key = os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class Raw(asyncio.Protocol):
    """The connect-time modes, below any SMTP library."""

    def connection_made(self, transport):
        log(ev="connect")
        if MODE == "greet421":
            transport.write(b"421 4.3.2 Too busy, try again later\r\n")
            transport.close()
        # stall_greeting: say nothing, keep the connection open


async def main():
    loop = asyncio.get_running_loop()
    if MODE in ("greet421", "stall_greeting"):
        srv = await loop.create_server(Raw, "127.0.0.1", 0)
    else:
        ctx = tls_context() if TLS or IMPLICIT_TLS else None
        handler = Handler()

        def factory():
            log(ev="connect")
            return SMTP(handler, hostname="mx.test", data_size_limit=SIZE, tls_context=ctx if TLS else None,
                        require_starttls=TLS,
                        auth_required=AUTH is not None, auth_require_tls=True,
                        authenticator=authenticator if AUTH else None)
        srv = await loop.create_server(factory, "127.0.0.1", 0, ssl=ctx if IMPLICIT_TLS else None)
    port = srv.sockets[0].getsockname()[1]
    with open(os.path.join(DIR, "pid"), "w") as f:
        f.write(str(os.getpid()))
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, os.path.join(DIR, "port"))
    while True:
        await asyncio.sleep(0.5)
        try:
            os.kill(PARENT, 0)
        except OSError:
            return


asyncio.run(main())
