-- wm.http_server: the HTTP server of `wm serve`: the C server
-- (wm.core.httpd), the route table (wm.router), metrics (wm.metrics), the
-- access log and the database health that /healthz reports.
--
--   http_server.start{listen = "127.0.0.1:8080", dirs = {extra route folders},
--                     reuseport = bool, worker = n}   -> server | nil, err
--   http_server.stop([drain_seconds])                 waits for requests in flight
--   http_server.dispatch(req)                         -> response (one request;
--                                                        what each request task runs)
--   http_server.health()                              -> ok, info (for /healthz)
--   http_server.server                                the running server, or nil
--
-- Limits come from wm.config.http (max_header_bytes, max_body_bytes,
-- upload_paths with upload_max_body_bytes, max_connections, header_timeout,
-- idle_timeout, body_timeout, min_body_rate, body_rate_grace).
--
-- The access log (one JSON line per request) follows wm.config.log: access
-- (false, or WM_LOG_ACCESS=false, turns it off), access_file (empty: stderr
-- with the other lines; a relative name is under paths.var) and
-- access_sample (the share of requests logged, 0..1). A route's own
-- access_log option (false, true or a share; wm.route's options) replaces
-- access_sample for that route. Answers with status >= 500 are always
-- logged; a sampled line carries `sample` (its share). SIGUSR1 reopens the
-- access file (logrotate's postrotate).
local core = require "wm.core"
local httpd = require "wm.core.httpd"
local router = require "wm.router"
local metrics = require "wm.metrics"

local M = {}

local type, tostring, tonumber, xpcall = type, tostring, tonumber, xpcall
local floor = math.floor
local random = math.random
local traceback = debug.traceback
local monotonic = core.monotonic
local log = core.log
local match = router.match
local observe = metrics.observe_http

local HEALTH_INTERVAL = 2      -- seconds between database pings
local HEALTH_FRESH = 5         -- a ping this recent means healthy

-- The access log: off entirely, or the share of requests logged for routes
-- that say nothing themselves.
local access_log = true
local access_sample = 1

-- The share of this route's requests to log.
local function sample_rate(route)
    local v = route and route.access_log
    if v == nil then
        return access_sample
    elseif v == true then
        return 1
    elseif v == false then
        return 0
    end
    return v
end

local TEXT = { ["Content-Type"] = "text/plain; charset=utf-8" }
local HTML = "text/html; charset=utf-8"

local function internal_error(id)
    return { status = 500, headers = TEXT, body = "Internal Server Error\nrequest id: " .. id .. "\n" }
end

local NOT_FOUND = { status = 404, headers = TEXT, body = "404 Not Found\n" }

-- A handler that raised because the database is down (the pool's "database
-- unavailable" / "connection lost") is not broken: 503 + Retry-After, so
-- clients come back instead of seeing a 500.
local DB_DOWN = { status = 503, headers = { ["Content-Type"] = TEXT["Content-Type"], ["Retry-After"] = "5" },
                  body = "503 Service Unavailable: the database is not answering; try again shortly.\n" }
local function db_down(err)
    return err:find("database unavailable", 1, true) or err:find("connection lost", 1, true)
end

-- Runs one request: route, handler (errors become a 500 naming the request
-- id; the traceback goes to the log only), metrics, access log.
local function dispatch(req)
    local t0 = monotonic()
    local headers = req.headers
    local route, params = match(req.method, req.path, headers.host)
    local res
    if route then
        req.params = params
        req.route = route
        local ok, r = xpcall(route.handler, traceback, req)
        if not ok and db_down(tostring(r)) then
            log.warn("http: database unavailable", { request_id = req.id, route = route.label })
            res = DB_DOWN
        elseif not ok then
            log.error("http: handler failed", { request_id = req.id, route = route.label, error = tostring(r) })
            res = internal_error(req.id)
        elseif type(r) == "table" then
            res = r
        elseif type(r) == "string" then
            res = { status = 200, headers = { ["Content-Type"] = HTML }, body = r }
        else
            log.error("http: handler returned no response", { request_id = req.id, route = route.label,
                                                              got = type(r) })
            res = internal_error(req.id)
        end
    else
        local allow = router.allowed(req.path)
        if allow then
            res = { status = 405, headers = { ["Content-Type"] = TEXT["Content-Type"], Allow = allow },
                    body = "405 Method Not Allowed\n" }
        else
            res = NOT_FOUND
        end
    end
    local status = tonumber(res.status) or 200
    local dt = monotonic() - t0
    observe(route, status, dt)
    if access_log then
        -- `sampled` is the share when the line was kept by chance.
        local rate, sampled = sample_rate(route), nil
        local kept = status >= 500 or rate >= 1
        if not kept and rate > 0 and random() < rate then
            kept, sampled = true, rate
        end
        if kept then
            local body = res.body
            log.access {
                id = req.id, method = req.method, route = route and route.label or "-", status = status,
                bytes = type(body) == "string" and #body or 0, ms = floor(dt * 100000 + 0.5) / 100,
                sample = sampled,
            }
        end
    end
    return res
end
M.dispatch = dispatch

-- ---- answers kept in C ----

-- Keeps `ok` (and `not_modified`, its 304 for If-None-Match `etag`) for
-- `ttl` seconds as the answer to every GET or HEAD of this request's host,
-- path and Accept-Encoding (wm.core.httpd's cache_put): the server answers
-- them without running Lua, logging and counting each as this route's.
-- Only for a host route's answer the same for everyone (a published page);
-- not for a request with a query. Returns whether it was kept.
function M.keep(req, ok, not_modified, etag, ttl)
    local route = req.route
    local host = req.params and req.params.host
    if not route or not route.host or not host or req.query_string ~= "" or ttl <= 0 then
        return false
    end
    local ae = req.headers["accept-encoding"]
    return httpd.cache_put {
        host = host, path = req.path, accept_encoding = type(ae) == "string" and ae or "",
        ok = ok, not_modified = not_modified, etag = etag, ttl = ttl, label = route.label,
        log_rate = access_log and sample_rate(route) or 0,
    }
end

-- The cache's hits since the last fold, counted into the routes' metrics
-- (as answered in no time: the first bucket).
local folded = {}
local function fold_cache_hits()
    for _, h in ipairs(httpd.cache_hits()) do
        local key = h.label .. " " .. h.status
        local new = h.count - (folded[key] or 0)
        if new > 0 then
            folded[key] = h.count
            local st = metrics.route_stats("*", h.label)
            st.status[h.status] = (st.status[h.status] or 0) + new
            st.count = st.count + new
            st.buckets[1] = st.buckets[1] + new
        end
    end
end
metrics.before_render(fold_cache_hits)
router.on_change(httpd.cache_clear)

-- ---- health: a background ping, read by /healthz ----

local health = { running = false }

local function db_available()
    return type(wm) == "table" and type(wm.db) == "table" and type(wm.db.query) == "function"
end

function M.health()
    if not db_available() then
        return false, { status = "unavailable", reason = "no database module" }
    end
    if not health.running then
        return false, { status = "unavailable", reason = "health check not running" }
    end
    local last = health.last_ok
    if last then
        local age = monotonic() - last
        if age <= HEALTH_FRESH then
            return true, { status = "ok", db_age_ms = floor(age * 1000) }
        end
    end
    return false, {
        status = "unavailable",
        reason = health.last_err and ("database: " .. health.last_err) or "database has not answered yet",
    }
end

local function start_health()
    if health.running or not db_available() then
        return
    end
    health.running = true
    health.wake = wm.event()
    health.task = wm.spawn(function()
        while health.running do
            local rows, err = wm.db.query("SELECT 1")
            if rows then
                if health.last_err then
                    log.info("http: health: database answers again")
                end
                health.last_ok = monotonic()
                health.last_err = nil
            else
                -- A short reason: the first line, at most 120 bytes.
                err = tostring(err):match("^[^\n]*"):sub(1, 120)
                if health.last_err ~= err then
                    log.warn("http: health: database did not answer", { error = err })
                end
                health.last_err = err
            end
            if not health.running then
                break
            end
            health.wake:wait(HEALTH_INTERVAL)
        end
    end)
end

local function stop_health()
    if not health.running then
        return
    end
    health.running = false
    health.wake:set()
end

-- ---- start / stop ----

local function cfg_number(t, key, default)
    local v = t and tonumber(t[key])
    if v == nil then
        return default
    end
    return v
end

-- "host:port", "[::1]:port", ":port" or "port" -> host, port
function M.parse_listen(s)
    s = tostring(s or "")
    local host, port = s:match("^%[([^%]]+)%]:(%d+)$")
    if not host then
        host, port = s:match("^([^:]*):(%d+)$")
    end
    if not host then
        port = s:match("^(%d+)$")
        host = ""
    end
    port = tonumber(port)
    if not port or port > 65535 then
        return nil, ("bad listen address %q (want HOST:PORT)"):format(s)
    end
    if host == "" then
        host = "127.0.0.1"
    end
    return host, port
end

-- The access file's path from log.access_file: "" (stderr), absolute, or
-- under paths.var.
local function access_path(config)
    local name = config.log and config.log.access_file or ""
    if name == "" or name:sub(1, 1) == "/" then
        return name
    end
    local var = (config.paths and config.paths.var) or "var"
    return var .. "/" .. name
end

-- Sets up the access log from config; nil, err when its file cannot be
-- opened.
local function open_access_log(config)
    local lc = config.log or {}
    access_log = lc.access ~= false
    local env = os.getenv("WM_LOG_ACCESS")
    if env and (env:lower() == "false" or env == "0" or env:lower() == "off" or env:lower() == "no") then
        access_log = false
    end
    access_sample = tonumber(lc.access_sample) or 1
    local path = access_log and access_path(config) or ""
    if path ~= "" then
        local dir = path:match("^(.*)/[^/]*$")
        if dir and dir ~= "" then
            core.mkdir_p(dir)
        end
    end
    local ok, err = log.access_open(path)
    if not ok then
        return nil, "log.access_file: " .. tostring(err)
    end
    -- logrotate renames the file, then sends SIGUSR1: reopen by its name.
    core.on_signal("usr1", function()
        local done, e = log.reopen()
        if done then
            log.info("log: reopened", { access_file = path ~= "" and path or nil })
        else
            log.error("log: reopen failed", { error = e })
        end
    end)
    return path
end

function M.start(opts)
    opts = opts or {}
    if M.server then
        return nil, "http server already running"
    end
    local config = (type(wm) == "table" and wm.config) or {}
    local hc = config.http or {}
    local host, port = M.parse_listen(opts.listen or hc.listen or "127.0.0.1:8080")
    if not host then
        return nil, port
    end
    local access_file, aerr = open_access_log(config)
    if not access_file then
        return nil, aerr
    end

    local root = (type(wm) == "table" and wm.root) or "."
    local dirs = { root .. "/scripts/web" }
    for _, d in ipairs(opts.dirs or {}) do
        dirs[#dirs + 1] = d
    end
    router.configure { dirs = dirs }
    local ok, err = router.rebuild()
    if not ok then
        return nil, "routes: " .. tostring(err)
    end

    local srv
    srv, err = httpd.listen {
        host = host, port = port, handler = dispatch, reuseport = opts.reuseport,
        max_header_bytes = cfg_number(hc, "max_header_bytes", 16384),
        max_body_bytes = cfg_number(hc, "max_body_bytes", 1048576),
        upload_paths = type(hc.upload_paths) == "table" and hc.upload_paths or { "/portal/support/" },
        upload_max_body_bytes = cfg_number(hc, "upload_max_body_bytes", 16777216),
        max_connections = cfg_number(hc, "max_connections", 10000),
        header_timeout = cfg_number(hc, "header_timeout", 10),
        idle_timeout = cfg_number(hc, "idle_timeout", 60),
        body_timeout = cfg_number(hc, "body_timeout", 60),
        min_body_rate = cfg_number(hc, "min_body_rate", 1024),
        body_rate_grace = cfg_number(hc, "body_rate_grace", 5),
    }
    if not srv then
        return nil, err
    end
    M.server = srv
    metrics.gauge("wm_http_connections", "Open HTTP connections.", function()
        return M.server and M.server:stats().connections or 0
    end)
    metrics.gauge("wm_http_requests_active", "HTTP requests being handled.", function()
        return M.server and M.server:stats().active or 0
    end)
    metrics.gauge("wm_http_rejected", "Requests the server answered itself since start (400/408/413/431/503).",
        function()
            return M.server and M.server:stats().rejected or 0
        end)
    start_health()
    local h, p = srv:address()
    log.info("http: listening", { addr = (h:find(":", 1, true) and ("[" .. h .. "]") or h) .. ":" .. p,
                                  port = p, pid = core.getpid(), worker = opts.worker,
                                  routes = #router.list(), access_log = access_log,
                                  access_file = access_file ~= "" and access_file or nil })
    return srv
end

function M.stop(drain)
    stop_health()
    local srv = M.server
    M.server = nil
    if srv then
        srv:stop(drain or 10)
    end
    return true
end

return M
