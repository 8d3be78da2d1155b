-- The HTTP website check: does this business already have a website?
--
--   check(business_row, raw_place[, opts]) -> verdict, evidence | nil, err
--
-- verdict:
--   "has_website"  the lead lists a website, a booking or an order link, or a
--                  candidate answered (2xx, 3xx, 401, 403, 429: protected
--                  still means it exists; any other answer but 404/410 too:
--                  a server is configured for that name)
--   "no_website"   every candidate was proven absent: NXDOMAIN, connection
--                  refused, 404/410, a parked or for-sale page, or a
--                  redirect to a social profile (a Facebook page is not a
--                  website); and, when an absence rested on DNS or connect
--                  errors, the canary URL answered (so a dead network never
--                  reads as "no website")
--   "unknown"      could not tell: a candidate timed out or failed oddly,
--                  the deadline ran out, the canary failed, or there was
--                  nothing to try. The caller retries a bounded number of
--                  times, then treats it as not qualified.
--
-- Candidates (lib/leads.website_candidates): the lead's site, the row's
-- website_url, the domain of its email, domains guessed from its name and
-- city; at most max_candidates. Each: HEAD, then GET when HEAD is refused
-- or says 404 (and to read a 200 page for parked-domain phrases);
-- redirects followed by hand up to max_redirects, each hop re-checked; an
-- NXDOMAIN on a guessed apex tries www.; a TLS failure tries http://. The
-- first candidate that exists ends the check. No retries: the stage decides.
--
-- A website listed in the lead's own fields counts even when it does not
-- answer (listed_site_counts, default true): such a lead is never built a
-- site. Its probe is still recorded, and a dead one is flagged
-- (evidence.listed_site_dead) for review.
--
-- evidence = {method="http", verdict=, reason=, found_url=,
--   fields = {{field=, value=, kind=, counts=, url=}, ...},   -- what the lead says
--   candidates = {{url=, source=, result="exists"|"absent"|"inconclusive"|
--                  "blocked"|"not_tried", note=, attempts={{method=, url=,
--                  status=, error=, location=, ms=}, ...}}, ...},
--   listed_site_dead=, canary={url=, status=, error=}}
--
-- Options (opts, over config website_check, over the defaults below):
-- max_candidates, timeout (s per request), max_redirects, deadline (s for
-- the whole check), canary_url ("" disables), allow_private (let candidates
-- point at loopback/private addresses and non-default ports; tests only),
-- detect_parked, listed_site_counts, probe_listed_site, max_body,
-- user_agent. opts.rewrite(url) -> url maps each candidate request to
-- another URL (tests point guessed domains at a local server with it).
local leads = require "lib.leads"
local names = require "lib.names"

local type, error, ipairs, pairs, tostring, setmetatable = type, error, ipairs, pairs, tostring, setmetatable
local floor, min = math.floor, math.min
local find, gsub, lower, sub = string.find, string.gsub, string.lower, string.sub

local _M = { _VERSION = "0.1" }

_M.DEFAULTS = {
    max_candidates = 5,
    timeout = 8,
    max_redirects = 3,
    deadline = 90,
    canary_url = "https://www.google.com/generate_204",
    allow_private = false,
    detect_parked = true,
    listed_site_counts = true,
    probe_listed_site = true,
    max_body = 262144,
    user_agent = false,
}

local function settings(opts)
    local c = {}
    for k, v in pairs(_M.DEFAULTS) do
        c[k] = v
    end
    local wc = wm.config and wm.config.website_check
    if type(wc) == "table" then
        for k, v in pairs(wc) do
            c[k] = v
        end
    end
    if type(opts) == "table" then
        for k, v in pairs(opts) do
            c[k] = v
        end
    end
    return c
end

-- Location header -> absolute URL.
local function resolve(base, loc)
    if loc:match("^%a[%w+.-]*://") then
        return loc
    end
    local scheme, hostport = base:match("^(%a+)://([^/]+)")
    if sub(loc, 1, 2) == "//" then
        return scheme .. ":" .. loc
    end
    if sub(loc, 1, 1) == "/" then
        return scheme .. "://" .. hostport .. loc
    end
    local dir = base:match("^(%a+://[^?#]*/)") or (scheme .. "://" .. hostport .. "/")
    return dir .. loc
end

local function is_parked_page(body)
    if type(body) ~= "string" or body == "" then
        return false
    end
    local l = lower(sub(body, 1, 65536))
    for _, p in ipairs(names.parking_phrases) do
        if find(l, p, 1, true) then
            return true
        end
    end
    return false
end

-- One check's state: settings, deadline, attempts log.
local Check = {}
Check.__index = Check

function Check:remaining()
    return self.deadline - wm.monotonic()
end

-- One request, recorded in `attempts`. Returns res | nil, err.
function Check:request(method, url, attempts)
    local left = self:remaining()
    if left <= 0.05 then
        attempts[#attempts + 1] = { method = method, url = url, error = "deadline" }
        return nil, "deadline"
    end
    local target = self.cfg.rewrite and self.cfg.rewrite(url) or url
    local headers = { Accept = "text/html,application/xhtml+xml,*/*;q=0.8" }
    if self.cfg.user_agent then
        headers["User-Agent"] = self.cfg.user_agent
    end
    local t0 = wm.monotonic()
    local res, err = wm.http.request {
        method = method, url = target, headers = headers, follow_redirects = false,
        timeout = min(self.cfg.timeout, left), max_body = self.cfg.max_body,
    }
    local rec = { method = method, url = url, ms = floor((wm.monotonic() - t0) * 1000) }
    if res then
        rec.status = res.status
        local loc = res.headers and res.headers["location"]
        if loc and res.status >= 300 and res.status < 400 then
            rec.location = leads.text(loc, 500)
        end
    else
        rec.error = tostring(err)
    end
    attempts[#attempts + 1] = rec
    return res, err
end

-- Absent / exists / inconclusive for one URL, following redirects.
-- Returns result, note, network_absent (the absence rests on DNS/connect).
function Check:probe(url, attempts, guessed)
    local cfg = self.cfg
    local tried_www, tried_http = false, false
    local hops = 0
    while true do
        local u = leads.parse_url(url)
        if not u then
            return "absent", "invalid URL"
        end
        if not cfg.allow_private and (leads.is_private_host(u) or (u.port and u.port ~= 80 and u.port ~= 443)) then
            return "blocked", "private address or non-standard port"
        end
        if leads.host_in(u.host, names.social_hosts) then
            return "absent", "social profile, not a website"
        end
        if leads.host_in(u.host, names.parking_hosts) then
            return "absent", "parked domain"
        end
        local res, err = self:request("HEAD", u.url, attempts)
        local status = res and res.status
        local need_get = false
        if res then
            if status >= 300 and status < 400 and res.headers["location"] then
                if hops >= cfg.max_redirects then
                    return "exists", "redirect limit reached (" .. status .. ")"
                end
                hops = hops + 1
                url = resolve(u.url, res.headers["location"])
                goto continue
            end
            need_get = status == 404 or status == 405 or status == 410 or status == 501
                or (status == 200 and cfg.detect_parked)
        else
            if err == "deadline" then
                return "inconclusive", "deadline"
            elseif err == "dns" then
                if guessed and not tried_www and not find(u.host, "^www%.") then
                    tried_www = true
                    url = u.scheme .. "://www." .. sub(u.url, #u.scheme + 4)
                    goto continue
                end
                return "absent", "no such domain", true
            elseif err == "connect" then
                if u.scheme == "https" and not tried_http then
                    tried_http = true
                    url = "http://" .. sub(u.url, 9)
                    goto continue
                end
                return "absent", "connection refused", true
            elseif err == "tls" then
                if u.scheme == "https" and not tried_http then
                    tried_http = true
                    url = "http://" .. sub(u.url, 9)
                    goto continue
                end
                return "inconclusive", "tls"
            elseif err == "timeout" then
                return "inconclusive", "timeout"
            elseif err == "too_large" then
                return "exists", "answered"
            end
            need_get = true                       -- "protocol" and the like: a GET may do better
        end
        if need_get then
            local gres, gerr = self:request("GET", u.url, attempts)
            if gres then
                res, status = gres, gres.status
                if status >= 300 and status < 400 and gres.headers["location"] then
                    if hops >= cfg.max_redirects then
                        return "exists", "redirect limit reached (" .. status .. ")"
                    end
                    hops = hops + 1
                    url = resolve(u.url, gres.headers["location"])
                    goto continue
                end
                if status == 200 and cfg.detect_parked and is_parked_page(gres.body) then
                    return "absent", "parked domain"
                end
            elseif gerr == "too_large" then
                return "exists", "answered"
            elseif not res then
                if gerr == "timeout" or gerr == "deadline" then
                    return "inconclusive", gerr
                end
                return "inconclusive", tostring(gerr)
            end
        end
        if status == 404 or status == 410 then
            return "absent", "not found (" .. status .. ")"
        end
        if status == 401 or status == 403 or status == 429 then
            return "exists", "protected (" .. status .. ")"
        end
        do
            return "exists", "answered (" .. status .. ")"
        end
        ::continue::
    end
end

function Check:canary()
    local url = self.cfg.canary_url
    if not url or url == "" then
        return true
    end
    local t0 = wm.monotonic()
    local res, err = wm.http.request { method = "HEAD", url = url, timeout = min(self.cfg.timeout, 8),
                                       follow_redirects = true }
    local rec = { url = url, ms = floor((wm.monotonic() - t0) * 1000) }
    if res then
        rec.status = res.status
    else
        rec.error = tostring(err)
    end
    self.ev.canary = rec
    return res ~= nil and res.status < 500
end

function _M.check(b, raw, opts)
    if type(b) ~= "table" then
        error("usage: website.check(business_row, raw_place[, opts])", 2)
    end
    raw = leads.val(raw)
    if raw ~= nil and type(raw) ~= "table" then
        error("usage: website.check(business_row, raw_place): raw_place must be a table", 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error("usage: website.check(business_row, raw_place[, opts]): opts must be a table", 2)
    end
    raw = raw or {}
    if not wm.http then
        return nil, "wm.http is not available"
    end
    local cfg = settings(opts)
    local candidates, presence = leads.website_candidates(b, raw, cfg.max_candidates)
    local ev = { method = "http", fields = presence.fields, candidates = wm.json.array({}) }
    local self = setmetatable({ cfg = cfg, ev = ev, deadline = wm.monotonic() + cfg.deadline }, Check)
    local function done(verdict, reason, found)
        ev.verdict, ev.reason, ev.found_url = verdict, reason, found
        return verdict, ev
    end

    -- A booking or order link (without a site) is a web presence already.
    if not presence.site and presence.presence then
        return done("has_website", presence.presence .. "_link", presence.presence_url)
    end

    -- The lead lists a website: it counts; probe it for the record.
    if presence.site and cfg.listed_site_counts then
        local c = candidates[1]
        local rec = { url = c.url, source = c.source }
        ev.candidates[1] = rec
        if cfg.probe_listed_site then
            rec.attempts = wm.json.array({})
            rec.result, rec.note = self:probe(c.url, rec.attempts, false)
            if rec.result == "absent" then
                ev.listed_site_dead = true
            end
        else
            rec.result = "not_tried"
        end
        return done("has_website", "lead_site", presence.site)
    end

    if #candidates == 0 then
        return done("unknown", "no_candidates")
    end
    local inconclusive, network_absent = false, false
    for i, c in ipairs(candidates) do
        local rec = { url = c.url, source = c.source, attempts = wm.json.array({}) }
        ev.candidates[i] = rec
        local result, note, net = self:probe(c.url, rec.attempts, c.source == "name_guess"
            or c.source == "email_domain")
        rec.result, rec.note = result, note
        if result == "exists" then
            for j = i + 1, #candidates do
                ev.candidates[j] = { url = candidates[j].url, source = candidates[j].source, result = "not_tried" }
            end
            return done("has_website", c.source == "lead.site" and "lead_site" or "found_by_check", c.url)
        elseif result == "inconclusive" then
            inconclusive = true
        elseif result == "absent" and net then
            network_absent = true
        end
    end
    if inconclusive then
        return done("unknown", "inconclusive")
    end
    local probed = 0
    for _, rec in ipairs(ev.candidates) do
        if rec.result == "absent" then
            probed = probed + 1
        end
    end
    if probed == 0 then
        return done("unknown", "no_candidates")       -- every candidate was blocked
    end
    if network_absent and not self:canary() then
        return done("unknown", "network_unverified")
    end
    return done("no_website", "none_found")
end

return _M
