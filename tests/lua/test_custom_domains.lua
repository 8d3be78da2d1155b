-- Custom domains end to end against a DNS server started by the test
-- (dnsmasq): a customer claims a domain in the portal and sees the records
-- to create; the verify_domain stage checks the TXT record (right, wrong,
-- missing), keeps checking with growing waits, fails after max_checks, and
-- on success the site answers on that Host and the TLS ask endpoint allows
-- it (and nothing else). Also: what the portal refuses, CSRF, another
-- customer's site, the CLI.
local dns = dofile(wm.root .. "/tests/fakes/dns.lua")
local web = dofile(wm.root .. "/tests/lib/web.lua")
local account = require "web.portal.account"
local custom_domains = require "domain.custom_domains"
local T = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local port

local function setup(t, records)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.site_cache").reset()
    port = web.serve(t)
    local server = records and dns(t, records) or ""
    t.config("domains", { dns_servers = server, dns_timeout = 0.5, dns_tries = 1, check_every = 60,
                          check_max_interval = 3600, max_checks = 3, cname_target = "sites.webmagic.test",
                          a_address = "203.0.113.10" })
end

local n = 0
-- A live site bought by a customer: {site_id, customer_id, cookie}.
local function customer(name)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'sold') RETURNING id]], "gmb-dom-" .. n, name, "o" .. n .. "@example.com")
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
        VALUES ($1, $2, $3, 'live') RETURNING id]], b.id, "dom-" .. n,
        "<!DOCTYPE html><html><head><title>Site " .. n .. "</title></head><body><h1>Welcome to site " .. n
        .. "</h1></body></html>")
    local c = one("INSERT INTO customers (email, full_name) VALUES ($1, $2) RETURNING id", "c" .. n .. "@example.com", name)
    one([[INSERT INTO subscriptions (customer_id, site_id, recurrente_subscription_id, status, amount_cents)
        VALUES ($1, $2, $3, 'active', 80000) RETURNING id]], c.id, s.id, "su_dom" .. n)
    local sid = assert(account.store:start(c.id))
    local cookie = account.store:cookie(sid):match("^(wm_portal=[^;]*)")
    return { site_id = s.id, customer_id = c.id, cookie = cookie, n = n }
end

-- Claims `domain` for the customer's site through the portal: the
-- response of the POST and the claim row.
local function claim(who, domain)
    local page = web.request(port, "/portal/domain?site=" .. who.site_id, { cookie = who.cookie })
    assert(page.status == 200, "domain page: " .. page.status)
    local res = web.request(port, "/portal/domain", { cookie = who.cookie, origin = true,
        form = { csrf = web.csrf_of(page.body), site = who.site_id, domain = domain } })
    return res, wm.db.one("SELECT * FROM custom_domains WHERE site_id = $1 AND status <> 'removed'", who.site_id)
end

local stage = dofile(wm.root .. "/scripts/stages/verify_domain.lua")

local function check(id)
    return tostring(stage.run { payload = { id = id } })
end

local function host_get(host, path)
    return web.request(port, path or "/", { host = host })
end

local function ask(domain)
    return web.request(port, "/tls/ask?domain=" .. web.enc(domain)).status
end

function T.normalize_accepts_what_people_paste_and_refuses_the_rest(t)
    t.config("http", { sites_domain = "localhost" })
    t.config("sites", { base_url = "https://app.webmagic.test" })
    for input, want in pairs({ ["Shop.Example.COM"] = "shop.example.com", ["https://www.shop.com/about?x=1"] = "www.shop.com",
                               ["shop.com."] = "shop.com", ["  xn--caf-dma.com "] = "xn--caf-dma.com" }) do
        t.eq(custom_domains.normalize(input), want, input)
    end
    for _, bad in ipairs({ "", "shop", "café.com", "-shop.com", "shop-.com", "sh op.com", "shop.c0m", "1.2.3.4",
                           "a." .. string.rep("b", 64) .. ".com", "x.localhost", "app.webmagic.test",
                           "<script>.com", string.rep("a.", 130) .. "com" }) do
        local d, why = custom_domains.normalize(bad)
        t.eq(d, nil, bad)
        t.ok(type(why) == "string" and #why > 0, "says why for " .. bad)
    end
end

function T.a_claim_verified_by_its_txt_record_is_served_and_allowed_tls(t)
    -- The record is computed from the claim's token, so the DNS server
    -- starts after the claim: first without it.
    setup(t)
    local who = customer("Ana")
    local res, row = claim(who, "WWW.Shop-One.test")
    t.eq(res.status, 303)
    t.eq(row.domain, "www.shop-one.test")
    t.eq(row.status, "pending")
    local page = web.request(port, res.headers.location, { cookie = who.cookie })
    t.match(page.body, "_webmagic%.www%.shop%-one%.test")
    t.ok(page.body:find("webmagic-verify=" .. row.token, 1, true), "the token to publish")
    t.match(page.body, "sites%.webmagic%.test", "the CNAME target")
    t.match(page.body, "203%.0%.113%.10", "the A address")
    t.eq(one("SELECT count(*)::int AS n FROM jobs WHERE kind = 'verify_domain'").n, 1, "a check is queued")

    local server = dns(t, { txt = { ["_webmagic.www.shop-one.test"] = "webmagic-verify=" .. row.token },
                            a = { ["origin.webmagic.test"] = "127.0.0.1" },
                            cname = { ["www.shop-one.test"] = "origin.webmagic.test" } })
    t.config("domains", { dns_servers = server })
    -- Before verification: not served on that host, no certificate.
    t.eq(host_get("www.shop-one.test").status, 404)
    t.eq(ask("www.shop-one.test"), 404)

    t.match(check(row.id), "^outcome%.done")
    row = one("SELECT * FROM custom_domains WHERE id = $1", row.id)
    t.eq(row.status, "verified")
    t.eq(row.checks, 1)
    t.match(row.points_to, "127%.0%.0%.1 %(through origin%.webmagic%.test%)")
    t.eq(one("SELECT custom_domain FROM generated_sites WHERE id = $1", who.site_id).custom_domain, "www.shop-one.test")
    t.eq(one("SELECT count(*)::int AS n FROM activity_log WHERE action = 'domain.verified'").n, 1)

    -- (A "no such site" answer for the host may be remembered for
    -- sites.serve_max_age; the change notification usually ends it sooner.)
    local site = t.wait_for("the site on its new host", function()
        local r = host_get("www.shop-one.test")
        return r.status == 200 and r
    end, 5)
    t.match(site.body, "Welcome to site " .. who.n)
    t.eq(ask("www.shop-one.test"), 200)
    t.eq(ask("WWW.SHOP-ONE.TEST."), 200, "case and the trailing dot do not matter")
    t.eq(ask("dom-" .. who.n .. ".localhost"), 200, "the site's own subdomain")
    t.eq(ask("evil.test"), 404)
    t.eq(ask("nosuch.localhost"), 404)
    t.eq(web.request(port, "/tls/ask").status, 400)
    page = web.request(port, "/portal/domain?site=" .. who.site_id, { cookie = who.cookie })
    t.match(page.body, "Connected")

    -- Removing it ends both.
    page = web.request(port, "/portal/domain?site=" .. who.site_id, { cookie = who.cookie })
    res = web.request(port, "/portal/domain/remove", { cookie = who.cookie, origin = true,
        form = { csrf = web.csrf_of(page.body), site = who.site_id } })
    t.eq(res.status, 303)
    t.eq(ask("www.shop-one.test"), 404)
    t.wait_for("the cached host to be forgotten", function()
        return host_get("www.shop-one.test").status == 404
    end, 5)
end

function T.wrong_or_missing_records_keep_it_pending_then_failed(t)
    setup(t)
    local a, b = customer("Bo"), customer("Cy")
    local _, wrong = claim(a, "wrong.test")
    local _, missing = claim(b, "missing.test")
    local server = dns(t, { txt = { ["_webmagic.wrong.test"] = "webmagic-verify=not-the-token" },
                            a = { ["wrong.test"] = "198.51.100.7" } })
    t.config("domains", { dns_servers = server })

    local o = check(wrong.id)
    t.match(o, "^outcome%.snooze")
    local row = one("SELECT * FROM custom_domains WHERE id = $1", wrong.id)
    t.eq(row.status, "pending")
    t.ok(row.last_result:find("does not hold webmagic-verify=" .. row.token, 1, true), row.last_result)
    t.match(row.last_result, "not%-the%-token")
    t.eq(row.points_to, "198.51.100.7")
    t.eq(one("SELECT custom_domain FROM generated_sites WHERE id = $1", a.site_id).custom_domain, wm.null)

    check(missing.id)
    row = one("SELECT * FROM custom_domains WHERE id = $1", missing.id)
    t.match(row.last_result, "No TXT record at _webmagic%.missing%.test yet %(no such domain%)")
    local page = web.request(port, "/portal/domain?site=" .. b.site_id, { cookie = b.cookie })
    t.match(page.body, "No TXT record at _webmagic%.missing%.test yet")

    -- Waits double: 60, 120, ... up to the cap.
    t.eq(custom_domains.next_check_in(1), 60)
    t.eq(custom_domains.next_check_in(2), 120)
    t.eq(custom_domains.next_check_in(20), 3600)

    -- max_checks = 3: the third finding fails it, in words, with an activity row.
    check(missing.id)
    t.match(check(missing.id), "^outcome%.done")
    row = one("SELECT * FROM custom_domains WHERE id = $1", missing.id)
    t.eq(row.status, "failed")
    t.eq(row.checks, 3)
    t.eq(one("SELECT count(*)::int AS n FROM activity_log WHERE action = 'domain.failed'").n, 1)
    page = web.request(port, "/portal/domain?site=" .. b.site_id, { cookie = b.cookie })
    t.match(page.body, "Not found after many checks")
    -- "Check now" starts over.
    local res = web.request(port, "/portal/domain/check", { cookie = b.cookie, origin = true,
        form = { csrf = web.csrf_of(page.body), site = b.site_id } })
    t.eq(res.status, 303)
    row = one("SELECT * FROM custom_domains WHERE id = $1", missing.id)
    t.eq(row.status, "pending")
    t.eq(row.checks, 0)
end

function T.the_portal_refuses_bad_domains_others_sites_and_forged_forms(t)
    setup(t)
    local a, b = customer("Di"), customer("Ed")
    local page = web.request(port, "/portal/domain?site=" .. a.site_id, { cookie = a.cookie })
    t.eq(page.status, 200)
    t.match(page.body, "Connect a domain")
    local csrf = web.csrf_of(page.body)
    -- Hostile input is refused and shown back escaped.
    local res = web.request(port, "/portal/domain", { cookie = a.cookie, origin = true,
        form = { csrf = csrf, site = a.site_id, domain = "<img src=x onerror=alert(1)>" } })
    t.eq(res.status, 422)
    t.no_match(res.body, "<img src=x")
    t.match(res.body, "&lt;img src=x onerror=alert%(1%)&gt;")
    t.match(res.body, "not a domain name")
    -- Another customer's site: 404 for the page and the form.
    t.eq(web.request(port, "/portal/domain?site=" .. b.site_id, { cookie = a.cookie }).status, 404)
    res = web.request(port, "/portal/domain", { cookie = a.cookie, origin = true,
        form = { csrf = csrf, site = b.site_id, domain = "steal.test" } })
    t.eq(res.status, 404)
    -- No or a wrong CSRF token: 403, nothing stored.
    res = web.request(port, "/portal/domain", { cookie = a.cookie, origin = true,
        form = { csrf = "forged", site = a.site_id, domain = "ok.test" } })
    t.eq(res.status, 403)
    -- Not signed in: back to the portal.
    t.eq(web.request(port, "/portal/domain?site=" .. a.site_id).status, 303)
    t.eq(one("SELECT count(*)::int AS n FROM custom_domains").n, 0)
    -- A domain claimed by one site cannot be claimed by another.
    t.eq(claim(a, "taken.test").status, 303)
    res = claim(b, "taken.test")
    t.eq(res.status, 422)
    t.match(res.body, "already claimed")
end

function T.tls_ask_answers_only_loopback(t)
    setup(t)
    local ask_route = require("wm.router").match("GET", "/tls/ask")
    t.ok(ask_route, "the route is registered")
    local res = ask_route.handler { method = "GET", path = "/tls/ask", query = { domain = "x.test" },
                                    headers = {}, remote_addr = "198.51.100.9" }
    t.eq(res.status, 403)
end

function T.cli_adds_lists_checks_and_removes(t)
    setup(t)
    local who = customer("Flo")
    local wm_bin = os.getenv("WM_TEST_WM")
    if not wm_bin then
        t.skip("WM_TEST_WM is not set")
    end
    local function wm_cli(...)
        return assert(wm.exec { argv = { wm_bin, "domains", ... }, timeout = 30,
                                env = { WM_DOMAINS_CNAME_TARGET = "sites.webmagic.test" } })
    end
    local r = wm_cli("add", who.site_id, "Cli.Example.test")
    t.eq(r.code, 0, r.stderr)
    t.match(r.stdout, "TXT%s+_webmagic%.cli%.example%.test%s+\"webmagic%-verify=")
    t.match(r.stdout, "CNAME%s+cli%.example%.test%s+sites%.webmagic%.test")
    r = wm_cli("ls")
    t.match(r.stdout, "cli%.example%.test%s+pending")
    r = wm_cli("add", who.site_id, "not a domain")
    t.eq(r.code, 1)
    t.match(r.stderr, "not a domain name")
    local id = one("SELECT id FROM custom_domains WHERE domain = 'cli.example.test'").id
    r = wm_cli("rm", id)
    t.eq(r.code, 0, r.stderr)
    t.eq(one("SELECT status FROM custom_domains WHERE id = $1", id).status, "removed")
    t.eq(wm_cli("rm", "nonsense").code, 2)
end

return T
