-- Website checks: the simulated one (providers/website/simulated.lua) and
-- the HTTP one (providers/website/http.lua) against fake sites on
-- 127.0.0.1 (tests/fakes/websites.py).
local simcheck = require "providers.website.simulated"
local sim = require "providers.leads.simulated"
local leads = require "lib.leads"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start_fake = dofile(here .. "/../fakes/start.lua")

local T = {}

local function row_of(place)
    return assert(leads.to_business(place, { city = "Austin", state = "TX", country = "US" }))
end

local function find_place(pred)
    for _, c in ipairs({ { "Austin", "TX", "plumber" }, { "Chicago", "IL", "hair salon" },
                         { "Boise", "ID", "bakery" } }) do
        for _, p in ipairs(assert(sim.search { city = c[1], state = c[2], industry = c[3], limit = 200 })) do
            if pred(p) then
                return p
            end
        end
    end
    error("no simulated place fits")
end

---------------------------------------------------------------------------
-- Simulated

function T.simulated_listed_site(t)
    local p = find_place(function(p) return leads.web_presence(p).site ~= nil end)
    local verdict, ev = simcheck.check(row_of(p), p)
    t.eq(verdict, "has_website")
    t.eq(ev.reason, "lead_site")
    t.eq(ev.found_url, leads.web_presence(p).site)
    t.eq(ev.candidates[1].source, "lead.site")
    t.eq(ev.candidates[1].result, "exists")
    t.ok(ev.candidates[1].attempts[1].status == 200 or ev.candidates[1].attempts[1].status == 403)
    t.eq(ev.fields[1].field, "site")
    t.eq(ev.fields[1].counts, true)
end

function T.simulated_hidden_site(t)
    local n = 0
    for _, c in ipairs({ { "Austin", "TX", "plumber" }, { "Chicago", "IL", "hair salon" } }) do
        for _, p in ipairs(assert(sim.search { city = c[1], state = c[2], industry = c[3], limit = 200 })) do
            if p._simulated_hidden_site then
                n = n + 1
                local verdict, ev = simcheck.check(row_of(p), p)
                t.eq(verdict, "has_website", p.name)
                if leads.web_presence(p).presence then
                    t.match(ev.reason, "^[a-z]+_link$", "a booking/order link settles it first")
                    goto next
                end
                t.eq(ev.reason, "found_by_check")
                local host = p._simulated_hidden_site:match("^https?://([^/]+)")
                t.match(ev.found_url, "^https://" .. host:gsub("%p", "%%%0") .. "/$")
                local json = wm.json.encode(ev)
                t.ok(not json:find("_simulated", 1, true), "the hidden field stays out of the evidence")
                local last = ev.candidates[#ev.candidates]
                t.ok(last.result == "exists" or last.result == "not_tried")
                for _, f in ipairs(ev.fields) do
                    t.ok(f.field ~= "site" or not f.counts, "the lead listed no website")
                end
            end
            ::next::
        end
    end
    t.ok(n >= 20, "hidden sites checked: " .. n)
end

function T.simulated_no_site(t)
    local p = find_place(function(p)
        return not p._simulated_hidden_site and leads.web_presence(p).presence == nil
            and p.site ~= wm.null                      -- a Facebook page in `site`
    end)
    local verdict, ev = simcheck.check(row_of(p), p)
    t.eq(verdict, "no_website")
    t.eq(ev.reason, "none_found")
    t.eq(ev.fields[1].kind, "social", "the Facebook page was looked at and did not count")
    t.ok(#ev.candidates >= 2, "guesses were tried")
    for _, c in ipairs(ev.candidates) do
        t.eq(c.result, "absent")
        t.eq(c.attempts[1].error, "dns")
        t.eq(c.source, "name_guess")
    end
    -- Deterministic.
    local v2, ev2 = simcheck.check(row_of(p), p)
    t.eq(v2, verdict)
    t.eq(wm.json.encode(ev2), wm.json.encode(ev))
end

function T.simulated_booking_link(t)
    local p = find_place(function(p)
        local wp = leads.web_presence(p)
        return wp.presence and wp.presence ~= "site"
    end)
    local verdict, ev = simcheck.check(row_of(p), p)
    t.eq(verdict, "has_website")
    t.match(ev.reason, "^[a-z]+_link$")
    t.eq(#ev.candidates, 0, "no probing needed")
end

function T.simulated_misuse(t)
    t.ok(not pcall(simcheck.check, nil, {}))
    t.ok(not pcall(simcheck.check, {}, "raw"))
    local v = simcheck.check({ name = "\229\177\177\231\148\176" }, wm.null)   -- nothing to guess from
    t.eq(v, "unknown")
end

---------------------------------------------------------------------------
-- HTTP, against tests/fakes/websites.py

local base

local function need_http(t)
    if not wm.http then
        t.skip("wm.http not available")
    end
    base = base or start_fake("websites.py", "30")
    return require "providers.website.http"
end

-- Maps every candidate URL to a fake behaviour by host ("*" for the rest):
-- "/status/403", "/redirect/301?to=URL", "/sleep/3", "/parked",
-- "/headmiss", "refused".
local function rewriter(map, seen)
    return function(url)
        local host = url:match("^https?://([^/:]+)")
        if seen then
            seen[#seen + 1] = url
        end
        local b = map[host] or map["*"] or "/status/404"
        if b == "refused" then
            return "http://127.0.0.1:1/"
        end
        local path, query = b:match("^([^?]*)(.*)$")
        return base .. path .. "/" .. host .. query
    end
end

local BIZ = { name = "Rivera & Sons Plumbing", city = "Austin" }
local RAW = { name = "Rivera & Sons Plumbing", site = wm.null, city = "Austin" }

local function opts(map, extra)
    local o = { rewrite = rewriter(map, extra and extra.seen), canary_url = base .. "/ok", timeout = 2,
                deadline = 20 }
    for k, v in pairs(extra or {}) do
        if k ~= "seen" then
            o[k] = v
        end
    end
    return o
end

function T.http_candidates(t)
    local cands = leads.website_candidates(BIZ, RAW, 5)
    local urls = {}
    for _, c in ipairs(cands) do
        urls[#urls + 1] = c.url
    end
    t.eq(urls, { "https://riverasonsplumbing.com/", "https://riverasonsplumbing.net/",
                 "https://riverasonsplumbingaustin.com/", "https://riveraandsonsplumbing.com/",
                 "https://rivera-sons-plumbing.com/" })
    local c2 = leads.website_candidates({ name = "X", email = "ana@riverasons.co" },
                                        { site = "www.rivera.example", name = "X" }, 3)
    t.eq(c2[1].url, "http://www.rivera.example/")
    t.eq(c2[1].source, "lead.site")
    t.eq(c2[2].url, "https://riverasons.co/")
    t.eq(c2[2].source, "email_domain")
    local c3 = leads.website_candidates({ name = "Y", email = "y@gmail.com" }, {}, 5)
    for _, c in ipairs(c3) do
        t.ne(c.source, "email_domain", "a mail provider's domain is not the business's")
    end
    t.eq(#leads.website_candidates({ name = "\229\177\177\231\148\176" }, {}, 5), 0, "nothing to guess from")
    for _, c in ipairs(leads.website_candidates({ name = "<script>\226\128\174Evil \"Co\" \240\159\148\167" }, {}, 5)) do
        t.match(c.host, "^[a-z0-9.-]+$", "only ASCII letters and digits reach a guess")
    end
end

function T.http_403_means_exists(t)
    local http = need_http(t)
    local verdict, ev = http.check(BIZ, RAW, opts({ ["riverasonsplumbing.net"] = "/status/403" }))
    t.eq(verdict, "has_website", wm.json.encode(ev))
    t.eq(ev.reason, "found_by_check")
    t.eq(ev.found_url, "https://riverasonsplumbing.net/")
    t.eq(ev.candidates[1].result, "absent")
    t.eq(ev.candidates[2].result, "exists")
    t.eq(ev.candidates[2].note, "protected (403)")
    t.eq(ev.candidates[2].attempts[1].status, 403)
    t.eq(ev.candidates[3].result, "not_tried", "the check stops at the first that exists")
    for _, code in ipairs({ "401", "429", "200", "500", "204" }) do
        local v = http.check(BIZ, RAW, opts({ ["riverasonsplumbing.com"] = "/status/" .. code }))
        t.eq(v, "has_website", code)
    end
end

function T.http_404_everywhere_means_none(t)
    local http = need_http(t)
    local verdict, ev = http.check(BIZ, RAW, opts({ ["*"] = "/status/404" }))
    t.eq(verdict, "no_website", wm.json.encode(ev))
    t.eq(ev.reason, "none_found")
    t.eq(#ev.candidates, 5)
    for _, c in ipairs(ev.candidates) do
        t.eq(c.result, "absent")
        t.eq(c.attempts[1].method, "HEAD")
        t.eq(c.attempts[1].status, 404)
        t.eq(c.attempts[2].method, "GET", "a HEAD 404 is confirmed by a GET")
        t.eq(c.attempts[2].status, 404)
    end
    t.eq(ev.canary, nil, "404s prove the network works: no canary needed")
    t.eq(ev.method, "http")
end

function T.http_connection_refused_means_none_with_evidence(t)
    local http = need_http(t)
    local verdict, ev = http.check(BIZ, RAW, opts({ ["*"] = "refused" }, { max_candidates = 2 }))
    t.eq(verdict, "no_website", wm.json.encode(ev))
    t.eq(#ev.candidates, 2)
    for _, c in ipairs(ev.candidates) do
        t.eq(c.result, "absent")
        t.eq(c.note, "connection refused")
        t.eq(c.attempts[1].error, "connect")
        t.eq(c.attempts[2].url:sub(1, 7), "http://", "https refused: http tried too")
    end
    t.eq(ev.canary.status, 204, "the canary answered, so refusals are believed")
    -- With the network itself in doubt (the canary fails too), no verdict.
    local v2, ev2 = http.check(BIZ, RAW, opts({ ["*"] = "refused" },
                                              { max_candidates = 2, canary_url = "http://127.0.0.1:1/" }))
    t.eq(v2, "unknown")
    t.eq(ev2.reason, "network_unverified")
    t.eq(ev2.canary.error, "connect")
end

function T.http_timeout_means_unknown(t)
    local http = need_http(t)
    local t0 = wm.monotonic()
    local verdict, ev = http.check(BIZ, RAW, opts({ ["*"] = "/sleep/3" }, { timeout = 0.3, max_candidates = 2 }))
    t.eq(verdict, "unknown", wm.json.encode(ev))
    t.eq(ev.reason, "inconclusive")
    t.eq(ev.candidates[1].result, "inconclusive")
    t.eq(ev.candidates[1].attempts[1].error, "timeout")
    t.eq(#ev.candidates[1].attempts, 1, "no second try inside one check")
    t.ok(wm.monotonic() - t0 < 2, "bounded by the timeout")
    -- A timeout beside 404s still means "could not tell".
    local v2 = http.check(BIZ, RAW, opts({ ["*"] = "/status/404", ["riverasonsplumbing.net"] = "/sleep/3" },
                                         { timeout = 0.3 }))
    t.eq(v2, "unknown")
    -- The whole check has a deadline.
    local t1 = wm.monotonic()
    local v3, ev3 = http.check(BIZ, RAW, opts({ ["*"] = "/sleep/3" }, { timeout = 5, deadline = 0.5 }))
    t.eq(v3, "unknown")
    t.ok(wm.monotonic() - t1 < 2, "deadline honoured")
    t.eq(ev3.candidates[#ev3.candidates].attempts[1].error, "deadline")
end

function T.http_redirects_parking_and_head(t)
    local http = need_http(t)
    -- 301 to www, then 200.
    local v, ev = http.check(BIZ, RAW, opts({
        ["riverasonsplumbing.com"] = "/redirect/301?to=https://www.riverasonsplumbing.com/",
        ["www.riverasonsplumbing.com"] = "/status/200",
    }))
    t.eq(v, "has_website")
    t.eq(ev.candidates[1].attempts[1].location, "https://www.riverasonsplumbing.com/")
    t.eq(ev.candidates[1].attempts[2].url, "https://www.riverasonsplumbing.com/")
    -- A redirect loop stops after max_redirects (the server answers: exists).
    local seen = {}
    local v2, ev2 = http.check(BIZ, RAW, opts({
        ["riverasonsplumbing.com"] = "/redirect/302?to=https://riverasonsplumbing.com/",
    }, { seen = seen, max_candidates = 1 }))
    t.eq(v2, "has_website")
    t.match(ev2.candidates[1].note, "^redirect limit")
    t.eq(#seen, 4, "the first request and 3 redirects")
    -- A redirect to a Facebook page is not a website.
    local v3, ev3 = http.check(BIZ, RAW, opts({
        ["riverasonsplumbing.com"] = "/redirect/301?to=https://www.facebook.com/riverasons",
    }, { max_candidates = 1 }))
    t.eq(v3, "no_website")
    t.eq(ev3.candidates[1].note, "social profile, not a website")
    -- A parked / for-sale page is not a website.
    local v4, ev4 = http.check(BIZ, RAW, opts({ ["riverasonsplumbing.com"] = "/parked" }, { max_candidates = 1 }))
    t.eq(v4, "no_website")
    t.eq(ev4.candidates[1].note, "parked domain")
    -- A server that answers HEAD with 404 but GET with 200 exists.
    local v5 = http.check(BIZ, RAW, opts({ ["riverasonsplumbing.com"] = "/headmiss" }, { max_candidates = 1 }))
    t.eq(v5, "has_website")
end

function T.http_listed_site_and_presence(t)
    local http = need_http(t)
    -- The lead lists a site: it counts, and its probe is recorded.
    local raw = { name = BIZ.name, site = "https://riverasons.example/" }
    local v, ev = http.check(BIZ, raw, opts({ ["riverasons.example"] = "refused" }))
    t.eq(v, "has_website")
    t.eq(ev.reason, "lead_site")
    t.eq(ev.listed_site_dead, true, "a dead listed site is flagged for review")
    t.eq(#ev.candidates, 1, "no guessing when the lead lists a site")
    -- With listed_site_counts off, the probes decide.
    local v2, ev2 = http.check(BIZ, raw, opts({ ["*"] = "/status/404" }, { listed_site_counts = false }))
    t.eq(v2, "no_website")
    t.eq(ev2.candidates[1].source, "lead.site")
    local v3 = http.check(BIZ, raw, opts({ ["riverasons.example"] = "/status/403" }, { listed_site_counts = false }))
    t.eq(v3, "has_website")
    -- A booking link is a presence: no request at all.
    local seen = {}
    local v4, ev4 = http.check(BIZ, { name = BIZ.name, booking_appointment_link = "https://www.vagaro.com/rivera" },
                               opts({ ["*"] = "/status/404" }, { seen = seen }))
    t.eq(v4, "has_website")
    t.eq(ev4.reason, "booking_link")
    t.eq(#seen, 0)
end

function T.http_refuses_private_addresses(t)
    local http = need_http(t)
    local raw = { name = "\229\177\177", site = base .. "/status/200" }   -- nothing to guess from the name
    local v, ev = http.check({ name = "\229\177\177" }, raw, { canary_url = "", listed_site_counts = false })
    t.eq(v, "unknown", wm.json.encode(ev))
    t.eq(ev.candidates[1].result, "blocked")
    t.eq(ev.candidates[1].attempts, wm.json.array({}), "no request made")
    local v2 = http.check({ name = "\229\177\177" }, raw, { canary_url = "", listed_site_counts = false,
                                                          allow_private = true })
    t.eq(v2, "has_website", "allowed when asked (tests)")
    for _, u in ipairs({ "http://10.0.0.5/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                         "http://localhost./", "http://192.168.1.1:8080/" }) do
        local p = leads.parse_url(u)
        t.ok(p == nil or leads.is_private_host(p) or (p.port and p.port ~= 80), u)
    end
end

function T.http_misuse(t)
    local http = require "providers.website.http"
    t.ok(not pcall(http.check, nil, {}))
    t.ok(not pcall(http.check, {}, 5))
    t.ok(not pcall(http.check, {}, {}, "opts"))
end

return T
