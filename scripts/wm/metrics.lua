-- wm.metrics: process metrics in the Prometheus text format (served at
-- /metrics by scripts/web/health.lua). Each `wm serve` worker keeps its own;
-- every series carries no worker label, so scrape each worker or sum.
--
--   metrics.gauge(name, help, fn)    fn() -> number, or a list of
--                                    { labels = {k = v}, value = n }; called at
--                                    each scrape (the pool and jobs hook in here)
--   metrics.counter(name, help)      -> c; c:inc([n], [labels])
--   metrics.observe_http(route, status, seconds)   the HTTP server's hot path
--   metrics.render()                 -> the exposition text
local M = {}

local type, pairs, ipairs, tostring, pcall, format = type, pairs, ipairs, tostring, pcall, string.format
local concat, sort, gsub, floor = table.concat, table.sort, string.gsub, math.floor

local BUCKETS = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
local NB = #BUCKETS

local routes = {}      -- "METHOD label" -> stats; survives route rebuilds
local route_order = {}
local gauges, gauge_names = {}, {}
local counters, counter_names = {}, {}

local function esc(v)
    return (gsub(tostring(v), '[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

local function num(v)
    if v ~= v then
        return "NaN"
    elseif v == math.huge then
        return "+Inf"
    elseif v == -math.huge then
        return "-Inf"
    elseif v == floor(v) and v > -1e15 and v < 1e15 then
        return format("%d", v)
    end
    return format("%.14g", v)
end

local function labels_text(labels)
    if not labels then
        return ""
    end
    local keys = {}
    for k in pairs(labels) do
        keys[#keys + 1] = k
    end
    if #keys == 0 then
        return ""
    end
    sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do
        parts[i] = k .. '="' .. esc(labels[k]) .. '"'
    end
    return "{" .. concat(parts, ",") .. "}"
end

-- The stats object for a route, kept by method and label across rebuilds.
function M.route_stats(method, label)
    local key = method .. " " .. label
    local st = routes[key]
    if not st then
        local b = {}
        for i = 1, NB + 1 do
            b[i] = 0
        end
        st = { method = method, route = label, status = {}, buckets = b, sum = 0, count = 0 }
        routes[key] = st
        route_order[#route_order + 1] = key
    end
    return st
end

local unmatched

-- Records one answered request. `route` is the router's route (or nil).
function M.observe_http(route, status, seconds)
    local st
    if route then
        st = route.stats
        if not st then
            st = M.route_stats(route.method, route.label)
            route.stats = st
        end
    else
        if not unmatched then
            unmatched = M.route_stats("*", "unmatched")
        end
        st = unmatched
    end
    local s = st.status
    s[status] = (s[status] or 0) + 1
    st.sum = st.sum + seconds
    st.count = st.count + 1
    local b = st.buckets
    for i = 1, NB do
        if seconds <= BUCKETS[i] then
            b[i] = b[i] + 1
            return
        end
    end
    b[NB + 1] = b[NB + 1] + 1
end

function M.gauge(name, help, fn)
    if type(name) ~= "string" or not name:match("^[%a_:][%w_:]*$") or type(fn) ~= "function" then
        error("usage: metrics.gauge(name, help, fn)", 2)
    end
    if not gauges[name] then
        gauge_names[#gauge_names + 1] = name
    end
    gauges[name] = { help = help or name, fn = fn }
end

local Counter = {}
Counter.__index = Counter

function Counter:inc(n, labels)
    n = n or 1
    local key = labels and labels_text(labels) or ""
    self.values[key] = (self.values[key] or 0) + n
end

function M.counter(name, help)
    if type(name) ~= "string" or not name:match("^[%a_:][%w_:]*$") then
        error("usage: metrics.counter(name, help)", 2)
    end
    local c = counters[name]
    if not c then
        c = setmetatable({ name = name, help = help or name, values = {} }, Counter)
        counters[name] = c
        counter_names[#counter_names + 1] = name
    end
    return c
end

local started = os.time()

-- fn() runs before each render (counts kept elsewhere folded in).
local before_render = {}
function M.before_render(fn)
    before_render[#before_render + 1] = fn
end

function M.render()
    for _, fn in ipairs(before_render) do
        fn()
    end
    local out = {}
    local function w(s)
        out[#out + 1] = s
    end
    w("# HELP wm_http_requests_total HTTP requests answered, by route and status.")
    w("# TYPE wm_http_requests_total counter")
    for _, key in ipairs(route_order) do
        local st = routes[key]
        local statuses = {}
        for code in pairs(st.status) do
            statuses[#statuses + 1] = code
        end
        sort(statuses)
        for _, code in ipairs(statuses) do
            w(format('wm_http_requests_total{method="%s",route="%s",status="%d"} %s', esc(st.method),
                esc(st.route), code, num(st.status[code])))
        end
    end
    w("# HELP wm_http_request_duration_seconds Time from dispatch to the handler's answer.")
    w("# TYPE wm_http_request_duration_seconds histogram")
    for _, key in ipairs(route_order) do
        local st = routes[key]
        local lab = format('method="%s",route="%s"', esc(st.method), esc(st.route))
        local cum = 0
        for i = 1, NB do
            cum = cum + st.buckets[i]
            w(format('wm_http_request_duration_seconds_bucket{%s,le="%s"} %s', lab, num(BUCKETS[i]), num(cum)))
        end
        w(format('wm_http_request_duration_seconds_bucket{%s,le="+Inf"} %s', lab, num(st.count)))
        w(format("wm_http_request_duration_seconds_sum{%s} %s", lab, num(st.sum)))
        w(format("wm_http_request_duration_seconds_count{%s} %s", lab, num(st.count)))
    end
    w("# HELP wm_lua_memory_bytes Memory used by the Lua heap.")
    w("# TYPE wm_lua_memory_bytes gauge")
    w("wm_lua_memory_bytes " .. num(floor(collectgarbage("count") * 1024)))
    w("# HELP wm_process_start_time_seconds Start time of the process (Unix time).")
    w("# TYPE wm_process_start_time_seconds gauge")
    w("wm_process_start_time_seconds " .. num(started))
    for _, name in ipairs(counter_names) do
        local c = counters[name]
        w("# HELP " .. name .. " " .. esc(c.help))
        w("# TYPE " .. name .. " counter")
        local keys = {}
        for k in pairs(c.values) do
            keys[#keys + 1] = k
        end
        sort(keys)
        for _, k in ipairs(keys) do
            w(name .. k .. " " .. num(c.values[k]))
        end
    end
    for _, name in ipairs(gauge_names) do
        local g = gauges[name]
        local ok, v = pcall(g.fn)
        if ok and v ~= nil then
            w("# HELP " .. name .. " " .. esc(g.help))
            w("# TYPE " .. name .. " gauge")
            if type(v) == "number" then
                w(name .. " " .. num(v))
            elseif type(v) == "table" then
                for _, s in ipairs(v) do
                    if type(s) == "table" and type(s.value) == "number" then
                        w(name .. labels_text(s.labels) .. " " .. num(s.value))
                    end
                end
            end
        end
    end
    out[#out + 1] = ""
    return concat(out, "\n")
end

return M
