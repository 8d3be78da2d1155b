-- GET /tls/ask?domain=NAME: Caddy's on-demand TLS asks here before it gets
-- a certificate for a host it has not seen (README, "Custom domains and
-- TLS"). 200 for the hosts this installation serves (site subdomains, and
-- verified custom domains of a live site), 404 for every other, so nobody
-- can make Caddy request certificates for names of their choosing. Only
-- loopback callers are answered (Caddy runs on the same machine); the
-- answer is never cached.
local custom_domains = require "domain.custom_domains"
local outage = require "lib.outage"

local HEADERS = { ["Content-Type"] = "text/plain; charset=utf-8", ["Cache-Control"] = "no-store" }

local function loopback(addr)
    addr = tostring(addr or "")
    return addr:match("^127%.") ~= nil or addr == "::1" or addr:match("^::ffff:127%.") ~= nil
end

wm.route("GET", "/tls/ask", function(req)
    if not loopback(req.remote_addr) then
        return { status = 403, headers = HEADERS, body = "Only for the TLS front end on this machine.\n" }
    end
    local domain = req.query and req.query.domain
    if type(domain) ~= "string" or domain == "" or #domain > 253 then
        return { status = 400, headers = HEADERS, body = "Give ?domain=NAME.\n" }
    end
    local ok, err, state = custom_domains.tls_allowed(domain:lower():gsub("%.$", ""))
    if err then
        if outage.confirm(err, state) then
            return outage.response()
        end
        error(err, 0)
    end
    if ok then
        return { status = 200, headers = HEADERS, body = "ok\n" }
    end
    return { status = 404, headers = HEADERS, body = "Not a domain served here.\n" }
end, { role = "public", access_log = false })
