"""Load client for tests/bench/webhooks: posts Svix-signed Recurrente events
over N keep-alive connections (asyncio, raw sockets) and reports accepted
events/s and latency percentiles; `--get PATH` measures plain GETs instead
(the peer figure).

usage: webhooks.py --port P --conns 64 --secret whsec_... --sites FILE [--dups N]
       webhooks.py --port P --conns 64 --get /healthz --count N
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time


def sign(key, msg_id, ts, body):
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event(site_id, business_id, n):
    sub = "su_bench%08d" % n
    pbl = {"type": "Subscription", "id": sub}
    return {
        "id": "pa_bench%08d" % n,
        "event_type": "payment_intent.succeeded",
        "api_version": "2024-04-24",
        "checkout": {"id": "ch_bench%08d" % n, "status": "paid", "payment": {"id": "py_%d" % n, "paymentable": pbl},
                     "payment_method": {"id": "pm_%d" % n, "type": "card", "card": {"last4": "4242", "network": "visa"}},
                     "transfer_setups": [], "metadata": {"site_id": site_id, "business_id": business_id}},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "failure_reason": None,
        "amount_in_cents": 80000, "currency": "GTQ", "fee": 3600, "vat_withheld": 0, "vat_withheld_currency": "GTQ",
        "customer": {"email": "owner%d@bench.example" % n, "full_name": "Owner %d" % n, "id": "us_bench%08d" % n},
        "payment": {"id": "py_%d" % n, "paymentable": pbl},
        "product": {"id": "prod_bench"},
        "invoice": {"id": "in_%d" % n, "tax_invoice_url": None},
    }


def requests_for(args):
    if args.get:
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % args.get).encode()
        return [req] * args.count
    key = base64.b64decode(args.secret[len("whsec_"):])
    out = []
    with open(args.sites) as f:
        sites = [line.split() for line in f if line.strip()]
    for n, (site_id, business_id) in enumerate(sites):
        body = json.dumps(event(site_id, business_id, n)).encode()
        msg_id = "msg_bench%08d" % n
        ts = str(int(time.time()))
        head = ("POST /hooks/recurrente HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "svix-id: %s\r\nsvix-timestamp: %s\r\nsvix-signature: %s\r\nContent-Length: %d\r\n\r\n"
                % (msg_id, ts, sign(key, msg_id, ts, body), len(body))).encode()
        out.append(head + body)
    # Redeliveries of earlier messages (same svix-id), spread through the run.
    step = max(1, len(out) // max(1, args.dups)) if args.dups else 0
    if step:
        dups = [out[i] for i in range(0, len(out), step)][: args.dups]
        mixed = []
        for i, r in enumerate(out):
            mixed.append(r)
            if step and i % step == step - 1 and dups:
                mixed.append(dups.pop(0))
        out = mixed + dups
    return out


async def worker(port, queue, lat, statuses):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while True:
        try:
            req = queue.pop()
        except IndexError:
            break
        t0 = time.perf_counter()
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        lat.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--secret")
    ap.add_argument("--sites")
    ap.add_argument("--dups", type=int, default=0)
    ap.add_argument("--get")
    ap.add_argument("--count", type=int, default=10000)
    args = ap.parse_args()
    reqs = requests_for(args)
    reqs.reverse()                      # pop() takes them in order
    total = len(reqs)
    lat, statuses = [], {}
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(args.port, reqs, lat, statuses) for _ in range(args.conns)))
    elapsed = time.perf_counter() - t0
    lat.sort()
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000

    print(json.dumps({"requests": total, "ok": ok, "statuses": statuses, "seconds": round(elapsed, 3),
                      "per_s": round(ok / elapsed), "p50_ms": round(pct(0.50), 2), "p99_ms": round(pct(0.99), 2),
                      "max_ms": round(lat[-1] * 1000, 2)}))


if __name__ == "__main__":
    asyncio.run(main())
