-- The database stopped under a running server: sites answer from their
-- cache with the bytes last served, a click still redirects to the URL in
-- its token and the pixel still answers, every other route that needs the
-- database says 503 with Retry-After (never 404 or 500); once the database
-- is back the spooled events are recorded, each exactly once. This test runs
-- its own embedded cluster so that stopping it disturbs nobody else.
local T = {}

local tracking = require "lib.tracking"
local spool = require "lib.tracking_spool"
local site_cache = require "lib.site_cache"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local function read(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

local function seed_campaign()
    local slug = "outage-" .. wm.crypto.random_token(6):lower()
    local b = one("INSERT INTO businesses (name, slug, contact_status) VALUES ('Acme', $1, 'emailed') RETURNING id", slug)
    return one([[INSERT INTO campaigns (business_id, subject_line, email_body, recipient_email, status, sent_at)
        VALUES ($1, 'Your site', 'Hello', $2, 'sent', now()) RETURNING id, business_id]], b.id, slug .. "@example.com")
end

-- The route files, as wm serve loads them (the tracking routes give the
-- spool its applier).
local function load_routes()
    local router = require "wm.router"
    router.configure { dirs = { (wm.root or ".") .. "/scripts/web" } }
    assert(router.rebuild())
end

-- A spool file as the click route writes it.
local function spool_file(ev)
    assert(wm.fs.mkdir_p(spool.dir()))
    local path = ("%s/%017.6f-%s.json"):format(spool.dir(), wm.now(), ev.key)
    local f = assert(io.open(path, "wb"))
    f:write(wm.json.encode(ev))
    f:close()
    return path
end

function T.replay_after_a_crash_counts_once(t)
    assert(require("wm.migrate").up())
    wm.config.paths.var = t.tmpdir()
    load_routes()
    local c = seed_campaign()
    local ev = { key = spool.key(), kind = "click", campaign_id = c.id, url = "https://acme.example/",
                 remote_addr = "192.0.2.7", user_agent = "test", at = wm.now() - 3600 }
    local path = spool_file(ev)
    local data = read(path)
    local applied, left = spool.replay()
    t.eq(applied, 1)
    t.eq(left, 0)
    t.eq(read(path), nil, "the file is deleted once recorded")
    -- The host died after the commit, before the delete: the file is still there.
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    spool.replay()
    -- And two processes replay one folder at the same time.
    spool_file(ev)
    spool_file(ev)
    local a = wm.spawn(spool.replay)
    local b = wm.spawn(spool.replay)
    a:wait(20)
    b:wait(20)
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1 AND kind = 'click'", c.id), 1)
    local row = one([[SELECT clicked_count, status, extract(epoch FROM now() - clicked_at::timestamptz)::int AS age
        FROM campaigns WHERE id = $1]], c.id)
    t.eq(row.clicked_count, 1, "counted once")
    t.eq(row.status, "clicked")
    t.ok(row.age >= 3500, "counted at the time of the click, not of the replay")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", c.business_id).contact_status, "clicked")
    t.eq(#(wm.fs.list_dir(spool.dir()) or {}), 0, "nothing left")
    -- An event the database refuses is set aside, not retried for ever.
    local bad = spool_file { key = spool.key(), kind = "click", campaign_id = "not-a-uuid", url = "https://x.example/" }
    spool.replay()
    t.eq(read(bad), nil)
    t.ok(read(bad .. ".bad"), "kept for a person to look at")
end

-- A host that stopped while the database was down left a click behind: the
-- next process replays it as soon as the tracking routes load.
function T.leftover_spool_is_replayed_when_routes_load(t)
    assert(require("wm.migrate").up())
    wm.config.paths.var = t.tmpdir()
    local c = seed_campaign()
    spool_file { key = spool.key(), kind = "click", campaign_id = c.id, url = "https://acme.example/",
                 at = wm.now() - 60 }
    -- A fresh process: the spool module loads anew with the routes.
    package.loaded["lib.tracking_spool"] = nil
    t.defer(function() package.loaded["lib.tracking_spool"] = spool end)
    load_routes()
    t.wait_for("the click to be recorded", function()
        return one("SELECT clicked_count FROM campaigns WHERE id = $1", c.id).clicked_count == 1
    end, 10)
    t.wait_for("the file to go", function() return #(wm.fs.list_dir(spool.dir()) or {}) == 0 end, 5)
end

local function request(base, path, host, opts)
    opts = opts or {}
    local headers = opts.headers or {}
    headers.Host = host
    return assert(wm.http.request { method = opts.method or "GET", url = base .. path, headers = headers,
                                    body = opts.body, timeout = 15 })
end

local function is_503(t, res, what)
    t.eq(res.status, 503, what)
    t.eq(res.headers["retry-after"], "5", what .. ": Retry-After")
end

function T.stopped_database_sites_clicks_and_503s(t)
    local embed = require "wm.pgembed"
    local var = t.tmpdir()
    local saved = { var = wm.config.paths.var, url = wm.config.database.url, backoff = wm.config.database.backoff_max }
    wm.config.paths.var = var
    wm.config.database.url = ""
    wm.config.database.backoff_max = 0.2
    -- Each site request asks the database, as this test checks the answer
    -- of every one (sites.lua may otherwise answer from memory for
    -- sites.serve_max_age; tests/lua/test_site_serving.lua covers that).
    t.config("sites", { serve_max_age = 0 })
    wm.db.close()
    -- Same process, so the embedded-cluster module must forget any earlier location.
    package.loaded["wm.pgembed"] = nil
    embed = require "wm.pgembed"
    t.defer(function()
        wm.db.close()
        embed.destroy()
        package.loaded["wm.pgembed"] = nil
        wm.config.paths.var, wm.config.database.url, wm.config.database.backoff_max = saved.var, saved.url, saved.backoff
    end)
    assert(embed.start())
    assert(require("wm.migrate").up())
    tracking.reset_key()
    site_cache.reset()

    local c = seed_campaign()
    local function site(sub, html, status)
        return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
            VALUES ($1, $2, $3, $4, $5) RETURNING id]], c.business_id, sub, html, status, "claim-" .. sub)
    end
    local a = site("acme-a", "<!DOCTYPE html><title>A</title><p>first</p>", "preview")
    site("acme-b", "<!DOCTYPE html><title>B</title><p>soon archived</p>", "live")

    -- A route of another kind that needs the database, to see the generic path.
    local routes = t.tmpdir()
    local f = assert(io.open(routes .. "/probe.lua", "wb"))
    f:write([[wm.route("GET", "/test/db", function() return "v=" .. assert(wm.db.query("SELECT 1 AS v"))[1].v end, { role = "public" })]])
    f:close()
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0", dirs = { routes } })
    t.defer(function() http_server.stop(0) end)
    local _, port = srv:address()
    local base = "http://127.0.0.1:" .. port
    local here = "127.0.0.1"

    -- Database up: it is the truth, and the cache follows it.
    t.eq(request(base, "/", "acme-a.localhost").body, "<!DOCTYPE html><title>A</title><p>first</p>")
    local v2 = "<!DOCTYPE html><title>A</title><p>second, after an edit</p>"
    assert(wm.db.query("UPDATE generated_sites SET html_content = $2 WHERE id = $1", a.id, v2))
    local before = request(base, "/", "acme-a.localhost")
    t.eq(before.body, v2, "a changed site is served from the database")
    t.eq(before.headers["x-robots-tag"], "noindex")
    t.eq(request(base, "/", "acme-b.localhost").status, 200)
    assert(wm.db.query("UPDATE generated_sites SET status = 'archived' WHERE subdomain = 'acme-b'"))
    local gone = request(base, "/", "acme-b.localhost")
    t.eq(gone.status, 404, "an archived site is gone while the database says so")
    t.eq(read(var .. "/sites/acme-b.html"), nil, "and so is its cached copy")
    t.eq(request(base, "/test/db", here).body, "v=1")
    local url = "https://acme-a.example.com/?from=email"
    local click = tracking.click_token(c.id, url)
    t.eq(request(base, "/t/c/" .. click, here).status, 302)
    t.eq(one("SELECT clicked_count FROM campaigns WHERE id = $1", c.id).clicked_count, 1)

    -- Database down.
    assert(embed.stop())
    t.wait_for("queries to fail", function() return wm.db.query("SELECT 1") == nil end)

    local res = request(base, "/", "acme-a.localhost")
    t.eq(res.status, 200)
    t.eq(res.body, before.body, "the same bytes as before the outage")
    t.eq(res.headers.etag, before.headers.etag)
    t.eq(res.headers["content-security-policy"], before.headers["content-security-policy"])
    t.eq(res.headers["x-robots-tag"], "noindex", "still a preview")
    t.eq(request(base, "/", "acme-a.localhost", { headers = { ["If-None-Match"] = before.headers.etag } }).status, 304)
    site_cache.reset()          -- as after a restart of the host: from disk
    t.eq(request(base, "/index.html", "acme-a.localhost").body, before.body)
    t.eq(request(base, "/nope", "acme-a.localhost").status, 404, "a page the site does not have")
    is_503(t, request(base, "/claim/claim-acme-a", "acme-a.localhost"), "the claim page")
    is_503(t, request(base, "/", "acme-b.localhost"), "the archived site is not brought back")
    is_503(t, request(base, "/", "never-seen.localhost"), "an unknown site is not a 404 while we cannot know")

    res = request(base, "/t/c/" .. click, here)
    t.eq(res.status, 302, "a click still redirects")
    t.eq(res.headers.location, url)
    -- One character of the signature changed (never into itself; the last
    -- ones of base64url may only carry padding bits).
    local n = #click - 8
    res = request(base, "/t/c/" .. click:sub(1, n - 1) .. (click:sub(n, n) == "x" and "y" or "x") .. click:sub(n + 1), here)
    t.eq(res.status, 400, "a bad signature is still a 400")
    res = request(base, "/t/o/" .. tracking.open_token(c.id) .. ".gif", here)
    t.eq(res.status, 200, "the pixel still answers")
    t.eq(res.headers["content-type"], "image/gif")
    t.eq(#res.body, 43)
    local spooled = wm.fs.list_dir(spool.dir()) or {}
    t.eq(#spooled, 2, "the click and the open wait on disk")

    -- Unsubscribing works: the page (without the address, which only the
    -- database knows), and the one-click POST, kept with the click and open.
    local u = "/u/" .. tracking.unsubscribe_token(c.id)
    res = request(base, u, here)
    t.eq(res.status, 200, "the unsubscribe page")
    t.match(res.body, "Stop all email from us to this address%?")
    t.ok(res.body:find('action="' .. u .. '"', 1, true), "the button posts to the same link")
    local asked_at = wm.now()
    res = request(base, u, here, { method = "POST", body = "List-Unsubscribe=One-Click" })
    t.eq(res.status, 200, "unsubscribed")
    t.match(res.body, "You are unsubscribed")
    t.eq(#(wm.fs.list_dir(spool.dir()) or {}), 3, "the unsubscribe waits on disk")
    is_503(t, request(base, "/test/db", here), "a route that raised on the database")
    -- /healthz trusts a ping up to a few seconds old.
    t.wait_for("/healthz to say 503", function() return request(base, "/healthz", here).status == 503 end, 15)

    -- Database back: the events are recorded by the replayer, once.
    assert(embed.start())
    t.wait_for("the spool to drain", function()
        return #(wm.fs.list_dir(spool.dir()) or {}) == 0
    end, 40)
    local row = one("SELECT clicked_count, opened_count FROM campaigns WHERE id = $1", c.id)
    t.eq(row.clicked_count, 2, "the click during the outage counted once")
    t.eq(row.opened_count, 1)
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1 AND kind = 'click'", c.id), 2)
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1 AND kind = 'open'", c.id), 1)
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE url = $1 AND remote_addr IS NOT NULL", url), 2)
    t.eq(spool.replay(), 0, "a further pass finds nothing to record")
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1", c.id), 4)
    -- The unsubscribe: suppressed, at the time it was asked, as one-click.
    local un = one([[SELECT extract(epoch FROM unsubscribed_at)::float8 AS at, lower(recipient_email) AS email
        FROM campaigns WHERE id = $1]], c.id)
    t.ok(un.at ~= wm.null and math.abs(un.at - asked_at) < 5, "unsubscribed when it was asked")
    t.eq(one("SELECT details->>'one_click' AS v FROM suppression_list WHERE email = $1", un.email).v, "true")
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1 AND kind = 'unsubscribe'",
        c.id), 1)
    -- And the database is the truth again.
    assert(wm.db.query("UPDATE generated_sites SET status = 'archived' WHERE id = $1", a.id))
    t.eq(request(base, "/", "acme-a.localhost").status, 404)
end

-- A wm serve (re)started while its database is down still serves the sites
-- it has cached, answers 503 elsewhere, and starts the loop when the
-- database answers again.
function T.serve_starts_during_an_outage(t)
    local var = t.tmpdir()
    local wmbin = os.getenv("WM_TEST_WM")
    local env = { WM_PATHS_VAR = var, WM_DATABASE_URL = "", WM_AUTOPILOT_ENABLED = "false" }
    local function wmcli(...)
        return assert(wm.exec { argv = { wmbin, ... }, env = env, timeout = 60 })
    end
    t.eq(wmcli("db", "start").code, 0)
    t.defer(function() wmcli("db", "destroy", "--yes") end)
    local url = wmcli("db", "url").stdout:gsub("%s+$", "")
    env.WM_DATABASE_URL = url
    t.eq(wmcli("migrate").code, 0)
    local port = 20000 + (wm.sys.getpid() * 13) % 20000
    local base = "http://127.0.0.1:" .. port
    local log = var .. "/serve.log"
    local function serve()
        local task = wm.spawn(function()
            return wm.exec { argv = { "sh", "-c", "exec " .. wmbin .. " serve --quiet --listen 127.0.0.1:" .. port
                                      .. " 2>>" .. log }, env = env, timeout = 120 }
        end)
        t.wait_for("the server to listen", function()
            local r = wm.http.request { url = base .. "/static/wm.css", timeout = 2 }
            return r ~= nil
        end, 30)
        return task
    end
    local function stop(task)
        wm.exec { argv = { "sh", "-c", "pkill -TERM -f 'listen 127.0.0.1:" .. port .. "'" } }
        local ok, res = task:wait(30)
        return ok and res
    end
    -- A site, served once so that its bytes are cached under var/.
    local html = "<!DOCTYPE html><title>Cached</title><p>cached bytes</p>"
    assert(wm.exec { argv = { "psql", "-X", "-q", "-d", url, "-c", ([[
        INSERT INTO businesses (name, slug) VALUES ('Cache Co', 'cache-co');
        INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        SELECT id, 'cache-co', '%s', 'preview', 'claim-cache-co' FROM businesses WHERE slug = 'cache-co';]]):format(html) },
        timeout = 30 })
    local server = serve()
    local first = request(base, "/", "cache-co.localhost")
    t.eq(first.body, html)
    local res = stop(server)
    t.eq(res and res.code, 0, "a clean stop")

    -- Down, then a (re)start of the server.
    t.eq(wmcli("db", "stop").code, 0)
    server = serve()
    t.defer(function() stop(server) end)
    res = request(base, "/", "cache-co.localhost")
    t.eq(res.status, 200, "the cached site answers from a server started during the outage")
    t.eq(res.body, html)
    is_503(t, request(base, "/", "other.localhost"), "an unknown site")
    t.match(read(log), "the database is not answering", "the operator is told")

    -- Back: the loop starts without a restart.
    t.eq(wmcli("db", "start").code, 0)
    t.wait_for("the loop to start", function()
        return (read(log) or ""):find("the database answers again", 1, true) ~= nil
    end, 40)
    t.wait_for("/healthz to say 200", function()
        return request(base, "/healthz", "127.0.0.1").status == 200
    end, 20)
end

return T
