-- Generated sites, answered by Host: <subdomain>.<sites_domain> (by default
-- *.localhost, which browsers resolve to loopback) and, later, custom
-- domains. Served with a strict Content-Security-Policy (the page has no
-- script and loads nothing from elsewhere).
--
--   /, /index.html   the page: gzip or brotli by Accept-Encoding (q-values
--                    honoured, identity when nothing else is acceptable), each
--                    version compressed once (lib.site_cache), Vary:
--                    Accept-Encoding, a strong ETag per encoding and 304 for
--                    If-None-Match; HEAD gets the headers alone (the server)
--   /robots.txt      preview: disallow all; live: allow, and where the sitemap is
--   /sitemap.xml     live sites: the one page with its lastmod (preview: 404)
--   /favicon.ico     204: the page carries its icon inline, this only spares
--                    browsers' automatic request a 404
--   /claim/<token>   handed to web/claim.lua with the site found
--
-- A host's answer (its page, or that there is none) comes from memory for
-- sites.serve_max_age seconds (default 1) after a database lookup that
-- started within that time; then the next request looks it up again. A
-- change to generated_sites NOTIFYs wm_sites (migration 023) with the hosts
-- it touches, which forgets them here at once; the age bound holds when a
-- notification is lost (the listener reconnecting), so the database's word
-- is served within serve_max_age, and a busy site costs one query per
-- serve_max_age per process instead of one per request. Concurrent lookups
-- of one site are shared: while one is in flight, the requests that arrive
-- wait for the next, which serves them all. serve_max_age = 0 looks every
-- request up. /claim/ always asks the database.
--
-- While the database is down a site answers from lib.site_cache (the bytes
-- last served from the database); whenever the database answers, its answer
-- wins and the cache follows it. What cannot be answered without the
-- database is a 503 with Retry-After, never a 404.
local render = require "sites.render"
local site_cache = require "lib.site_cache"
local http_server = require "wm.http_server"
local httpd = require "wm.core.httpd"
local outage = require "lib.outage"

local CSP = render.csp()
local domain = ((wm.config.http or {}).sites_domain or "localhost"):lower()

local TEXT = "text/plain; charset=utf-8"

local function not_found()
    return { status = 404, headers = { ["Content-Type"] = TEXT }, body = "No site here.\n" }
end

-- ---- Accept-Encoding ----

-- What we can send, best first when the client rates them equally.
local CODINGS = { "br", "gzip", "identity" }
local SUFFIX = { br = "-br", gzip = "-gz", identity = "" }

-- Accept-Encoding -> the codings the client takes, best first, with
-- "identity" last unless refused. A malformed element is ignored, never an
-- error: the header is the client's, and identity is always a safe answer.
local function parse_accept(value)
    local q, star = {}, nil
    local n = 0
    for element in value:gmatch("[^,]+") do
        n = n + 1
        if n > 32 then
            break
        end
        local coding, params = element:match("^[ \t]*([%w!#$%%&'*+.^_`|~-]+)[ \t]*(.*)$")
        if coding then
            coding = coding:lower()
            local weight = 1
            if params ~= "" then
                local qv = params:match("^;[ \t]*[qQ][ \t]*=[ \t]*([%d.]+)[ \t]*$")
                weight = qv and (qv:match("^0%.?%d?%d?%d?$") or qv:match("^1%.?0?0?0?$")) and tonumber(qv)
            end
            if weight then
                if coding == "x-gzip" then
                    coding = "gzip"
                end
                if coding == "*" then
                    star = weight
                elseif q[coding] == nil or weight > q[coding] then
                    q[coding] = weight
                end
            end
        end
    end
    local order = {}
    for i, c in ipairs(CODINGS) do
        local w = q[c]
        if w == nil then
            -- identity is acceptable unless refused by name or by "*;q=0",
            -- but it comes after any coding the client names.
            w = star or (c == "identity" and 0.0001 or 0)
        end
        if w > 0 then
            order[#order + 1] = { c, w, i }
        end
    end
    table.sort(order, function(a, b)
        if a[2] ~= b[2] then
            return a[2] > b[2]
        end
        return a[3] < b[3]
    end)
    local out = {}
    for i, o in ipairs(order) do
        out[i] = o[1]
    end
    return out
end

-- Clients send few distinct headers: remember the answers (bounded).
local accept_memo, accept_count = {}, 0

local function acceptable(value)
    if value == nil or value == "" then
        return { "identity" }
    end
    local got = accept_memo[value]
    if not got then
        if accept_count >= 256 then
            accept_memo, accept_count = {}, 0
        end
        got = parse_accept(value)
        accept_memo[value], accept_count = got, accept_count + 1
    end
    return got
end

-- ---- responses ----

-- The response of an entry in one coding, built once per version: the
-- tables are shared by every request for it (the server does not change them).
local function response(entry, coding)
    entry.responses = entry.responses or {}
    local res = entry.responses[coding]
    if res then
        return res
    end
    local etag = entry.etag:sub(1, -2) .. SUFFIX[coding] .. '"'
    local headers = {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Security-Policy"] = CSP,
        ["X-Content-Type-Options"] = "nosniff",
        ["Referrer-Policy"] = "no-referrer",
        ["ETag"] = etag,
        ["Cache-Control"] = "no-cache",
        ["Vary"] = "Accept-Encoding",
        ["Content-Encoding"] = coding ~= "identity" and coding or nil,
    }
    if entry.status == "preview" then
        headers["X-Robots-Tag"] = "noindex"
    end
    local not_modified = {}
    for k, v in pairs(headers) do
        not_modified[k] = v
    end
    not_modified["Content-Type"], not_modified["Content-Encoding"] = nil, nil
    res = {
        etag = etag,
        ok = { status = 200, headers = headers, body = coding == "identity" and entry.body or entry[coding] },
        not_modified = { status = 304, headers = not_modified, body = "" },
    }
    entry.responses[coding] = res
    return res
end

-- Whether If-None-Match names this etag (or is "*"); weak tags compare
-- weakly, as RFC 9110 asks for If-None-Match.
local function matches(inm, etag)
    if inm == nil then
        return false
    end
    if inm == etag then
        return true
    end
    for tag in inm:gmatch("[^,]+") do
        tag = tag:match("^[ \t]*(.-)[ \t]*$"):gsub("^W/", "")
        if tag == etag or tag == "*" then
            return true
        end
    end
    return false
end

-- keep_for: seconds the answer stays right (what is left of
-- serve_max_age), for the server to answer the same requests in C.
local function page(req, entry, keep_for)
    local coding = "identity"
    for _, c in ipairs(acceptable(req.headers["accept-encoding"])) do
        if c == "identity" or entry[c] then
            coding = c
            break
        end
    end
    local res = response(entry, coding)
    if keep_for and keep_for > 0 then
        http_server.keep(req, res.ok, res.not_modified, res.etag, keep_for)
    end
    if matches(req.headers["if-none-match"], res.etag) then
        return res.not_modified
    end
    return res.ok
end

-- The site's own address, with its trailing slash.
local function site_url(kind, name)
    if kind == "sub" then
        return require("domain.sites").url(name)
    end
    return "https://" .. name .. "/"
end

local function is_live(status)
    return status == "live" or status == "sold"
end

local function robots(kind, name, entry)
    local body
    if is_live(entry.status) then
        body = "User-agent: *\nAllow: /\n\nSitemap: " .. site_url(kind, name) .. "sitemap.xml\n"
    else
        body = "User-agent: *\nDisallow: /\n"
    end
    return { status = 200, headers = { ["Content-Type"] = TEXT, ["Cache-Control"] = "max-age=300" }, body = body }
end

local function xml_escape(s)
    return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }))
end

local function sitemap(kind, name, entry)
    if not is_live(entry.status) then
        return not_found()
    end
    local lastmod = type(entry.updated) == "string" and entry.updated:match("^%d%d%d%d%-%d%d%-%d%d")
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n'
        .. '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        .. "<url><loc>" .. xml_escape(site_url(kind, name)) .. "</loc>"
        .. (lastmod and ("<lastmod>" .. lastmod .. "</lastmod>") or "") .. "</url>\n</urlset>\n"
    return { status = 200, headers = { ["Content-Type"] = "application/xml; charset=utf-8",
                                       ["Cache-Control"] = "max-age=300" }, body = body }
end

local FAVICON = { status = 204, headers = { ["Cache-Control"] = "max-age=604800" }, body = "" }

local function answer(req, kind, name, entry, keep_for)
    local path = req.path
    if path == "/" or path == "/index.html" then
        return page(req, entry, keep_for)
    elseif path == "/robots.txt" then
        return robots(kind, name, entry)
    elseif path == "/sitemap.xml" then
        return sitemap(kind, name, entry)
    elseif path == "/favicon.ico" then
        return FAVICON
    end
    return not_found()
end

-- ---- the lookup, shared by concurrent requests ----

-- The database's answer for one site: the row (html_content already the
-- public page) and its cache entry, or nil when there is no such site;
-- raises what the database raised, returns nil, err, sqlstate on an error.
local function resolve(kind, name)
    local site, err, state
    if kind == "sub" then
        site, err, state = wm.db.one([[SELECT id, html_content, status, updated_at FROM generated_sites
            WHERE subdomain = $1 AND status IN ('preview', 'live', 'sold') ORDER BY version DESC LIMIT 1]], name)
    else
        site, err, state = wm.db.one([[SELECT id, html_content, status, updated_at FROM generated_sites
            WHERE custom_domain = $1 AND status IN ('live', 'sold') ORDER BY version DESC LIMIT 1]], name)
    end
    if err then
        return nil, err, state
    end
    if not site then
        return false
    end
    site.html_content = require("domain.sites").public_html(site)
    local updated = site.updated_at ~= wm.null and tostring(site.updated_at) or nil
    -- The version in memory when it is this one (strings compare by
    -- identity in LuaJIT): no hash of the page on every lookup.
    local entry = site_cache.memory(kind, name)
    if not (entry and entry.body == site.html_content and entry.status == site.status and entry.updated == updated) then
        local etag = '"' .. wm.crypto.sha256_hex(site.html_content):sub(1, 32) .. '"'
        entry = site_cache.put(kind, name, { body = site.html_content, etag = etag, status = site.status,
                                             updated = updated })
    end
    return { site = site, entry = entry }
end

-- key -> { running = bool, next = batch }; batch = { done = event, result = {...} }
local lookups = {}

local function run(key, kind, name)
    local l = lookups[key]
    local batch = l.next
    l.next, l.running = nil, true
    batch.result = { pcall(resolve, kind, name) }
    l.running = false
    if l.next then
        wm.spawn(run, key, kind, name)
    else
        lookups[key] = nil
    end
    batch.done:set()
end

-- As resolve, for a request: joins the next lookup of this site.
local function lookup(kind, name)
    local key = kind .. ":" .. name
    local l = lookups[key]
    if not l then
        l = { running = false }
        lookups[key] = l
    end
    local batch = l.next
    if not batch then
        batch = { done = wm.event() }
        l.next = batch
        if not l.running then
            -- A task of its own, so that a request cancelled while it waits
            -- does not strand the others.
            wm.spawn(run, key, kind, name)
        end
    end
    batch.done:wait()
    local r = batch.result
    if not r[1] then
        error(r[2], 0)
    end
    return r[2], r[3], r[4]
end

-- ---- the answers in memory ----

-- key -> monotonic time the lookup that gave its answer started; the
-- answer is site_cache's entry in memory (its LRU bounds the bytes, and a
-- page served from here counts as used there) or, in `none`, that there is
-- no site. An entry the LRU let go reads as a miss.
local fresh, fresh_count = {}, 0
local none = {}
local FRESH_MAX = 20000
-- Bumped by every notification: a lookup that started before one may
-- carry what it announced as changed, so its answer is not kept.
local generation = 0
local listening = false

local function forget(payload)
    generation = generation + 1
    httpd.cache_clear()   -- answers kept in C may be what changed
    local key = type(payload) == "string" and payload ~= "" and payload
    if not key then
        fresh, fresh_count, none = {}, 0, {}
    elseif fresh[key] then
        fresh[key], none[key] = nil, nil
        fresh_count = fresh_count - 1
    end
end

local function remember(key, at, found)
    if not fresh[key] then
        if fresh_count >= FRESH_MAX then
            fresh, fresh_count, none = {}, 0, {}
        end
        fresh_count = fresh_count + 1
    end
    fresh[key], none[key] = at, not found or nil
end

-- LISTEN once per process, from the first request's task (the pool may
-- need opening); without it answers are only bounded by their age.
local function ensure_listen()
    if listening then
        return
    end
    listening = true
    wm.spawn(function()
        local ok, err = wm.db.listen("wm_sites", forget)
        if not ok then
            listening = false
            wm.log.warn("sites: cannot LISTEN wm_sites; answers are bounded by sites.serve_max_age only",
                { error = tostring(err) })
        end
    end)
end

local function max_age()
    return wm.config.sites.serve_max_age
end

-- The site a host names: "sub", subdomain or "domain", host; nil for an
-- address, the server's own name or the bare sites domain (no query for
-- it, so no 503 for it while the database is down).
local function site_of(host)
    if host == "" or host == "localhost" or host == domain or host:match("^[%d.]+$") or host:match("^%[") then
        return nil
    end
    local sub = host:sub(1, #host - #domain - 1)
    if host:sub(-#domain - 1) == "." .. domain and sub:match("^[a-z0-9-]+$") then
        return "sub", sub
    end
    return "domain", host
end

-- Pages the server answered from its own cache are in use: the LRU hears
-- of them before it lets anything go.
site_cache.before_evict(function()
    for _, host in ipairs(httpd.cache_touched()) do
        local kind, name = site_of(host)
        if kind then
            site_cache.memory(kind, name)
        end
    end
end)

local function serve(req)
    -- The router has the host lower-cased, without its port, already.
    local host = req.params and req.params.host or (req.headers.host or ""):lower():gsub(":%d+$", "")
    local kind, name = site_of(host)
    if not kind then
        return not_found()
    end
    local key = kind .. ":" .. name
    local claim = req.path:match("^/claim/([%w_%-]+)$")
    local at = fresh[key]
    if at and not claim and wm.monotonic() - at < max_age() then
        if none[key] then
            return not_found()
        end
        local entry = site_cache.memory(kind, name)
        if entry then
            return answer(req, kind, name, entry, at + max_age() - wm.monotonic())
        end
    end
    ensure_listen()
    local started, gen = wm.monotonic(), generation
    local found, err, state = lookup(kind, name)
    if err then
        if not outage.confirm(err, state) then
            error(err)
        end
        local cached = site_cache.get(kind, name)
        if not cached then
            return outage.response()
        end
        if req.path:match("^/claim/") then
            return outage.response()
        end
        return answer(req, kind, name, cached)
    end
    local keep_for
    if gen == generation and max_age() > 0 then
        remember(key, started, found)
        keep_for = started + max_age() - wm.monotonic()
    end
    if not found then
        -- Archived, replaced or never there: an outage must not bring it back.
        site_cache.drop(kind, name)
        return not_found()
    end
    if claim then
        return require("web.claim").handle(req, found.site, claim)
    end
    return answer(req, kind, name, found.entry, keep_for)
end

wm.route_host("*." .. domain, serve, { role = "public" })
wm.route_host("*", serve, { role = "public" })
