-- /healthz and /metrics.
--
-- /healthz answers 200 while the database answered a background ping
-- (SELECT 1 every 2 s, see scripts/wm/http_server.lua) within the last 5 s,
-- else 503; the body is a short JSON reason. It never queries by itself, so
-- a load balancer polling it costs nothing.
-- /metrics is the Prometheus text format (scripts/wm/metrics.lua).
local server = require "wm.http_server"
local metrics = require "wm.metrics"

local JSON = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }
local PROM = { ["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8", ["Cache-Control"] = "no-store" }

-- Polled every few seconds by load balancers and Prometheus: not worth an
-- access-log line each (a 503 is still logged: answers >= 500 always are).
local QUIET = { access_log = false, role = "public" }

wm.route("GET", "/healthz", function()
    local ok, info = server.health()
    return { status = ok and 200 or 503, headers = JSON, body = wm.json.encode(info) }
end, QUIET)

wm.route("GET", "/metrics", function()
    return { status = 200, headers = PROM, body = metrics.render() }
end, QUIET)

-- The pool and the job scheduler of this process.
local function pool(field)
    return function()
        local s = wm.db.stats()
        return s and s[field] or 0
    end
end
metrics.gauge("wm_db_connections", "Database connections in the pool.", pool("size"))
metrics.gauge("wm_db_connections_ready", "Database connections up.", pool("ready"))
metrics.gauge("wm_db_connections_busy", "Database connections with queries in flight or pinned.", pool("busy"))
metrics.gauge("wm_db_queries_waiting", "Queries waiting for a connection.", pool("waiting"))
metrics.gauge("wm_db_queries_in_flight", "Queries sent and not answered yet.", pool("in_flight"))
metrics.gauge("wm_jobs_running", "Jobs running in this process, by kind.", function()
    local s = wm.jobs.stats()
    local out = {}
    for kind, k in pairs(s.kinds or {}) do
        out[#out + 1] = { labels = { kind = kind }, value = k.running }
    end
    return out
end)
metrics.gauge("wm_campaigns_stuck", "Campaigns left in 'sending' that may have been sent (wm campaigns stuck).",
    function()
        return require("domain.campaigns").stuck_count()
    end)
metrics.gauge("wm_jobs_completed", "Jobs this process completed since it started.", function()
    return wm.jobs.stats().completed or 0
end)
metrics.gauge("wm_jobs_failed_attempts", "Job attempts that failed here since start (retried or discarded).",
    function()
        local s = wm.jobs.stats()
        return (s.retried or 0) + (s.discarded or 0)
    end)
