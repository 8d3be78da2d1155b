-- Outscraper (Google Maps data) as a lead source, over its REST API
-- (providers.md §2). Same interface as providers/leads/simulated.lua:
--
--   search{city=, state=, country="US", industry=, limit=20 (max 200)[, request_id=]}
--       -> places, info | nil, err, info
--   reviews{place=, limit=10 (max 100)[, request_id=]}
--       -> reviews, info | nil, err, info
--
-- Places come back exactly as Outscraper sent them (the raw lead is kept
-- by the caller). The search is "<industry>, <city>, <state>, USA" with
-- region set to the country (without it a share of leads come from the
-- wrong country). Requests are async: the task is submitted, then
-- GET /requests/{id} is polled until it is no longer "Pending". The
-- request id is returned in `info.request_id` on success and on failures
-- after submission; passing it back as `request_id` resumes polling instead
-- of paying for a second search.
--
-- err is a stable token; info = {status=, retry_after=, discard=,
-- request_id=}:
--   "no_api_key"        WM_OUTSCRAPER_API_KEY unset (discard)
--   "auth"              401/403 (discard: a retry cannot help)
--   "payment_required"  402 (retry_after 3600)
--   "rate_limited"      429 (retry_after from Retry-After, else 60)
--   "server_error"      5xx (retry_after from Retry-After, if any)
--   "bad_request"       other 4xx (discard)
--   "bad_response"      not the JSON expected
--   "pending"           still pending after poll_timeout (request_id set)
--   "failure"           the task ended with status "Failure"
--   "timeout", "connect", "dns", "tls", ...  from wm.http
--
-- Config (section `outscraper`; the key only from the environment):
--   api_key (WM_OUTSCRAPER_API_KEY), base_url = "https://api.app.outscraper.com",
--   search_path = "/maps/search-v3", reviews_path = "/maps/reviews-v3",
--   language = "en", enrichment = {"domains_service"} (emails; paid),
--   poll_interval = 5, poll_timeout = 300, timeout = 60 (per HTTP call).
local leads = require "lib.leads"

local type, error, tostring, tonumber, ipairs, pairs, getmetatable = type, error, tostring, tonumber, ipairs,
    pairs, getmetatable
local floor, min, max = math.floor, math.min, math.max
local byte, format, gsub, upper = string.byte, string.format, string.gsub, string.upper
local concat = table.concat
local getenv = os.getenv

local _M = { _VERSION = "0.1" }

_M.DEFAULTS = {
    base_url = "https://api.app.outscraper.com",
    search_path = "/maps/search-v3",
    reviews_path = "/maps/reviews-v3",
    language = "en",
    enrichment = { "domains_service" },
    poll_interval = 5,
    poll_timeout = 300,
    timeout = 60,
}

local MAX_LIMIT = 200
local val = leads.val

local function settings()
    local c = {}
    for k, v in pairs(_M.DEFAULTS) do
        c[k] = v
    end
    local oc = wm.config and wm.config.outscraper
    if type(oc) == "table" then
        for k, v in pairs(oc) do
            c[k] = v
        end
    end
    if type(c.api_key) ~= "string" or c.api_key == "" then
        c.api_key = getenv("WM_OUTSCRAPER_API_KEY")
    end
    c.base_url = gsub(tostring(c.base_url), "/+$", "")
    return c
end

local function urlencode(s)
    return (gsub(tostring(s), "[^%w%-._~]", function(ch) return format("%%%02X", byte(ch)) end))
end

local function query_string(params)
    local parts = {}
    for _, kv in ipairs(params) do
        parts[#parts + 1] = urlencode(kv[1]) .. "=" .. urlencode(kv[2])
    end
    return concat(parts, "&")
end

local function retry_after(v)
    local n = tonumber(v)
    if n and n >= 0 then
        return min(floor(n), 86400)
    end
    return nil
end

local function excerpt(body)
    return leads.text(type(body) == "string" and body or "", 300)
end

-- One GET against the API; returns the decoded JSON body | nil, err, info.
local function call(cfg, path, params)
    local url = cfg.base_url .. path .. (params and ("?" .. query_string(params)) or "")
    local res, err = wm.http.request {
        method = "GET", url = url, timeout = cfg.timeout,
        headers = { ["X-API-KEY"] = cfg.api_key, Accept = "application/json" },
    }
    if not res then
        return nil, err, {}
    end
    local s = res.status
    local h = res.headers or {}
    if s == 401 or s == 403 then
        return nil, "auth", { status = s, discard = true, detail = excerpt(res.body) }
    elseif s == 402 then
        return nil, "payment_required", { status = s, retry_after = 3600, detail = excerpt(res.body) }
    elseif s == 429 then
        return nil, "rate_limited", { status = s, retry_after = retry_after(h["retry-after"]) or 60 }
    elseif s >= 500 then
        return nil, "server_error", { status = s, retry_after = retry_after(h["retry-after"]) }
    elseif s >= 400 then
        return nil, "bad_request", { status = s, discard = true, detail = excerpt(res.body) }
    end
    local body = wm.json.decode(res.body or "")
    if type(body) ~= "table" then
        return nil, "bad_response", { status = s, detail = excerpt(res.body) }
    end
    return body
end

-- Follows an async task to its end: returns data, info | nil, err, info.
-- The results are always fetched from base_url (never from the
-- results_location the answer names: the API key goes only to base_url).
local function settle(cfg, body)
    local id = val(body.id)
    local status = val(body.status)
    local give_up = wm.monotonic() + cfg.poll_timeout
    while status == "Pending" do
        if type(id) ~= "string" or not id:match("^[%w%-_]+$") or #id > 200 then
            return nil, "bad_response", { detail = "a pending task without a usable id" }
        end
        if wm.monotonic() >= give_up then
            return nil, "pending", { request_id = id, retry_after = 60 }
        end
        wm.sleep(cfg.poll_interval)
        local nb, err, info = call(cfg, "/requests/" .. id)
        if not nb then
            info.request_id = id
            return nil, err, info
        end
        body, status = nb, val(nb.status)
    end
    if status ~= nil and status ~= "Success" then
        return nil, "failure", { request_id = type(id) == "string" and id or nil,
                                 detail = leads.text(tostring(status), 100) }
    end
    return val(body.data), { request_id = type(id) == "string" and id or nil }
end

-- Places from `data`: one list per query ([[place, ...], ...]) or a flat
-- list of places.
local function places_of(data)
    local out = {}
    if type(data) ~= "table" then
        return out
    end
    local array_mt = wm.json.array_mt
    for _, item in ipairs(data) do
        if type(item) == "table" then
            if item[1] ~= nil or getmetatable(item) == array_mt then
                for _, p in ipairs(item) do
                    if type(p) == "table" then
                        out[#out + 1] = p
                    end
                end
            elseif val(item.name) or val(item.place_id) or val(item.google_id) then
                out[#out + 1] = item
            end
        end
    end
    return out
end

local function run(cfg, path, params, request_id)
    if type(cfg.api_key) ~= "string" or cfg.api_key == "" then
        return nil, "no_api_key", { discard = true }
    end
    if request_id ~= nil then
        if type(request_id) ~= "string" then
            error("request_id must be a string", 3)
        end
        return settle(cfg, { id = request_id, status = "Pending" })
    end
    local body, err, info = call(cfg, path, params)
    if not body then
        return nil, err, info
    end
    return settle(cfg, body)
end

function _M.search(opts)
    local usage = "usage: outscraper.search{city=, state=, industry=[, country=, limit=, request_id=]}"
    if type(opts) ~= "table" or type(opts.city) ~= "string" or type(opts.state) ~= "string"
        or type(opts.industry) ~= "string" or opts.city == "" or opts.industry == "" then
        error(usage, 2)
    end
    if opts.limit ~= nil and type(opts.limit) ~= "number" then
        error(usage .. ": limit must be a number", 2)
    end
    local cfg = settings()
    local country = upper(opts.country or "US")
    local limit = max(1, min(MAX_LIMIT, floor(opts.limit or 20)))
    local query = concat({ opts.industry, opts.city, opts.state, country == "US" and "USA" or country }, ", ")
    local params = {
        { "query", query }, { "organizationsPerQueryLimit", limit }, { "region", country },
        { "language", cfg.language }, { "dropDuplicates", "true" }, { "async", "true" },
    }
    for _, e in ipairs(type(cfg.enrichment) == "table" and cfg.enrichment or {}) do
        params[#params + 1] = { "enrichment", e }
    end
    local data, info, extra = run(cfg, cfg.search_path, params, opts.request_id)
    if data == nil and type(info) == "string" then
        return nil, info, extra
    end
    local places = places_of(data)
    while #places > limit do
        places[#places] = nil
    end
    return places, info
end

function _M.reviews(opts)
    if type(opts) ~= "table" or type(opts.place) ~= "table" then
        error("usage: outscraper.reviews{place=[, limit=, request_id=]}", 2)
    end
    if opts.limit ~= nil and type(opts.limit) ~= "number" then
        error("usage: outscraper.reviews{place=, limit=}: limit must be a number", 2)
    end
    local place = opts.place
    local id = val(place.google_id) or val(place.place_id)
    if type(id) ~= "string" or id == "" or #id > 200 then
        return nil, "place has no usable google_id or place_id", { discard = true }
    end
    local cfg = settings()
    local limit = max(0, min(100, floor(opts.limit or 10)))
    if limit == 0 then
        return wm.json.array({}), {}
    end
    local params = {
        { "query", id }, { "reviewsLimit", limit }, { "limit", 1 }, { "sort", "newest" },
        { "language", cfg.language }, { "async", "true" },
    }
    local data, info, extra = run(cfg, cfg.reviews_path, params, opts.request_id)
    if data == nil and type(info) == "string" then
        return nil, info, extra
    end
    local out = {}
    local p = places_of(data)[1]
    local list = p and val(p.reviews_data)
    if type(list) == "table" then
        for _, r in ipairs(list) do
            if type(r) == "table" and #out < limit then
                out[#out + 1] = r
            end
        end
    end
    return wm.json.array(out), info
end

_M._places_of = places_of
_M._query_string = query_string

return _M
