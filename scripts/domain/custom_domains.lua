-- Custom domains: the one home of custom_domains.status and of
-- generated_sites.custom_domain (what the site answers on besides its
-- subdomain).
--
--   pending -> verified   the owner's TXT record holds the token
--           -> failed     still not there after domains.max_checks checks
--           -> removed
--   failed  -> pending    "check again" (the count starts over)
--   verified -> removed   the site stops answering on it
--
-- The owner proves control with a TXT record `_webmagic.<domain>` whose
-- value is `webmagic-verify=<token>`, and points the domain at this
-- installation (a CNAME to domains.cname_target, or A records to
-- domains.a_address). Only a verified domain gets a certificate (the TLS
-- ask endpoint, scripts/web/tls_ask.lua) and is served.
local activity = require "lib.activity"

local _M = {}

local one = wm.db.run_one

_M.RECORD_PREFIX = "_webmagic."
_M.TOKEN_PREFIX = "webmagic-verify="

local function cfg()
    return wm.config.domains or {}
end

local function sites_domain()
    return ((wm.config.http or {}).sites_domain or "localhost"):lower()
end

local function base_host()
    return (((wm.config.sites or {}).base_url or ""):match("^%a+://([^/:]+)") or ""):lower()
end

-- normalize(input) -> "shop.example.com" | nil, message for the owner.
-- Accepts what people paste (a URL, upper case, a trailing dot) and
-- refuses what cannot be a public domain of theirs.
function _M.normalize(input)
    if type(input) ~= "string" then
        return nil, "Enter a domain name, like example.com."
    end
    local d = input:gsub("^%s+", ""):gsub("%s+$", ""):lower()
    d = d:gsub("^%a[%w+.-]*://", ""):gsub("[/?#].*$", ""):gsub(":%d+$", ""):gsub("%.$", "")
    if d == "" then
        return nil, "Enter a domain name, like example.com."
    end
    if d:find("[\128-\255]") then
        return nil, "Enter the domain in its ASCII (xn--) form; your registrar shows it."
    end
    if #d > 253 or not d:find(".", 1, true) then
        return nil, "That is not a domain name. Enter one like example.com or www.example.com."
    end
    for label in (d .. "."):gmatch("([^.]*)%.") do
        if #label == 0 or #label > 63 or not label:match("^[a-z0-9-]+$") or label:match("^%-") or label:match("%-$") then
            return nil, "That is not a domain name. Enter one like example.com or www.example.com."
        end
    end
    local tld = d:match("([^.]+)$")
    if not (tld:match("^%a%a+$") or tld:match("^xn%-%-")) then
        return nil, "That is not a domain name. Enter one like example.com or www.example.com."
    end
    local ours = sites_domain()
    if d == ours or d:sub(-#ours - 1) == "." .. ours or d == base_host() or d == "localhost"
        or d:sub(-10) == ".localhost" then
        return nil, "That address is already ours. Enter a domain you own."
    end
    return d
end

-- What the owner must publish: the TXT record and where to point.
function _M.instructions(row)
    local c = cfg()
    local target = c.cname_target ~= "" and c.cname_target or base_host()
    return {
        txt_name = _M.RECORD_PREFIX .. row.domain,
        txt_value = _M.TOKEN_PREFIX .. row.token,
        cname_target = target ~= "" and target or false,
        a_address = c.a_address ~= "" and c.a_address or false,
    }
end

local COLUMNS = [[id, site_id, domain, token, status, checks, last_result, points_to, checked_at, verified_at, created_at]]

function _M.get(id)
    return one("SELECT " .. COLUMNS .. " FROM custom_domains WHERE id = $1", id)
end

-- The site's current claim (pending or verified), else its latest.
function _M.for_site(site_id)
    return one("SELECT " .. COLUMNS .. [[ FROM custom_domains WHERE site_id = $1 AND status <> 'removed'
        ORDER BY (status IN ('pending', 'verified')) DESC, created_at DESC LIMIT 1]], site_id)
end

function _M.ls(limit)
    return wm.db.run([[SELECT d.id, d.site_id, d.domain, d.status, d.checks, d.last_result, d.points_to,
            d.checked_at, d.verified_at, d.created_at, s.subdomain
        FROM custom_domains d JOIN generated_sites s ON s.id = d.site_id
        WHERE d.status <> 'removed' ORDER BY d.created_at DESC LIMIT $1]], limit or 100)
end

local function enqueue_check(id, delay)
    return wm.jobs.enqueue("verify_domain", { id = id },
        { unique_key = "verify_domain:" .. id, delay = delay })
end

-- request(site_id, input, actor_type, actor_id) -> row | nil, message
-- A new claim for the site (its earlier pending one is removed), checked
-- at once by a verify_domain job.
function _M.request(site_id, input, actor_type, actor_id)
    local domain, why = _M.normalize(input)
    if not domain then
        return nil, why
    end
    local site, err = one("SELECT id FROM generated_sites WHERE id = $1", site_id)
    if not site then
        return nil, err or "no such site"
    end
    -- Claimed already: this site's claim is the answer; another site's is a refusal.
    local taken = one("SELECT " .. COLUMNS .. [[ FROM custom_domains
        WHERE domain = $1 AND status IN ('pending', 'verified')]], domain)
    if taken then
        if taken.site_id ~= site_id then
            return nil, domain .. " is already claimed for another site. Write to us if it is yours."
        end
        return taken
    end
    assert(wm.db.run("UPDATE custom_domains SET status = 'removed' WHERE site_id = $1 AND status = 'pending'",
        site_id))
    local row = assert(one([[INSERT INTO custom_domains (site_id, domain, token) VALUES ($1, $2, $3)
        RETURNING ]] .. COLUMNS, site_id, domain, wm.crypto.random_token(16)))
    assert(activity.log("domain.requested", "site", site_id, { domain = domain, id = row.id }, actor_type, actor_id))
    assert(enqueue_check(row.id))
    return row
end

-- checked(id, found, result, points_to) -> row
-- One check's finding: verified (the site answers on the domain from now
-- on), still pending, or failed after domains.max_checks.
function _M.checked(id, found, result, points_to)
    local row = assert(one([[UPDATE custom_domains SET checks = checks + 1, last_result = left($2, 500),
            points_to = left($3, 500), checked_at = now(),
            status = CASE WHEN $4 THEN 'verified' WHEN checks + 1 >= $5 THEN 'failed' ELSE status END,
            verified_at = CASE WHEN $4 THEN now() ELSE verified_at END
        WHERE id = $1 AND status = 'pending' RETURNING ]] .. COLUMNS,
        id, result, points_to, found and true or false, cfg().max_checks or 48))
    if row.status == "verified" then
        -- One domain per site: a domain verified before this one is let go.
        assert(wm.db.run([[UPDATE custom_domains SET status = 'removed'
            WHERE site_id = $1 AND status = 'verified' AND id <> $2]], row.site_id, row.id))
        assert(one("UPDATE generated_sites SET custom_domain = $2 WHERE id = $1 RETURNING id", row.site_id, row.domain))
        assert(activity.log("domain.verified", "site", row.site_id, { domain = row.domain, id = row.id }, "system"))
    elseif row.status == "failed" then
        assert(activity.log("domain.failed", "site", row.site_id,
            { domain = row.domain, id = row.id, result = result }, "system"))
    end
    return row
end

-- recheck(id): a failed or pending claim is checked again now.
function _M.recheck(id, actor_type, actor_id)
    local row = one([[UPDATE custom_domains SET status = 'pending', checks = 0
        WHERE id = $1 AND status IN ('pending', 'failed') RETURNING ]] .. COLUMNS, id)
    if not row then
        return nil, "no pending or failed domain " .. tostring(id)
    end
    assert(activity.log("domain.recheck", "site", row.site_id, { domain = row.domain, id = row.id }, actor_type, actor_id))
    assert(enqueue_check(row.id))
    return row
end

-- remove(id): the claim ends; a verified domain stops being served.
function _M.remove(id, actor_type, actor_id)
    local row = one([[UPDATE custom_domains SET status = 'removed' WHERE id = $1 AND status <> 'removed'
        RETURNING ]] .. COLUMNS, id)
    if not row then
        return nil, "no such domain claim " .. tostring(id)
    end
    wm.db.run("UPDATE generated_sites SET custom_domain = NULL WHERE id = $1 AND custom_domain = $2",
        row.site_id, row.domain)
    assert(activity.log("domain.removed", "site", row.site_id, { domain = row.domain, id = row.id }, actor_type, actor_id))
    return row
end

-- The delay before the next check of a pending claim: domains.check_every,
-- doubling with each check, at most domains.check_max_interval.
function _M.next_check_in(checks)
    local c = cfg()
    local every, cap = c.check_every or 60, c.check_max_interval or 3600
    return math.min(cap, every * 2 ^ math.max(0, (checks or 1) - 1))
end

-- May a certificate be issued for `host`? Verified custom domains of a
-- site that is served, and the site subdomains this installation serves.
-- -> true | false | nil, err, sqlstate
function _M.tls_allowed(host)
    host = type(host) == "string" and host:lower() or ""
    local ours = sites_domain()
    local sub = host:sub(-#ours - 1) == "." .. ours and host:sub(1, #host - #ours - 1)
    local rows, err, state
    if sub and sub:match("^[a-z0-9-]+$") then
        rows, err, state = wm.db.run([[SELECT 1 FROM generated_sites WHERE subdomain = $1
            AND status IN ('preview', 'live', 'sold') LIMIT 1]], sub)
    else
        rows, err, state = wm.db.run([[SELECT 1 FROM custom_domains d JOIN generated_sites s ON s.id = d.site_id
            WHERE d.domain = $1 AND d.status = 'verified' AND s.custom_domain = $1
              AND s.status IN ('live', 'sold') LIMIT 1]], host)
    end
    if not rows then
        return nil, err, state
    end
    return #rows > 0
end

return _M
