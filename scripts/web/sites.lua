-- Generated sites, answered by Host: <subdomain>.<sites_domain> (by default
-- *.localhost, which browsers resolve to loopback) and, later, custom
-- domains. Served with a strict Content-Security-Policy (the page has no
-- script and loads nothing from elsewhere) and an ETag.
--
-- While the database is down a site answers from lib.site_cache (the bytes
-- last served from the database); whenever the database answers, its answer
-- wins and the cache follows it. What cannot be answered without the
-- database is a 503 with Retry-After, never a 404.
local render = require "sites.render"
local site_cache = require "lib.site_cache"
local outage = require "lib.outage"

local CSP = render.csp()
local domain = ((wm.config.http or {}).sites_domain or "localhost"):lower()

local function not_found()
    return { status = 404, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
             body = "No site here.\n" }
end

local function headers_for(etag, status)
    local headers = {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Security-Policy"] = CSP,
        ["X-Content-Type-Options"] = "nosniff",
        ["Referrer-Policy"] = "no-referrer",
        ["ETag"] = etag,
        ["Cache-Control"] = "no-cache",
    }
    if status == "preview" then
        headers["X-Robots-Tag"] = "noindex"
    end
    return headers
end

local function page(req, etag, status, body)
    if req.path ~= "/" and req.path ~= "/index.html" then
        return not_found()
    end
    local headers = headers_for(etag, status)
    if req.headers["if-none-match"] == etag then
        return { status = 304, headers = headers, body = "" }
    end
    return { status = 200, headers = headers, body = body }
end

local function serve(req)
    local host = (req.headers.host or ""):lower():gsub(":%d+$", "")
    -- An address, the server's own name or the bare sites domain is not a
    -- site: no query for it (so no 503 for it while the database is down).
    if host == "" or host == "localhost" or host == domain or host:match("^[%d.]+$") or host:match("^%[") then
        return not_found()
    end
    local sub = host:sub(1, #host - #domain - 1)
    local site, err, state, kind, name
    if host:sub(-#domain - 1) == "." .. domain and sub:match("^[a-z0-9-]+$") then
        kind, name = "sub", sub
        site, err, state = wm.db.one([[SELECT id, html_content, status, updated_at FROM generated_sites
            WHERE subdomain = $1 AND status IN ('preview', 'live', 'sold') ORDER BY version DESC LIMIT 1]], sub)
    else
        kind, name = "domain", host
        site, err, state = wm.db.one([[SELECT id, html_content, status, updated_at FROM generated_sites
            WHERE custom_domain = $1 AND status IN ('live', 'sold') ORDER BY version DESC LIMIT 1]], host)
    end
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
        return page(req, cached.etag, cached.status, cached.body)
    end
    if not site then
        -- Archived, replaced or never there: an outage must not bring it back.
        site_cache.drop(kind, name)
        return not_found()
    end
    site.html_content = require("domain.sites").public_html(site)
    local etag = '"' .. wm.crypto.sha256_hex(site.html_content):sub(1, 32) .. '"'
    site_cache.put(kind, name, { body = site.html_content, etag = etag, status = site.status })
    local claim = req.path:match("^/claim/([%w_%-]+)$")
    if claim then
        return require("web.claim").handle(req, site, claim)
    end
    return page(req, etag, site.status, site.html_content)
end

wm.route_host("*." .. domain, serve, { role = "public" })
wm.route_host("*", serve, { role = "public" })
