-- How a site is served (scripts/web/sites.lua, lib.site_cache, wm.codec):
-- compressed once per version and chosen by Accept-Encoding, each encoding
-- decoding to the very bytes of the page, with its own ETag and 304, Vary,
-- HEAD without a body; robots.txt, sitemap.xml and favicon.ico per status.
-- The requests go through python3's http.client, which sends exactly the
-- headers given and decodes nothing, and gzip is checked by python's own
-- decoder, so that wm's codec is not its own judge.
local T = {}

local site_cache = require "lib.site_cache"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

-- Requests [[method, path, headers], ...] in order; each reply as python
-- saw it: {status, headers (lower-case names), body (raw), gunzip (python's
-- decoding of a gzip body)}.
local CLIENT = [[
import base64, gzip, http.client, json, sys
port, reqs = int(sys.argv[1]), json.loads(sys.argv[2])
outs = []
for method, path, headers in reqs:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in headers:
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    out = {"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()},
           "body": base64.b64encode(body).decode()}
    if r.getheader("Content-Encoding") == "gzip":
        out["gunzip"] = base64.b64encode(gzip.decompress(body)).decode()
    outs.append(out)
    c.close()
print(json.dumps(outs))
]]

local function setup(t)
    assert(require("wm.migrate").up())
    wm.config.paths.var = t.tmpdir()
    site_cache.reset()
    t.defer(function() site_cache.reset() end)
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    t.defer(function() http_server.stop(0) end)
    local _, port = srv:address()
    -- The server's LISTEN wm_sites is up once a notification of our own
    -- gets back (changes() below relies on it).
    local seen = false
    assert(wm.db.listen("wm_sites", function(payload) seen = seen or payload == "probe" end))
    t.wait_for("LISTEN wm_sites", function()
        assert(wm.db.query("SELECT pg_notify('wm_sites', 'probe')"))
        return seen
    end, 10)
    -- request(host, path[, headers as {{name, value}, ...}[, method]]), or
    -- request{ {host, path, headers, method}, ... } -> replies in order (one
    -- python for them all).
    local function request(host, path, headers, method)
        local many = type(host) == "table"
        local reqs = {}
        for i, q in ipairs(many and host or { { host, path, headers, method } }) do
            local list = { { "Host", q[1] } }
            for _, h in ipairs(q[3] or {}) do
                list[#list + 1] = h
            end
            reqs[i] = { q[4] or "GET", q[2], list }
        end
        local r = assert(wm.exec { argv = { "python3", "-c", CLIENT, tostring(port), wm.json.encode(reqs) },
                                   timeout = 60 })
        t.eq(r.code, 0, "client: " .. tostring(r.stderr))
        local out = wm.json.decode(r.stdout)
        for _, res in ipairs(out) do
            res.body = wm.crypto.b64_decode(res.body)
            res.gunzip = res.gunzip and wm.crypto.b64_decode(res.gunzip)
        end
        return many and out or out[1]
    end
    return request, port
end

-- A real page (the renderer's), big enough that compression pays.
local function page(name)
    local html = assert(require("sites.render").render {
        business = { name = name, slug = "serving-test", phone = "(512) 555-0100", city = "Austin", state = "TX",
                     category = "plumber", rating = 4.7, review_count = 52 },
        content = {
            title = name .. " — Austin plumber", meta_description = "Plumbers in Austin, TX.",
            hero = { headline = "Leaks fixed today", subheadline = "Family owned since 1998" },
            sections = {
                { kind = "services", heading = "What we do", items = {
                    { title = "Repairs", text = "Leaks, clogs and broken pipes, fixed the same day." },
                    { title = "Water heaters", text = "Installed, serviced and replaced, tank or tankless." },
                    { title = "Drains", text = "Cleared with cameras and jetting, without digging." } } },
                { kind = "about", heading = "About us", text = "We have kept Austin's water running since 1998." },
            },
        },
        preview = { banner = true, claim_url = "/claim/x" },
    })
    return html
end

-- Runs sql in the database and waits until its wm_sites notification
-- (migration 023's trigger) reached this process, where the server forgets
-- the host: from then on its next request is the database's answer.
local function change(t, sql, ...)
    local got = wm.event()
    assert(wm.db.listen("wm_sites", function() got:set() end))
    assert(wm.db.query(sql, ...))
    t.ok(got:wait(5), "the change was notified")
    wm.sleep(0.05)       -- the server's own listener runs in a task of its own
end

local function seed(sub, html, status)
    local b = one("INSERT INTO businesses (name, slug) VALUES ('Serving Co', $1) RETURNING id", sub)
    return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, $3, $4, $5) RETURNING id]], b.id, sub, html, status, "claim-" .. sub)
end

-- Once Lua has answered a page, the server answers the same requests
-- (host in any case, with a port; the same Accept-Encoding; GET, HEAD, the
-- exact ETag) by itself until serve_max_age ends: the same bytes and
-- headers with a Date of its own, counted in /metrics as the route's. What
-- it cannot judge (a query, a list of tags) still goes to Lua, and a change
-- reaches the next request at once.
function T.a_page_is_answered_again_by_the_server_alone(t)
    local request, port = setup(t)
    t.config("sites", { serve_max_age = 3600 })
    local html = page("Kept Plumbing")
    local s = seed("serve-kept", html, "live")
    local host = "serve-kept.localhost"
    local httpd = require "wm.core.httpd"
    local function hits()
        local n = 0
        for _, h in ipairs(httpd.cache_hits()) do
            n = n + h.count
        end
        return n
    end
    local gz = { { "Accept-Encoding", "gzip" } }
    local first = request(host, "/", gz)
    t.eq(first.status, 200)
    local h0 = hits()
    local again = request {
        { host, "/", gz }, { host:upper() .. ":" .. port, "/", gz }, { host, "/", gz, "HEAD" },
        { host, "/", { { "Accept-Encoding", "gzip" }, { "If-None-Match", first.headers.etag } } },
    }
    t.eq(hits() - h0, 4, "all four answered by the server alone")
    for _, r in ipairs { again[1], again[2] } do
        t.eq(r.status, 200)
        t.eq(r.body, first.body)
        for _, k in ipairs { "content-type", "content-encoding", "etag", "vary", "content-security-policy",
                             "cache-control", "content-length", "x-content-type-options" } do
            t.eq(r.headers[k], first.headers[k], k)
        end
        t.ok(r.headers.date, "a Date of its own")
    end
    t.eq(again[3].status, 200)
    t.eq(again[3].body, "", "HEAD: no body")
    t.eq(again[3].headers["content-length"], first.headers["content-length"])
    t.eq(again[4].status, 304)
    t.eq(again[4].body, "")
    t.eq(again[4].headers.etag, first.headers.etag)
    t.eq(again[4].headers["content-encoding"], nil)

    local h1 = hits()
    local other = request {
        { host, "/?utm=x", gz },
        { host, "/", { { "Accept-Encoding", "gzip" }, { "If-None-Match", 'W/"old", ' .. first.headers.etag } } },
    }
    t.eq(hits(), h1, "a query and a list of tags go to Lua")
    t.eq(other[1].body, first.body)
    t.eq(other[2].status, 304)

    local metrics = request("127.0.0.1", "/metrics").body
    local counted = metrics:match('wm_http_requests_total{method="%*",route="host:%*%.localhost",status="200"} (%d+)')
    t.ok(tonumber(counted) and tonumber(counted) >= 5, "/metrics counts the kept answers: " .. tostring(counted))

    change(t, "UPDATE generated_sites SET html_content = $2 WHERE id = $1", s.id,
        (html:gsub("Kept Plumbing", "Changed Plumbing")))
    local after = request(host, "/", gz)
    t.ok(after.gunzip:find("Changed Plumbing", 1, true), "the change, at once")
    t.ok(after.headers.etag ~= first.headers.etag)
end

function T.encodings_decode_to_the_same_bytes_each_with_its_etag(t)
    local request = setup(t)
    local html = page("Serving Co")
    seed("serve-a", html, "preview")
    local host = "serve-a.localhost"

    local plain = request(host, "/")
    t.eq(plain.status, 200)
    t.eq(plain.body, html, "no Accept-Encoding: the page as stored")
    t.eq(plain.headers["content-encoding"], nil)
    t.eq(plain.headers.vary, "Accept-Encoding")
    t.eq(plain.headers["x-robots-tag"], "noindex", "a preview")

    local gz = request(host, "/", { { "Accept-Encoding", "gzip" } })
    t.eq(gz.headers["content-encoding"], "gzip")
    t.eq(gz.gunzip, html, "gzip decodes (by python) to the same bytes")
    t.ok(#gz.body < #html / 2, "and is smaller: " .. #gz.body .. " of " .. #html)
    t.eq(tonumber(gz.headers["content-length"]), #gz.body)
    t.eq(gz.headers.vary, "Accept-Encoding")

    local br = request(host, "/", { { "Accept-Encoding", "gzip, deflate, br" } })
    t.eq(br.headers["content-encoding"], "br", "equal weights: brotli first")
    t.eq(wm.codec.unbrotli(br.body), html, "brotli decodes to the same bytes")
    t.ok(#br.body < #gz.body, "brotli smaller than gzip")

    local tags = { plain.headers.etag, gz.headers.etag, br.headers.etag }
    for _, tag in ipairs(tags) do
        t.match(tag, '^"[%w-]+"$', "a strong ETag")
    end
    t.ok(tags[1] ~= tags[2] and tags[2] ~= tags[3] and tags[1] ~= tags[3], "one ETag per encoding")

    -- Each encoding the same bytes on every request (compressed once).
    t.eq(request(host, "/index.html", { { "Accept-Encoding", "br" } }).body, br.body)

    -- A new version: new bytes and new tags for every encoding.
    local html2 = html:gsub("Leaks fixed today", "Leaks fixed tonight")
    change(t, "UPDATE generated_sites SET html_content = $2 WHERE subdomain = $1", "serve-a", html2)
    local gz2 = request(host, "/", { { "Accept-Encoding", "gzip" } })
    t.eq(gz2.gunzip, html2, "a notified change is seen at once")
    t.ok(gz2.headers.etag ~= gz.headers.etag)
    t.eq(request(host, "/").body, html2)
end

function T.accept_encoding_qvalues_and_hostile_values(t)
    local request = setup(t)
    seed("serve-q", page("Q Co"), "preview")
    local cases = {
        { "br;q=0.5, gzip;q=0.8", "gzip" },
        { "gzip;q=0.2, br", "br" },
        { "GZIP", "gzip" },
        { "x-gzip", "gzip" },
        { "*", "br" },
        { "*;q=0, gzip", "gzip" },
        { "gzip;q=0, br;q=0", nil },
        { "identity;q=0, *;q=0", nil, "nothing acceptable: identity all the same" },
        { "gzip;q=0.001", "gzip" },
        { "deflate, compress", nil, "codings we do not have" },
        { "gzip;q=2", nil, "q above 1: the element is ignored" },
        { "br;q=1.0001, gzip;q=abc", nil, "malformed weights" },
        { "gzip;;q=1", nil },
        { ";;;,,, ,", nil },
        { (","):rep(3000) .. "gzip", "gzip", "empty elements are allowed" },
        { ("deflate, "):rep(40) .. "gzip", nil, "past the element limit" },
        { ("x"):rep(4000), nil },
        { "br\tq=1", nil, "not a parameter" },
        { "gzip ; q = 0.5 , br ; q = 0.4", "gzip", "spaces around the weight" },
    }
    local reqs = {}
    for i, c in ipairs(cases) do
        reqs[i] = { "serve-q.localhost", "/", { { "Accept-Encoding", c[1] } } }
    end
    local replies = request(reqs)
    for i, c in ipairs(cases) do
        local res = replies[i]
        local what = ("%q%s"):format(c[1]:sub(1, 40), c[3] and (": " .. c[3]) or "")
        t.eq(res.status, 200, what)
        t.eq(res.headers["content-encoding"], c[2], what)
        t.eq(res.headers.vary, "Accept-Encoding", what)
    end
end

function T.if_none_match_per_encoding_and_head(t)
    local request = setup(t)
    local html = page("Etag Co")
    seed("serve-e", html, "preview")
    local host = "serve-e.localhost"
    local GZ, BR = { "Accept-Encoding", "gzip" }, { "Accept-Encoding", "br" }
    local first = request { { host, "/", { GZ } }, { host, "/" } }
    local gz, plain = first[1], first[2]
    local tag = gz.headers.etag
    local r = request {
        { host, "/", { GZ, { "If-None-Match", tag } } },
        { host, "/", { BR, { "If-None-Match", tag } } },
        { host, "/", { { "If-None-Match", tag } } },
        { host, "/", { { "If-None-Match", plain.headers.etag } } },
        { host, "/", { GZ, { "If-None-Match", '"other", ' .. tag } } },
        { host, "/", { GZ, { "If-None-Match", "W/" .. tag } } },
        { host, "/", { GZ, { "If-None-Match", "*" } } },
        { host, "/", { GZ, { "If-None-Match", '"stale"' } } },
        { host, "/", { GZ }, "HEAD" },
        { host, "/", {}, "HEAD" },
    }
    local nm = r[1]
    t.eq(nm.status, 304, "the gzip tag, gzip asked")
    t.eq(nm.body, "")
    t.eq(nm.headers.etag, tag)
    t.eq(nm.headers.vary, "Accept-Encoding")
    t.eq(r[2].status, 200, "the gzip tag does not validate the brotli bytes")
    t.eq(r[3].status, 200, "nor the plain ones")
    t.eq(r[4].status, 304)
    t.eq(r[5].status, 304, "a list")
    t.eq(r[6].status, 304, "weak comparison")
    t.eq(r[7].status, 304)
    t.eq(r[8].status, 200)

    local head = r[9]
    t.eq(head.status, 200)
    t.eq(head.body, "", "HEAD: no body")
    t.eq(head.headers["content-encoding"], "gzip")
    t.eq(tonumber(head.headers["content-length"]), #gz.body, "the length GET would send")
    t.eq(head.headers.etag, gz.headers.etag)
    local head_plain = r[10]
    t.eq(tonumber(head_plain.headers["content-length"]), #html)
end

function T.robots_sitemap_and_favicon_per_status(t)
    local request = setup(t)
    local s = seed("serve-r", page("Robots Co"), "preview")
    local host = "serve-r.localhost"

    local robots = request(host, "/robots.txt")
    t.eq(robots.status, 200)
    t.eq(robots.headers["content-type"], "text/plain; charset=utf-8")
    t.eq(robots.body, "User-agent: *\nDisallow: /\n", "a preview is not crawled")
    t.eq(request(host, "/sitemap.xml").status, 404, "a preview has no sitemap")
    local icon = request(host, "/favicon.ico")
    t.eq(icon.status, 204, "the browser's automatic request is not a 404")
    t.eq(icon.body, "")
    t.eq(request(host, "/other.txt").status, 404)

    change(t, "UPDATE generated_sites SET status = 'live', updated_at = '2031-05-06 07:08:09' WHERE id = $1", s.id)
    local url = require("domain.sites").url("serve-r")
    robots = request(host, "/robots.txt")
    t.eq(robots.body, "User-agent: *\nAllow: /\n\nSitemap: " .. url .. "sitemap.xml\n")
    local map = request(host, "/sitemap.xml")
    t.eq(map.status, 200)
    t.eq(map.headers["content-type"], "application/xml; charset=utf-8")
    t.match(map.body, '^<%?xml version="1.0" encoding="UTF%-8"%?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    t.eq(select(2, map.body:gsub("<url>", "")), 1, "the one page")
    t.match(map.body, "<url><loc>" .. url:gsub("%p", "%%%0") .. "</loc><lastmod>2031%-05%-06</lastmod></url>")
    local live = request(host, "/")
    t.eq(live.headers["x-robots-tag"], nil, "a live site is indexed")
    t.eq(live.headers.vary, "Accept-Encoding")
end

function T.concurrent_requests_share_lookups_and_all_get_the_page(t)
    local _, port = setup(t)
    local html = page("Busy Co")
    seed("serve-c", html, "live")
    local tasks = {}
    for i = 1, 40 do
        tasks[i] = wm.spawn(function()
            return wm.http.request { url = "http://127.0.0.1:" .. port .. "/", timeout = 15,
                                     headers = { Host = "serve-c.localhost" } }
        end)
    end
    for i, task in ipairs(tasks) do
        local ok, res = task:wait(30)
        t.ok(ok and res, "request " .. i)
        t.eq(res.status, 200)
        t.eq(res.body, html, "request " .. i .. " got the page (decoded by libcurl)")
    end
    t.eq(site_cache.cached("sub", "serve-c"), true)
    t.ok(site_cache.get("sub", "serve-c").br, "compressed once and kept")
end

-- The hot path: a site answered from memory costs no query, and what the
-- database says still wins within sites.serve_max_age, even when its
-- notification is lost (simulated by changing the row with triggers off).
function T.served_from_memory_and_a_change_is_seen_within_max_age(t)
    local request, port = setup(t)
    t.config("sites", { serve_max_age = 1 })
    local html = page("Memory Co")
    local s = seed("serve-m", html, "live")
    local host = "serve-m.localhost"
    t.eq(request(host, "/").body, html)

    local function get()
        return assert(wm.http.request { url = "http://127.0.0.1:" .. port .. "/", timeout = 10,
                                        headers = { Host = host } })
    end
    local before = wm.db.stats().queries
    local started = wm.monotonic()
    for _ = 1, 200 do
        t.eq(get().body, html)
    end
    local queries, took = wm.db.stats().queries - before, wm.monotonic() - started
    -- One lookup per serve_max_age at most, where there was one per request
    -- (a live site's lookup is two queries: the row, then whether it is
    -- paused; the server's health check pings every 2 s).
    t.ok(queries <= 3 * (math.ceil(took) + 1), ("%d queries for 200 requests in %.2f s"):format(queries, took))

    -- A notification lost: the row changes with its triggers off
    -- (session_replication_role = replica), so only the age bound can show it.
    local html2 = html:gsub("Leaks fixed today", "Leaks fixed by noon")
    t.ok(html2 ~= html)
    local function silently(sql, ...)
        local args = { ... }
        assert(wm.db.tx(function(q)
            q:query("SET LOCAL session_replication_role = replica")
            assert(q:query(sql, unpack(args)))
        end))
    end
    t.eq(get().body, html)
    silently("UPDATE generated_sites SET html_content = $2 WHERE id = $1", s.id, html2)
    local changed = wm.monotonic()
    t.wait_for("the new page", function() return get().body == html2 end, 5)
    local lag = wm.monotonic() - changed
    t.ok(lag <= 1.5, ("seen after %.2f s (serve_max_age 1)"):format(lag))

    -- Archived the same way: gone within the bound, and its copy with it.
    silently("UPDATE generated_sites SET status = 'archived' WHERE id = $1", s.id)
    changed = wm.monotonic()
    t.wait_for("the 404", function() return get().status == 404 end, 5)
    t.ok(wm.monotonic() - changed <= 1.5)
    t.eq(site_cache.cached("sub", "serve-m"), false)
end

-- With a long serve_max_age only the notification can explain a change
-- being seen at once: an update, an archive and a new site each are.
function T.notified_changes_are_seen_at_once(t)
    local request = setup(t)
    t.config("sites", { serve_max_age = 3600 })
    local html = page("Notify Co")
    local s = seed("serve-n", html, "preview")
    local host = "serve-n.localhost"
    t.eq(request(host, "/").body, html)
    t.eq(request("serve-n2.localhost", "/").status, 404, "not there yet (remembered as such)")

    local html2 = html:gsub("Leaks fixed today", "Leaks fixed at dawn")
    change(t, "UPDATE generated_sites SET html_content = $2 WHERE id = $1", s.id, html2)
    t.eq(request(host, "/").body, html2)
    change(t, "UPDATE generated_sites SET status = 'live' WHERE id = $1", s.id)
    local live = request(host, "/")
    t.eq(live.headers["x-robots-tag"], nil, "live: indexed")
    change(t, "UPDATE generated_sites SET status = 'archived' WHERE id = $1", s.id)
    t.eq(request(host, "/").status, 404)

    local b = one("INSERT INTO businesses (name, slug) VALUES ('Notify Two', 'serve-n2') RETURNING id")
    change(t, [[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
        VALUES ($1, 'serve-n2', $2, 'preview')]], b.id, html)
    t.eq(request("serve-n2.localhost", "/").status, 200, "a new site is no longer a remembered 404")
end

-- A page answered from memory counts as used in lib.site_cache's LRU: the
-- busiest site is the last one its byte bound lets go, not the first (then
-- it would be compressed and written to disk again on its next lookup).
function T.a_site_served_from_memory_stays_in_the_lru(t)
    local request = setup(t)
    t.config("sites", { serve_max_age = 3600 })
    for _, sub in ipairs { "serve-lru-a", "serve-lru-b", "serve-lru-c" } do
        seed(sub, page("LRU " .. sub:sub(-1):upper() .. " Co"), "live")
    end
    -- A bound that holds two of the three pages.
    t.eq(request("serve-lru-a.localhost", "/").status, 200)
    t.eq(request("serve-lru-b.localhost", "/").status, 200)
    site_cache.reset(site_cache.stats().bytes + 100)
    t.eq(request("serve-lru-a.localhost", "/").status, 200)
    t.eq(request("serve-lru-b.localhost", "/").status, 200)
    t.eq(site_cache.stats().entries, 2)
    -- a is the busy one, answered from memory (no lookup) ...
    local before = site_cache.stats()
    for _ = 1, 3 do
        t.eq(request("serve-lru-a.localhost", "/").status, 200)
    end
    t.eq(site_cache.stats().bytes, before.bytes, "answered from memory: nothing put")
    -- ... so the next site pushes out b, the least recently served.
    t.eq(request("serve-lru-c.localhost", "/").status, 200)
    t.eq(site_cache.cached("sub", "serve-lru-a"), true, "the busy site stays")
    t.eq(site_cache.cached("sub", "serve-lru-b"), false)
    t.eq(site_cache.cached("sub", "serve-lru-c"), true)
end

function T.codec_round_trips_and_refuses_garbage(t)
    local text = ("The quick brown fox jumps over the lazy dog. "):rep(200)
    for _, s in ipairs { "", "a", text, wm.crypto.random_bytes(5000) } do
        t.eq(wm.codec.gunzip(assert(wm.codec.gzip(s))), s, "gzip " .. #s)
        t.eq(wm.codec.gunzip(assert(wm.codec.gzip(s, 1))), s, "gzip level 1")
        t.eq(wm.codec.unbrotli(assert(wm.codec.brotli(s))), s, "brotli " .. #s)
        t.eq(wm.codec.unbrotli(assert(wm.codec.brotli(s, 0))), s, "brotli quality 0")
    end
    -- Inside a task the encoders run on the thread pool; the same bytes.
    local task = wm.spawn(function() return wm.codec.gzip(text), wm.codec.brotli(text) end)
    local ok, gz, br = task:wait(10)
    t.ok(ok)
    t.eq(gz, assert(wm.codec.gzip(text)))
    t.eq(br, assert(wm.codec.brotli(text)))
    local gz1 = assert(wm.codec.gzip(text))
    local nothing, err = wm.codec.gunzip(gz1:sub(1, -5))
    t.eq(nothing, nil)
    t.match(err, "truncated")
    t.eq(wm.codec.gunzip("not gzip at all"), nil)
    t.eq(wm.codec.unbrotli("\255\255\255 not brotli"), nil)
    t.eq(wm.codec.gunzip(gz1 .. "xx"), nil, "trailing bytes")
    nothing, err = wm.codec.gunzip(gz1, 100)
    t.eq(nothing, nil)
    t.match(err, "over the limit")
    t.eq(wm.codec.unbrotli(assert(wm.codec.brotli(text)), 100), nil, "brotli limit")
    t.eq(wm.codec.gzip(text, 0), nil, "level out of range")
    t.eq(wm.codec.brotli(text, 12), nil, "quality out of range")
end

return T
