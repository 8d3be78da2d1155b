-- Caddy (Debian caddy) in front of wm as the README documents it: on-demand
-- certificates (from Caddy's internal CA here, so no network), asking wm's
-- /tls/ask first. A verified custom domain gets a certificate and its site
-- through the proxy; a domain wm does not serve gets no certificate at all
-- (the TLS handshake fails), so nobody can make Caddy issue for names of
-- their choosing.
local T = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function free_port()
    return 20000 + math.random(0, 9999)
end

local function curl(host, https_port)
    return assert(wm.exec { argv = { "curl", "-sk", "--max-time", "20", "--resolve", host .. ":" .. https_port .. ":127.0.0.1",
                                     "-o", "-", "-w", "\n%{http_code}", "https://" .. host .. ":" .. https_port .. "/" },
                            timeout = 30 })
end

function T.only_verified_domains_get_certificates(t)
    if not wm.fs.stat("/usr/bin/caddy") then
        t.skip("caddy is not installed (Debian caddy; .ci/setup.sh --test installs it)")
    end
    assert(require("wm.migrate").up())
    local dir = t.tmpdir()
    t.config("paths", { var = dir })
    require("lib.site_cache").reset()
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    local _, port = srv:address()
    t.defer(function() http_server.stop(0) end)

    local b = one([[INSERT INTO businesses (gmb_id, slug, name, lead_status, website_status)
        VALUES ('gmb-tls', 'tls-shop', 'TLS Shop', 'qualified', 'sold') RETURNING id]])
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, custom_domain)
        VALUES ($1, 'tls-shop', '<!DOCTYPE html><title>t</title><h1>Served through Caddy</h1>', 'live',
                'www.verified-shop.test') RETURNING id]], b.id)
    one([[INSERT INTO custom_domains (site_id, domain, token, status, verified_at)
        VALUES ($1, 'www.verified-shop.test', 'tok', 'verified', now()) RETURNING id]], s.id)
    -- A claim still waiting for its TXT record gets no certificate either.
    one([[INSERT INTO custom_domains (site_id, domain, token, status)
        VALUES ($1, 'www.pending-shop.test', 'tok2', 'pending') RETURNING id]], s.id)

    local https_port, http_port = free_port(), free_port()
    local caddyfile = dir .. "/Caddyfile"
    assert(wm.fs.write_file(caddyfile, ([[
{
	admin off
	auto_https disable_redirects
	skip_install_trust
	http_port %d
	https_port %d
	storage file_system %s/caddy-data
	on_demand_tls {
		ask http://127.0.0.1:%d/tls/ask
	}
}
https:// {
	tls internal {
		on_demand
	}
	reverse_proxy 127.0.0.1:%d
}
]]):format(http_port, https_port, dir, port, port)))
    local caddy = wm.spawn(function()
        return wm.exec { argv = { "/usr/bin/caddy", "run", "--config", caddyfile, "--adapter", "caddyfile" },
                         env = { HOME = dir, XDG_DATA_HOME = dir .. "/xdg", XDG_CONFIG_HOME = dir .. "/xdg" },
                         timeout = 120 }
    end)
    t.defer(function() caddy:cancel() end)
    t.wait_for("caddy to listen", function()
        local r = curl("probe.invalid", https_port)
        return r.code == 35 or r.code == 0 -- listening: a TLS answer (refused or not), not "cannot connect"
    end, 30)

    local r = curl("www.verified-shop.test", https_port)
    t.eq(r.code, 0, "TLS handshake for the verified domain: " .. r.stderr)
    t.match(r.stdout, "Served through Caddy")
    t.match(r.stdout, "\n200$")

    r = curl("attacker-chosen.test", https_port)
    t.eq(r.code, 35, "no certificate for a domain wm does not serve")
    r = curl("www.pending-shop.test", https_port)
    t.eq(r.code, 35, "no certificate for a pending claim")
end

return T
