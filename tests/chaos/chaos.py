#!/usr/bin/env python3
"""The chaos suite: three `wm` hosts on one PostgreSQL database run the whole
loop on a bounded workload while they are killed and the database is stopped
under them; afterwards the loop must have finished its work exactly once.

usage: chaos.py --wm BUILD/wm [--work DIR] [--long] [--seconds S] [--cells N]
                [--leads N] [--seed N] [--drain S] [--keep]

What runs (each a real process):
  - a throwaway PostgreSQL cluster (`wm db start` under WORK/pg);
  - tests/fakes/anthropic.py answering a --llm-fail fraction of calls with
    429/529/500 and retry-after, and tests/fakes/websites.py hanging a
    --hang fraction of website checks past website_check.timeout;
  - `wm serve` and two `wm work`, each with its own paths.var (WORK/hostN),
    sharing WM_DATABASE_URL, the tracking secret and one config file
    (WORK/chaos_config.lua), with the chaos providers of tests/chaos/scripts
    (the real http website check and anthropic provider, pointed at the fakes);
  - the workload: a scrape for the first --cells grid cells (tests/chaos/setup.lua),
    autopilot off, so the run ends when those leads are done.

The chaos, for --seconds: every host is killed with SIGKILL at random moments
and restarted after a short pause; PostgreSQL is stopped (pg_ctl -m immediate,
then -m fast, alternately) and started again; the fakes misbehave. Then the
chaos stops, every host runs, and the hosts drain the queue (at most --drain
seconds); then they are stopped with SIGTERM and the outcome is checked:

  - every lead is at an end state: has_website, unverifiable, disqualified, or
    qualified with its email sent; otherwise the reason is listed: a campaign
    stuck in 'sending', a campaign skipped (its error), a discarded job (its
    error); anything else is lost;
  - no email twice: the .eml files of the three outboxes, per recipient and
    per campaign (read from the signed unsubscribe token); every 'sent'
    campaign has its file, and no file belongs to a campaign that is neither
    'sent' nor 'sending';
  - no job lost or stuck: none 'running' with an expired lease, none
    available/retryable/scheduled left, every discarded one with its error;
  - the workload's grid cells are 'completed', their counters equal to their rows;
  - hosts: none exited by itself (a wm serve that stops because the database
    went away while it started is counted apart), each stopped on SIGTERM;
  - stuck sends listed (and `wm campaigns stuck` when the command exists).
It prints the figures and exits 0 when every check passed, 1 otherwise.
"""
import argparse
import base64
import collections
import email
import email.utils
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKES = os.path.join(ROOT, "tests", "fakes")
API_KEY = "sk-ant-chaos"
TRACKING_SECRET = "c4a05" * 12 + "c4a0"
# Kinds fired by cron: they come back every period, so they are never "left".
CRON_KINDS = ("rescue_leases", "autopilot_tick", "analytics_snapshot")
PORTS = (18500, 18599)          # this suite's range (tests/chaos/README.md)


def log(msg):
    sys.stdout.write("[%6.1fs] %s\n" % (time.monotonic() - T0, msg))
    sys.stdout.flush()


T0 = time.monotonic()


class Failed(Exception):
    pass


# ---- processes ------------------------------------------------------------------------------

def run(argv, env=None, timeout=120, check=True):
    r = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise Failed("%s failed (%d): %s" % (" ".join(argv), r.returncode, (r.stderr or r.stdout).strip()))
    return r


def free_port():
    ports = list(range(PORTS[0], PORTS[1] + 1))
    random.SystemRandom().shuffle(ports)
    for p in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise Failed("no free port in %d-%d" % PORTS)


def start_fake(script, work, *args):
    """A fake from tests/fakes; returns (process, base URL). It dies with us."""
    port_file = os.path.join(work, script + ".port")
    proc = subprocess.Popen(["python3", os.path.join(FAKES, script), port_file] + list(args),
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, script + ".log"), "w"))
    for _ in range(400):
        if os.path.exists(port_file):
            return proc, "http://127.0.0.1:" + open(port_file).read().split()[0]
        if proc.poll() is not None:
            break
        time.sleep(0.025)
    raise Failed("the fake %s did not start (see %s.log)" % (script, script))


def post_json(url, obj):
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


class Host:
    """One `wm serve` or `wm work` with its own paths.var, killed and restarted at will."""

    def __init__(self, name, argv, env, logfile):
        self.name, self.argv, self.env, self.logfile = name, argv, env, logfile
        self.proc = None
        self.kills = 0
        self.starts = 0
        self.crashes = []          # exits we did not cause: (code, time, the end of its output)
        self.refused = 0           # starts refused because the database was down
        self.down_until = None     # a pause between a kill and the restart

    def start(self):
        self.log_from = os.path.getsize(self.logfile.name)
        # PR_SET_PDEATHSIG: a host never outlives this script, even when it is killed.
        self.proc = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--"] + self.argv, env=self.env,
                                     cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.logfile,
                                     stderr=subprocess.STDOUT)
        self.starts += 1
        self.down_until = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def reap(self):
        """Notices a host that exited by itself (a crash)."""
        if self.proc is not None and self.down_until is None and self.proc.poll() is not None:
            with open(self.logfile.name, "rb") as f:
                f.seek(self.log_from)
                said = f.read().decode("utf-8", "replace")
            if re.search(r"database unavailable|connection lost|connection to server", said):
                # wm serve prepares the database before anything else and
                # stops when it cannot: a host manager starts it again.
                self.refused += 1
                log("%s refused to start: the database is unavailable" % self.name)
            else:
                self.crashes.append((self.proc.returncode, time.monotonic() - T0, said.strip()[-600:]))
                log("FINDING: %s exited by itself with %s" % (self.name, self.proc.returncode))
            self.proc = None
            self.down_until = time.monotonic() + 1.0
            return True
        return False

    def stop(self, timeout):
        """SIGTERM; True when it exited in time (else it is killed)."""
        if not self.alive():
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False


# ---- the database ---------------------------------------------------------------------------

class Cluster:
    def __init__(self, wm, var):
        self.wm, self.var = wm, var
        self.env = dict(os.environ, WM_PATHS_VAR=var, WM_DATABASE_URL="")
        self.restarts = 0

    def start(self):
        run([self.wm, "db", "start"], env=self.env, timeout=120)
        self.url = run([self.wm, "db", "url"], env=self.env).stdout.strip()
        socket_dir = re.search(r"host=(\S+)", self.url).group(1)
        self.data = os.path.join(os.path.dirname(socket_dir), "data")
        return self.url

    def destroy(self):
        r = run([self.wm, "db", "destroy", "--yes"], env=self.env, timeout=120, check=False)
        data = getattr(self, "data", None) or os.path.join(self.var, "pg", "data")
        if r.returncode != 0 and os.path.isdir(data):
            # wm itself cannot run (a broken config, say): never leave the server behind.
            log("wm db destroy failed (%s); stopping the cluster with pg_ctl" % r.stderr.strip()[:200])
            self.pg_ctl("stop", "-m", "immediate", "-D", data, check=False)

    def pg_ctl(self, *args, check=True):
        versions = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int, reverse=True)
        argv = ["/usr/lib/postgresql/%s/bin/pg_ctl" % versions[0]] + list(args)
        if os.getuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return run(argv, timeout=120, check=check)

    def stop(self, mode):
        self.pg_ctl("stop", "-w", "-m", mode, "-D", self.data)

    def restart(self):
        run([self.wm, "db", "start"], env=self.env, timeout=120)
        self.restarts += 1


def psql(url, sql):
    """Runs one query (no values in it) and returns its single JSON value."""
    argv = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url]
    r = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Failed("psql: %s\n%s" % (r.stderr.strip(), sql))
    out = r.stdout.strip()
    return json.loads(out) if out else None


def live_jobs(url):
    return psql(url, """SELECT coalesce(json_object_agg(status, n), '{}') FROM (
        SELECT status, count(*) AS n FROM jobs
        WHERE kind NOT IN ('rescue_leases', 'autopilot_tick', 'analytics_snapshot')
          AND status IN ('available', 'running', 'retryable', 'scheduled') GROUP BY status) s""")


# ---- the outboxes ---------------------------------------------------------------------------

def campaign_of(unsubscribe_header):
    """The campaign id inside a List-Unsubscribe link's token (lib/tracking.lua:
    base64url(mac16 .. campaign_id))."""
    m = re.search(r"/u/([A-Za-z0-9_-]+)", unsubscribe_header or "")
    if not m:
        return None
    tok = m.group(1)
    raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
    return raw[16:].decode("utf-8", "replace")


def read_outboxes(hosts_dirs):
    mails = []
    for d in hosts_dirs:
        for path in sorted(glob.glob(os.path.join(d, "outbox", "*.eml"))):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f)
            mails.append({"path": path, "to": email.utils.parseaddr(msg.get("To", ""))[1].lower(),
                          "campaign": campaign_of(msg.get("List-Unsubscribe"))})
    return mails


# ---- the run --------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wm", default=os.path.join(ROOT, "build", "wm"), help="the wm binary (build/wm)")
    ap.add_argument("--work", help="scratch folder (deleted first); default a new one under /tmp")
    ap.add_argument("--long", action="store_true", help="the long run: 12 cells x 20 leads, 300 s of chaos")
    ap.add_argument("--seconds", type=float, help="seconds of chaos (short 30, long 300)")
    ap.add_argument("--cells", type=int, help="grid cells in the workload, their scrapes spread over the "
                    "first 70%% of the chaos (short 4, long 12)")
    ap.add_argument("--leads", type=int, help="leads per cell (short 8, long 20)")
    ap.add_argument("--drain", type=float, help="seconds the hosts get to finish after the chaos (short 40, long 240)")
    ap.add_argument("--kill-every", type=float, nargs=2, metavar=("MIN", "MAX"),
                    help="seconds between kills of one host (default 4 10)")
    ap.add_argument("--db-every", type=float, nargs=2, metavar=("MIN", "MAX"),
                    help="seconds between database restarts (short: one, in the middle; long 40 70)")
    ap.add_argument("--llm-fail", type=float, default=0.25, help="fraction of LLM calls that fail (0.25)")
    ap.add_argument("--hang", type=float, default=0.04,
                    help="fraction of website requests that hang, until 45 s before the end (0.04)")
    ap.add_argument("--seed", type=int, help="seeds the chaos (kills, fakes); printed when chosen at random")
    ap.add_argument("--keep", action="store_true", help="keep the cluster and the work folder")
    a = ap.parse_args()
    seconds = a.seconds or (300 if a.long else 30)
    cells = a.cells or (12 if a.long else 4)
    leads = a.leads or (20 if a.long else 8)
    drain = a.drain or (240 if a.long else 40)
    kill_every = a.kill_every or (4, 10)
    db_every = a.db_every or ((40, 70) if a.long else None)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    wm = os.path.abspath(a.wm)
    work = os.path.abspath(a.work or ("/tmp/wm-chaos-%d" % os.getpid()))
    log("chaos: seed %d, %d cells x %d leads, %.0f s of chaos, work in %s" % (seed, cells, leads, seconds, work))

    cluster = Cluster(wm, os.path.join(work, "pg"))
    if os.path.isdir(work):
        cluster.destroy()             # a run that was killed left its cluster
        shutil.rmtree(work)
    os.makedirs(work)
    procs, hosts = [], []
    report = {"ok": False}

    def on_term(signum, frame):
        raise Failed("stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    try:
        url = cluster.start()
        llm, llm_url = start_fake("anthropic.py", work, "3600", API_KEY, "--fail-rate", str(a.llm_fail),
                                  "--retry-after", "1", "--seed", str(seed))
        sites, sites_url = start_fake("websites.py", work, "3600", "--exists-rate", "0.1", "--hang-rate",
                                      str(a.hang), "--hang-seconds", "3", "--seed", str(seed))
        procs += [llm, sites]
        port = free_port()
        config = os.path.join(work, "chaos_config.lua")
        with open(config, "w") as f:
            f.write(CONFIG % {"leads": leads, "port": port, "llm": llm_url, "sites": sites_url})
        env = dict(os.environ, WM_DATABASE_URL=url, WM_SCRIPTS_PATH=os.path.join(HERE, "scripts"),
                   WM_ANTHROPIC_API_KEY=API_KEY, WM_TRACKING_SECRET=TRACKING_SECRET)
        env.pop("WM_CONFIG", None)
        out = run([wm, "--config", config, "run", os.path.join(HERE, "setup.lua"), "--cells", str(cells),
                   "--spread", str(seconds * 0.7)],
                  env=dict(env, WM_PATHS_VAR=os.path.join(work, "setup")))
        log("workload:\n" + out.stdout.rstrip())

        os.makedirs(os.path.join(work, "logs"))
        for i, cmd in enumerate([["serve", "--listen", "127.0.0.1:%d" % port, "--quiet"], ["work"], ["work"]], 1):
            name = "host%d" % i
            h = Host("%s (wm %s)" % (name, cmd[0]), [wm, "--config", config] + cmd,
                     dict(env, WM_PATHS_VAR=os.path.join(work, name)),
                     open(os.path.join(work, "logs", name + ".log"), "ab"))
            h.var = os.path.join(work, name)
            h.start()
            h.next_kill = time.monotonic() + rng.uniform(*kill_every)
            hosts.append(h)
        log("hosts started: wm serve on 127.0.0.1:%d and two wm work" % port)

        # ---- chaos ----
        t_start = time.monotonic()
        t_end = t_start + seconds
        if db_every:
            next_db = t_start + rng.uniform(*db_every)
        else:
            next_db = t_start + seconds * rng.uniform(0.35, 0.6)
        db_modes = ["immediate", "fast"]
        db_up_at = None
        # A check that timed out is tried again 30 s later (verify_website):
        # hangs stop 45 s before the end (at least halfway), so that those
        # retries come before the drain ends.
        hangs_until = t_start + max(seconds / 2, seconds - 45)
        while time.monotonic() < t_end or db_up_at is not None:
            now = time.monotonic()
            if hangs_until and now >= hangs_until:
                post_json(sites_url + "/_chaos", {"hang_rate": 0})
                hangs_until = None
                log("websites stop hanging")
            for h in hosts:
                h.reap()
                if h.down_until is not None and now >= h.down_until:
                    h.start()
                    h.next_kill = now + rng.uniform(*kill_every)
                elif h.down_until is None and now >= h.next_kill:
                    h.kill9()
                    h.down_until = now + rng.uniform(0.2, 2.0)
                    log("kill -9 %s" % h.name)
            if db_up_at is None and now >= next_db and now < t_end - 5:
                mode = db_modes[cluster.restarts % 2]
                cluster.stop(mode)
                db_up_at = now + rng.uniform(2, 5)
                log("PostgreSQL stopped (-m %s) for %.1f s" % (mode, db_up_at - now))
            elif db_up_at is not None and now >= db_up_at:
                cluster.restart()
                db_up_at = None
                log("PostgreSQL started again")
                next_db = (time.monotonic() + rng.uniform(*db_every)) if db_every else float("inf")
            time.sleep(0.1)

        # ---- recovery ----
        post_json(llm_url + "/_fake/chaos", {"fail_rate": 0})
        web = post_json(sites_url + "/_chaos", {"hang_rate": 0})
        for h in hosts:
            h.reap()
            if not h.alive():
                h.start()
        log("chaos over; every host runs; draining (at most %.0f s)" % drain)
        t_drain = time.monotonic()
        left = live_jobs(url)
        while left and time.monotonic() - t_drain < drain:
            time.sleep(0.5)
            for h in hosts:
                h.reap()
                if h.down_until is not None and time.monotonic() >= h.down_until:
                    h.start()
            left = live_jobs(url)
        drained = time.monotonic() - t_drain
        log("drained in %.1f s" % drained if not left else "not drained after %.0f s: %s" % (drained, left))
        expired = psql(url, """SELECT count(*) FROM jobs WHERE status = 'running'
            AND lease_expires_at < now() - interval '1 second'""")
        stuck_cmd = run([wm, "campaigns", "stuck", "--help"], env=dict(env, WM_PATHS_VAR=hosts[0].var),
                        check=False)
        stuck_out = None
        if stuck_cmd.returncode == 0:
            stuck_out = run([wm, "--config", config, "campaigns", "stuck"], env=dict(env, WM_PATHS_VAR=hosts[0].var),
                            check=False)
        for h in hosts:
            h.reap()
        not_stopped = [h.name for h in hosts if not h.stop(20)]

        report = check(url, hosts, cluster, llm_url, web, left, expired, not_stopped, stuck_out,
                       time.monotonic() - T0, seconds)
    except Failed as e:
        log("chaos: %s" % e)
        report = {"ok": False}
    finally:
        for h in hosts:
            h.kill9()
        for p in procs:
            p.kill()
        if not a.keep:
            cluster.destroy()
            if report.get("ok"):
                shutil.rmtree(work, ignore_errors=True)
        if not report.get("ok"):
            log("logs kept in %s/logs (seed %d)" % (work, seed))
    return 0 if report.get("ok") else 1


CONFIG = """-- Written by tests/chaos/chaos.py for one run.
return {
    log = { access = false },
    jobs = { lease = 6, poll = 1, backoff_base = 1, backoff_max = 5, stop_deadline = 5 },
    cron = { rescue = { every = 3, kind = "rescue_leases" } },
    autopilot = { enabled = false },
    providers = { website = "http_fake", llm = "anthropic_fake" },
    leads = { per_cell = %(leads)d },
    mail = { daily_cap = 100000 },
    sites = { base_url = "http://127.0.0.1:%(port)d", site_url_pattern = "http://%%s.localhost:%(port)d/" },
    website_check = { timeout = 1, deadline = 20 },
    anthropic = { base_url = "%(llm)s", timeout = 20 },
    custom = { chaos = { websites_url = "%(sites)s" } },
}
"""


# ---- the checks -----------------------------------------------------------------------------

def check(url, hosts, cluster, llm_url, web, left, expired, not_stopped, stuck_out, elapsed, seconds):
    problems = []

    def fail(what, items=()):
        problems.append(what)
        print("FAIL: " + what)
        for it in list(items)[:20]:
            print("      " + it)

    # Leads.
    leads = psql(url, """SELECT coalesce(json_agg(x), '[]') FROM (
        SELECT b.id, b.name, b.lead_status, b.website_status,
               (SELECT count(*) FROM generated_sites s WHERE s.business_id = b.id) AS sites,
               (SELECT json_agg(json_build_object('id', c.id, 'status', c.status, 'error', c.error_message))
                  FROM campaigns c WHERE c.business_id = b.id) AS campaigns,
               (SELECT json_agg(json_build_object('id', j.id, 'kind', j.kind, 'error', j.last_error))
                  FROM jobs j WHERE j.payload->>'business_id' = b.id::text AND j.status = 'discarded') AS discarded
        FROM businesses b ORDER BY b.name) x""")
    by_status = collections.Counter(b["lead_status"] for b in leads)
    outcome = collections.Counter()
    lost_leads = []
    for b in leads:
        st = b["lead_status"]
        camps = b["campaigns"] or []
        why = None
        if st in ("has_website", "unverifiable", "disqualified"):
            outcome[st] += 1
            continue
        if st == "qualified":
            if any(c["status"] == "sent" for c in camps):
                outcome["qualified, emailed"] += 1
                continue
            if any(c["status"] == "sending" for c in camps):
                outcome["qualified, send stuck in 'sending'"] += 1
                continue
            failed = [c for c in camps if c["status"] == "failed"]
            if failed:
                outcome["qualified, campaign skipped"] += 1
                print("  skipped: %s: %s" % (b["name"], failed[0]["error"]))
                continue
        if b["discarded"]:
            d = b["discarded"][0]
            outcome["%s, job discarded" % st] += 1
            print("  discarded: %s (%s): %s job %s: %s" % (b["name"], st, d["kind"], d["id"],
                                                            (d["error"] or "")[:160]))
            continue
        why = "%s, website %s, %d site(s), campaigns %s" % (st, b["website_status"], b["sites"],
                                                             [c["status"] for c in camps])
        lost_leads.append("%s %s: %s" % (b["id"], b["name"], why))
    if not leads:
        fail("no leads at all: the workload never ran")
    if lost_leads:
        fail("%d lead(s) not at an end state" % len(lost_leads), lost_leads)

    # Grid cells: finished, and their counters recounted right whatever ran twice.
    cells = psql(url, """SELECT coalesce(json_agg(x), '[]') FROM (
        SELECT g.city, g.industry, g.status, g.lead_count, g.qualified_count, g.site_count,
               (SELECT count(*) FROM businesses b WHERE b.coverage_grid_id = g.id) AS leads,
               (SELECT count(*) FROM businesses b WHERE b.coverage_grid_id = g.id
                  AND b.qualified_at IS NOT NULL) AS qualified,
               (SELECT count(*) FROM generated_sites s JOIN businesses b ON b.id = s.business_id
                  WHERE b.coverage_grid_id = g.id) AS sites
        FROM coverage_grid g WHERE g.status <> 'pending') x""")
    wrong = ["%s, %s: %s, counters %d/%d/%d, rows %d/%d/%d" % (c["city"], c["industry"], c["status"],
             c["lead_count"], c["qualified_count"], c["site_count"], c["leads"], c["qualified"], c["sites"])
             for c in cells if c["status"] != "completed" or (c["lead_count"], c["qualified_count"],
                                                              c["site_count"]) != (c["leads"], c["qualified"], c["sites"])]
    if wrong:
        fail("grid cells not completed or with counters unlike their rows (leads/qualified/sites)", wrong)

    # Emails.
    mails = read_outboxes([h.var for h in hosts])
    unread = [m["path"] for m in mails if not m["to"] or not m["campaign"]]
    if unread:
        fail("emails without a recipient or a campaign token (cannot be counted)", unread)
    if not mails:
        fail("no email at all: the run never reached the send stage")
    per_addr = collections.Counter(m["to"] for m in mails)
    per_camp = collections.Counter(m["campaign"] for m in mails)
    dup_addr = {k: n for k, n in per_addr.items() if n > 1}
    dup_camp = {k: n for k, n in per_camp.items() if n > 1}
    if dup_addr:
        fail("an address emailed more than once", ["%s: %d emails" % kv for kv in dup_addr.items()])
    if dup_camp:
        fail("a campaign emailed more than once", ["%s: %d emails" % kv for kv in dup_camp.items()])
    camps = psql(url, """SELECT coalesce(json_agg(json_build_object('id', c.id, 'status', c.status,
        'to', lower(c.recipient_email), 'business', c.business_id, 'started', c.sending_started_at,
        'error', c.error_message)), '[]') FROM campaigns c""")
    status_of = {c["id"]: c["status"] for c in camps}
    no_file = [c["id"] for c in camps if c["status"] == "sent" and c["id"] not in per_camp]
    if no_file:
        fail("campaigns marked 'sent' with no email in any outbox", no_file)
    unrecorded = ["%s (%s) -> campaign %s is %s" % (os.path.relpath(m["path"], os.path.dirname(hosts[0].var)),
                                                   m["to"], m["campaign"], status_of.get(m["campaign"], "missing"))
                  for m in mails if status_of.get(m["campaign"]) not in ("sent", "sending")]
    if unrecorded:
        fail("emails whose campaign is neither 'sent' nor 'sending'", unrecorded)
    stuck = [c for c in camps if c["status"] == "sending"]
    print("stuck sends (campaigns in 'sending'): %d" % len(stuck))
    for c in stuck:
        print("  %s to %s since %s, email %s" % (c["id"], c["to"], c["started"],
                                                "written" if c["id"] in per_camp else "not written"))
    if stuck_out is not None:
        listed = stuck_out.stdout
        missing = [c["id"] for c in stuck if c["id"] not in listed and c["id"][:8] not in listed]
        print("`wm campaigns stuck` (exit %d):\n%s" % (stuck_out.returncode, listed.rstrip()))
        if missing:
            fail("`wm campaigns stuck` does not list every campaign in 'sending'", missing)
    else:
        print("(`wm campaigns stuck` does not exist yet: listed from the table)")

    # Jobs.
    if left:
        rows = psql(url, """SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'status', status,
            'run_at', run_at, 'attempt', attempt, 'error', left(last_error, 160))), '[]') FROM jobs
            WHERE kind NOT IN ('rescue_leases', 'autopilot_tick', 'analytics_snapshot')
              AND status IN ('available', 'running', 'retryable', 'scheduled')""")
        fail("jobs left after the drain: %s" % left, [json.dumps(r) for r in rows])
    if expired:
        fail("%d job(s) 'running' with an expired lease after rescue" % expired)
    jobs = psql(url, """SELECT json_build_object(
        'by_status', (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM jobs GROUP BY status) s),
        'attempts', (SELECT coalesce(sum(attempt), 0) FROM jobs),
        'rescued', (SELECT count(*) FROM jobs, jsonb_array_elements(errors) e WHERE e->>'error' = 'lease expired'),
        'discarded', (SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'attempt', attempt,
                        'error', left(last_error, 200), 'errors', jsonb_array_length(errors),
                        'history', (SELECT string_agg(format('#%s %s %s', e->>'attempt', e->>'at',
                                        left(e->>'error', 60)), ' | ') FROM jsonb_array_elements(errors) e))),
                      '[]')
                      FROM jobs WHERE status = 'discarded'))""")
    unexplained = [d for d in jobs["discarded"] if not d["error"] or d["errors"] == 0]
    if unexplained:
        fail("discarded jobs with no error kept", [json.dumps(d) for d in unexplained])
    reasons = collections.Counter("%s: %s" % (d["kind"], re.sub(r"[0-9a-f-]{36}", "<id>", d["error"] or "")[:120])
                                  for d in jobs["discarded"])
    if reasons:
        print("discarded jobs (%d), by reason:" % len(jobs["discarded"]))
        for r, n in reasons.most_common():
            print("  %3d  %s" % (n, r))
        for d in jobs["discarded"]:
            print("  job %s %s: %s" % (d["id"], d["kind"], d["history"]))

    # Hosts.
    crashes = ["%s: exit %s at %.1f s: %s" % (h.name, code, t, said.replace("\n", " | "))
               for h in hosts for code, t, said in h.crashes]
    if crashes:
        fail("hosts exited by themselves (see their logs)", crashes)
    if not_stopped:
        fail("hosts that did not stop within 20 s of SIGTERM", not_stopped)

    kills = sum(h.kills for h in hosts)
    if kills < 3 or cluster.restarts < 1:
        fail("the chaos did not happen: %d kills, %d database restarts" % (kills, cluster.restarts))
    refused = sum(h.refused for h in hosts)
    if refused:
        print("starts refused while the database was down (the host was started again): %d" % refused)
    for h in hosts:
        said = collections.Counter()
        with open(h.logfile.name, "rb") as f:
            for line in f:
                m = re.search(rb'"level":"(warn|error)","msg":"([^"]*)"', line)
                if m:
                    said[m.group(1).decode() + ": " + m.group(2).decode("utf-8", "replace")] += 1
        if said:
            print("%s logged: %s" % (h.name, ", ".join("%s x%d" % kv for kv in said.most_common(8))))

    llm = get_json(llm_url + "/_fake/stats")
    dups = sum(n - 1 for n in dup_addr.values()) + sum(n - 1 for n in dup_camp.values())
    lost = len(lost_leads) + len(no_file) + len(unrecorded) + sum((left or {}).values()) + (expired or 0)
    print()
    print("leads by status: %s" % dict(sorted(by_status.items())))
    print("lead outcomes:   %s" % dict(sorted(outcome.items())))
    print("jobs by status:  %s" % dict(sorted(jobs["by_status"].items())))
    figures = [
        ("chaos seconds", "%.0f" % seconds),
        ("kills (kill -9)", "%d (%s)" % (kills, ", ".join("%s %d" % (h.name.split()[0], h.kills) for h in hosts))),
        ("host restarts", "%d (%d refused: no database)" % (sum(h.starts - 1 for h in hosts), refused)),
        ("db restarts", cluster.restarts),
        ("jobs run (attempts)", jobs["attempts"]),
        ("jobs rescued (lease expired)", jobs["rescued"]),
        ("jobs discarded", len(jobs["discarded"])),
        ("LLM calls / failed", "%d / %d %s" % (llm["calls"], sum(llm["failed"].values()), llm["failed"])),
        ("website requests / hung", "%d / %d" % (web["site"], web["hung"])),
        ("leads", len(leads)),
        ("emails", len(mails)),
        ("stuck sends", len(stuck)),
        ("duplicates", dups),
        ("lost", lost),
        ("time (s)", "%.0f" % elapsed),
    ]
    print()
    for k, v in figures:
        print("  %-30s %s" % (k, v))
    print()
    print("chaos: %s" % ("PASS" if not problems else "FAIL (%d): %s" % (len(problems), "; ".join(problems))))
    return {"ok": not problems}


if __name__ == "__main__":
    sys.exit(main())
