-- The simulated website check: the answer the HTTP check would give in the
-- simulated world, without a network. It knows which simulated places have
-- a website their lead omits (`_simulated_hidden_site`, set by
-- providers/leads/simulated.lua) and "finds" it among the same candidates
-- the HTTP check would try; every other guess fails as NXDOMAIN would.
--
--   check(business_row, raw_place) -> verdict, evidence | nil, err
--     verdict: "has_website" | "no_website" | "unknown"
--     evidence: see providers/website/http.lua (same shape; statuses are
--     simulated and `method` is "simulated"). The hidden field itself
--     never appears in the evidence.
local leads = require "lib.leads"

local type, error, ipairs, tostring = type, error, ipairs, tostring
local gsub = string.gsub

local _M = { _VERSION = "0.1" }

local function host_of(url)
    local u = leads.parse_url(url)
    return u and gsub(u.host, "^www%.", "") or nil
end

function _M.check(b, raw, opts)
    if type(b) ~= "table" then
        error("usage: website.check(business_row, raw_place)", 2)
    end
    raw = leads.val(raw)
    if raw ~= nil and type(raw) ~= "table" then
        error("usage: website.check(business_row, raw_place): raw_place must be a table", 2)
    end
    raw = raw or {}
    local cfg = (wm.config and wm.config.website_check) or {}
    local max = (type(opts) == "table" and opts.max_candidates) or cfg.max_candidates or 5
    local candidates, presence = leads.website_candidates(b, raw, max)
    local ev = {
        method = "simulated",
        fields = presence.fields,
        candidates = wm.json.array({}),
    }
    local function done(verdict, reason, found)
        ev.verdict, ev.reason, ev.found_url = verdict, reason, found
        return verdict, ev
    end
    if not presence.site and presence.presence then
        return done("has_website", presence.presence .. "_link", presence.presence_url)
    end
    local hidden = leads.val(raw._simulated_hidden_site)
    local hidden_host = type(hidden) == "string" and host_of(hidden) or nil
    -- A stable "protected" answer for some sites (403, as behind a WAF).
    local id = leads.val(raw.place_id) or leads.val(b.gmb_id) or ""
    local protected = wm.crypto.sha256_hex("wm-simulated-web\31" .. tostring(id)):sub(1, 1) < "3"
    for i, c in ipairs(candidates) do
        local key = gsub(c.host, "^www%.", "")
        local rec = { url = c.url, source = c.source }
        ev.candidates[i] = rec
        if c.source == "lead.site" or c.source == "business.website_url" or key == hidden_host then
            local status = protected and 403 or 200
            rec.attempts = wm.json.array({ { method = "HEAD", url = c.url, status = status } })
            rec.result = "exists"
            for j = i + 1, #candidates do
                ev.candidates[j] = { url = candidates[j].url, source = candidates[j].source, result = "not_tried" }
            end
            return done("has_website", (c.source == "lead.site" or c.source == "business.website_url")
                and "lead_site" or "found_by_check", c.url)
        end
        rec.attempts = wm.json.array({ { method = "HEAD", url = c.url, error = "dns" } })
        if c.source == "name_guess" or c.source == "email_domain" then
            local www = c.url:gsub("^(https?://)", "%1www.")
            rec.attempts[2] = { method = "HEAD", url = www, error = "dns" }
        end
        rec.result = "absent"
    end
    if #candidates == 0 then
        return done("unknown", "no_candidates")
    end
    return done("no_website", "none_found")
end

return _M
