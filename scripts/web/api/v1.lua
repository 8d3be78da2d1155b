-- /api/v1: the dashboard's read data as JSON, for scripts and other tools.
--
-- Who: the dashboard's session cookie, or Authorization: Bearer <token>
-- (`wm users token`); the router's guard (lib.admin_auth) answers 401 for
-- neither, 403 below the route's role, and 403 for a mutating request made
-- with a cookie but without the session's CSRF token (a bearer token needs
-- none: no browser sends it by itself). Each user may make admin.api_rate
-- requests a second (bursts of twice that, at least one), else 429.
--
-- Lists answer { "data": [...], "next_cursor": "..." | null }: ?limit=
-- (1..500, default 50), ?sort=name or -name, ?cursor= (from the previous
-- page), and the list's filters as query parameters (web.admin.queries
-- has them). One object: { "data": {...} }. Errors: { "error": { "code":
-- "unauthorized" | "forbidden" | "not_found" | "bad_request" | "bad_cursor"
-- | "rate_limited" | "internal", "message": "..." } }. Times (keys ending
-- in _at, _start, _end) are ISO 8601 in UTC.
local queries = require "web.admin.queries"

local MAX_LIMIT, DEFAULT_LIMIT = 500, 50

local HEADERS = {
    ["Content-Type"] = "application/json",
    ["Cache-Control"] = "no-store",
    ["X-Content-Type-Options"] = "nosniff",
}

-- <, > and & never appear outside strings in JSON, so escaping them is
-- always valid; a response opened as HTML by mistake then holds no markup.
local ESCAPE = { ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" }

-- Times as ISO 8601 in UTC ("2026-11-30T03:08:25.123456Z"): every value
-- of a key ending in _at, _start or _end that reads as PostgreSQL's text of
-- a timestamp (every session runs in UTC: core/pg.c), anywhere in the
-- answer. Other keys are left alone, whatever their text looks like.
local function iso(v)
    local d, t, zone = v:match("^(%d%d%d%d%-%d%d%-%d%d) (%d%d:%d%d:%d%d[%.%d]*)([%+%-]?[%d:]*)$")
    if not d or (zone ~= "" and not zone:match("^%+00[:0]*$")) then
        return v
    end
    return d .. "T" .. t .. "Z"
end

local function iso_times(x, seen)
    seen = seen or {}
    if seen[x] then
        return
    end
    seen[x] = true
    for k, v in pairs(x) do
        if type(v) == "table" then
            iso_times(v, seen)
        elseif type(v) == "string" and type(k) == "string"
            and (k:sub(-3) == "_at" or k:sub(-6) == "_start" or k:sub(-4) == "_end") then
            x[k] = iso(v)
        end
    end
end

local function respond(status, body, extra)
    local h = {}
    for k, v in pairs(HEADERS) do
        h[k] = v
    end
    for k, v in pairs(extra or {}) do
        h[k] = v
    end
    iso_times(body)
    return { status = status, headers = h, body = (wm.json.encode(body):gsub("[<>&]", ESCAPE)) }
end

local STATUS = { bad_request = 400, bad_cursor = 400, unauthorized = 401, forbidden = 403, not_found = 404,
                 rate_limited = 429, internal = 500 }

local function fail(code, message, extra)
    return respond(STATUS[code], { error = { code = code, message = message } }, extra)
end

-- Each user's requests per second: nil when this one may go, else the 429.
local function throttled(req)
    local rate = tonumber(wm.config.admin and wm.config.admin.api_rate) or 0
    if rate <= 0 then
        return nil
    end
    local wait, retry_after = require("lib.ratelimit").take("api:" .. req.user.id, rate,
        { burst = math.max(1, 2 * rate), max_wait = 0 })
    if wait then
        return nil
    end
    if type(retry_after) ~= "number" then
        error("api rate limit: " .. tostring(retry_after), 0)
    end
    local s = math.max(1, math.ceil(retry_after))
    return fail("rate_limited", ("at most %g requests a second; try again in %d s"):format(rate, s),
        { ["Retry-After"] = tostring(s) })
end

-- A handler with the API's answers: a raise is a JSON 500 (the traceback
-- in the log only), a database that does not answer a 503.
local function api(fn)
    return function(req)
        local ok, res = xpcall(function()
            return throttled(req) or fn(req)
        end, debug.traceback)
        if ok then
            return res
        end
        local err = tostring(res)
        if err:find("database unavailable", 1, true) or err:find("connection lost", 1, true) then
            local r = fail("internal", "the database is not answering; try again shortly", { ["Retry-After"] = "5" })
            r.status = 503
            return r
        end
        wm.log.error("api: handler failed", { request_id = req.id, path = req.path, error = err })
        return fail("internal", "internal error; request id " .. tostring(req.id))
    end
end

local RESERVED = { limit = true, cursor = true, sort = true }

-- GET /api/v1/<entity>: one page of a web.admin.queries list.
local function list(entity)
    return api(function(req)
        local q = req.query or {}
        local limit = DEFAULT_LIMIT
        if q.limit and q.limit ~= "" then
            limit = q.limit:match("^%d+$") and tonumber(q.limit)
            if not limit or limit < 1 or limit > MAX_LIMIT then
                return fail("bad_request", ("limit must be a whole number from 1 to %d"):format(MAX_LIMIT))
            end
        end
        local filters = {}
        for k, v in pairs(q) do
            if not RESERVED[k] and v ~= "" then
                filters[k] = v
            end
        end
        local rows, next_or_code, message = queries.list(entity, {
            filters = filters, sort = q.sort ~= "" and q.sort or nil, cursor = q.cursor, limit = limit })
        if not rows then
            return fail(next_or_code, message)
        end
        return respond(200, { data = wm.json.array(rows), next_cursor = next_or_code or wm.null })
    end)
end

local VIEWER = { role = "viewer" }

wm.route("GET", "/api/v1/me", api(function(req)
    local u = req.user
    return respond(200, { data = { id = u.id, email = u.email, role = u.role, name = u.name or wm.null,
                                   via = req.session and "session" or "token" } })
end), VIEWER)

for _, entity in ipairs({ "businesses", "sites", "campaigns", "customers", "subscriptions", "payments", "webhooks",
                          "jobs", "activity", "grid", "tickets", "prompts" }) do
    wm.route("GET", "/api/v1/" .. entity, list(entity), VIEWER)
end

wm.route("GET", "/api/v1/businesses/:id", api(function(req)
    local id = req.params.id
    local b = queries.is_uuid(id) and queries.business(id)
    if not b then
        return fail("not_found", "no business with id " .. id)
    end
    b.sites = wm.json.array(queries.business_sites(id))
    b.campaigns = wm.json.array(queries.business_campaigns(id))
    b.tracking_events = wm.json.array(queries.business_tracking_events(id))
    b.llm_calls = wm.json.array(queries.business_llm_calls(id))
    b.activity = wm.json.array(queries.business_activity(id))
    return respond(200, { data = b })
end), VIEWER)

wm.route("GET", "/api/v1/metrics", api(function()
    local summary = queries.summary()
    local m, f = queries.metrics(summary), queries.funnel(summary)
    local funnel, prev = {}, nil
    for _, s in ipairs(queries.FUNNEL_STEPS) do
        local n = f[s[1]]
        funnel[#funnel + 1] = { step = s[1], label = s[2], count = n,
                                rate = (prev and prev > 0) and n / prev or wm.null }
        prev = n
    end
    local cost = queries.llm_cost_usd_30d()
    local queue, depth = queries.queue(), 0
    for _, k in ipairs(queue) do
        depth = depth + k.waiting + k.running + k.retryable
    end
    return respond(200, { data = {
        days = 30,
        dashboard = { sites_generated = m.sites_generated, conversions = m.conversions, emails_sent = m.emails_sent },
        funnel = funnel,
        llm_cost_usd = cost,
        llm_cost_per_site_usd = f.sites > 0 and cost / f.sites or wm.null,
        queue = { depth = depth, by_kind = wm.json.array(queue) },
    } })
end), VIEWER)

-- Retry and cancel, as on the Jobs page (domain.jobs, with the actor).
local function job_action(name)
    return api(function(req)
        local id = req.params.id
        if not id:match("^%d+$") or #id > 18 then
            return fail("not_found", "no job with id " .. id)
        end
        if not wm.db.one("SELECT 1 AS ok FROM jobs WHERE id = $1", id) then
            return fail("not_found", "no job with id " .. id)
        end
        local ok, err = wm.db.tx(function()
            return require("domain.jobs")[name](tonumber(id), req.actor)
        end)
        if not ok then
            return fail("bad_request", tostring(err))
        end
        local row = assert(wm.db.one("SELECT id, kind, status FROM jobs WHERE id = $1", id))
        return respond(200, { data = row })
    end)
end
wm.route("POST", "/api/v1/jobs/:id/retry", job_action("retry"), { role = "editor" })
wm.route("POST", "/api/v1/jobs/:id/cancel", job_action("cancel"), { role = "editor" })

-- Anything else under /api/v1: JSON rather than the server's text 404/405.
-- Public, so that a wrong path says so whoever asks (it reveals nothing).
wm.route("*", "/api/v1/*rest", function(req)
    local allow = require("wm.router").allowed(req.path)
    if allow then
        local r = fail("bad_request", req.method .. " is not allowed here; use " .. allow, { Allow = allow })
        r.status = 405
        return r
    end
    return fail("not_found", "no such API path: " .. req.path)
end, { role = "public" })
