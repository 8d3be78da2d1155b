-- wm test tests/http/test_router.lua: the route table (scripts/wm/router.lua),
-- the dispatcher (scripts/wm/http_server.lua) and metrics, without sockets.
local router = require "wm.router"
local http_server = require "wm.http_server"
local metrics = require "wm.metrics"

local function h(name)
    return function() return name end
end

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

local T = {}

function T.literal_params_splat_and_specificity(t)
    router.reset()
    router.route("GET", "/a/b", h("lit"))
    router.route("GET", "/a/:x", h("param"))
    router.route("GET", "/a/*rest", h("splat"))
    router.route("GET", "/t/o/:token.gif", h("gif"))
    router.route("GET", "/t/o/:token", h("tok"))
    router.route("*", "/any/:id", h("any"))
    local r, p = router.match("GET", "/a/b")
    t.eq(r.handler(), "lit")
    r, p = router.match("GET", "/a/zz")
    t.eq({ r.handler(), p }, { "param", { x = "zz" } })
    r, p = router.match("GET", "/a/b/c/d%20e")
    t.eq({ r.handler(), p }, { "splat", { rest = "b/c/d e" } })
    r, p = router.match("GET", "/t/o/abc.gif")
    t.eq({ r.handler(), p }, { "gif", { token = "abc" } })
    r, p = router.match("GET", "/t/o/abc.png")
    t.eq({ r.handler(), p }, { "tok", { token = "abc.png" } })
    r = router.match("DELETE", "/any/3")
    t.eq(r.handler(), "any")
    t.eq(router.match("HEAD", "/a/b").handler(), "lit", "HEAD falls back to GET")
    t.eq(router.match("POST", "/a/b"), nil)
    t.eq(router.allowed("/a/b"), "GET, HEAD")
end

function T.host_routes_never_swallow_specific_ones(t)
    router.reset()
    router.route("GET", "/healthz", h("health"))
    router.route_host("*.localhost", h("site"))
    router.route_host("*.shop.localhost", h("shop"))
    router.route_host("custom.example", h("custom"))
    t.eq(router.match("GET", "/healthz", "acme.localhost:8080").handler(), "health")
    local r, p = router.match("GET", "/", "Acme.LOCALHOST:8080")
    t.eq({ r.handler(), p }, { "site", { host = "acme.localhost", subdomain = "acme" } })
    r, p = router.match("POST", "/x", "a.shop.localhost")
    t.eq({ r.handler(), p.subdomain }, { "shop", "a" })
    t.eq(router.match("GET", "/", "custom.example").handler(), "custom")
    t.eq(router.match("GET", "/", "localhost"), nil, "the bare domain is not a site")
    router.route_host("*", h("fallback"))
    t.eq(router.match("GET", "/", "elsewhere.org").handler(), "fallback")
end

function T.separate_tables(t)
    router.reset()
    router.route("GET", "/shared", h("main"))
    local rt = router.new()
    rt.route("GET", "/shared", h("own"))
    rt.route("POST", "/v1/:id", h("post"))
    t.eq(router.match("GET", "/shared").handler(), "main")
    t.eq(rt.match("GET", "/shared").handler(), "own")
    t.eq(select(2, rt.match("POST", "/v1/7")), { id = "7" })
    t.eq(router.match("POST", "/v1/7"), nil)
    t.eq(rt.allowed("/v1/7"), "POST")
    local ok, err = pcall(rt.route, "GET", "/shared", h())
    t.ok(not ok)
    t.match(err, "routed twice")
end

function T.misuse_raises(t)
    router.reset()
    t.ok(not pcall(router.route, "GET", "no-slash", h()))
    t.ok(not pcall(router.route, "BREW", "/x", h()))
    t.ok(not pcall(router.route, "GET", "/x/*a/b", h()))
    t.ok(not pcall(router.route, "GET", "/x", "not a function"))
    router.route("GET", "/dup", h())
    local ok, err = pcall(router.route, "GET", "/dup", h())
    t.ok(not ok)
    t.match(err, "routed twice")
end

function T.rebuild_swaps_only_when_every_file_loads(t)
    local dir = t.tmpdir()
    write(dir .. "/a.lua", 'wm.route("GET", "/one", function() return "one" end, { role = "public" })')
    write(dir .. "/b.lua", 'wm.route("GET", "/two", function() return "two" end, { role = "public" })')
    local saved = router.dirs()
    t.defer(function()
        router.configure { dirs = saved }
        router.rebuild()
    end)
    router.configure { dirs = { dir } }
    t.ok(router.rebuild())
    t.eq(router.match("GET", "/one").handler(), "one")
    local v = router.version
    -- A syntax error: the old table stays.
    write(dir .. "/b.lua", 'wm.route("GET", "/two", function() return "2" end')
    local ok, err = router.rebuild()
    t.eq(ok, nil)
    t.match(err, "b.lua")
    t.eq(router.version, v)
    t.eq(router.match("GET", "/two").handler(), "two")
    -- A runtime error at load: the old table stays too.
    write(dir .. "/b.lua", 'error("nope")')
    ok, err = router.rebuild()
    t.eq(ok, nil)
    t.match(err, "nope")
    t.eq(router.match("GET", "/one").handler(), "one")
    -- Fixed: the new table, and a removed route is gone.
    write(dir .. "/b.lua", 'wm.route("GET", "/three", function() return "three" end, { role = "public" })')
    t.ok(router.rebuild())
    t.eq(router.match("GET", "/three").handler(), "three")
    t.eq(router.match("GET", "/two"), nil)
end

function T.dispatch_turns_errors_into_500(t)
    router.reset()
    router.route("GET", "/boom", function() error("secret detail") end)
    router.route("GET", "/str", function() return "<b>hi</b>" end)
    router.route("GET", "/nothing", function() end)
    local req = { method = "GET", path = "/boom", headers = {}, id = "test-1" }
    local res = http_server.dispatch(req)
    t.eq(res.status, 500)
    t.match(res.body, "test%-1")
    t.ok(not res.body:find("secret"))
    res = http_server.dispatch { method = "GET", path = "/str", headers = {}, id = "test-2" }
    t.eq({ res.status, res.body }, { 200, "<b>hi</b>" })
    res = http_server.dispatch { method = "GET", path = "/nothing", headers = {}, id = "test-3" }
    t.eq(res.status, 500)
    res = http_server.dispatch { method = "GET", path = "/missing", headers = {}, id = "test-4" }
    t.eq(res.status, 404)
    res = http_server.dispatch { method = "POST", path = "/str", headers = {}, id = "test-5" }
    t.eq({ res.status, res.headers.Allow }, { 405, "GET, HEAD" })
end

function T.route_options(t)
    router.reset()
    local r = router.route("GET", "/px", h("px"), { access_log = 0.01 })
    t.eq(r.access_log, 0.01)
    t.eq(router.route_host("*.opt.test", h("site"), { access_log = false }).access_log, false)
    t.eq(router.route("GET", "/plain", h("plain")).access_log, nil)
    for _, bad in ipairs({ { access_log = 2 }, { access_log = -0.1 }, { access_log = "yes" },
                           { acess_log = false }, "access_log" }) do
        local ok, err = pcall(router.route, "GET", "/bad", h(), bad)
        t.ok(not ok, tostring(bad))
        t.match(err, "wm.route")
    end
    local ok, err = pcall(router.route_host, "bad.test", h(), { access_log = 1.5 })
    t.ok(not ok)
    t.match(err, "access_log must be")
    -- A route file gets the error at its own line.
    local dir = t.tmpdir()
    write(dir .. "/r.lua", 'wm.route("GET", "/x", function() end,\n  { role = "public", access_log = 7 })')
    local saved = router.dirs()
    t.defer(function()
        router.configure { dirs = saved }
        router.rebuild()
    end)
    router.configure { dirs = { dir } }
    ok, err = router.rebuild()
    t.eq(ok, nil)
    t.match(err, "r.lua:%d: wm.route: access_log must be")
end

-- Every route in a route file declares its least role; one that does not
-- keeps the whole table from loading, named by file and line.
function T.routes_declare_roles(t)
    local dir = t.tmpdir()
    write(dir .. "/a.lua", 'wm.route("GET", "/open", function() return "open" end, { role = "public" })\n'
        .. 'wm.route("POST", "/staff", function(req) return req.user.role end, { role = "editor" })')
    write(dir .. "/b.lua", '\n\nwm.route("GET", "/forgot", function() return "?" end)')
    local saved = router.dirs()
    t.defer(function()
        router.configure { dirs = saved }
        router.rebuild()
    end)
    router.configure { dirs = { dir } }
    local ok, err = router.rebuild()
    t.eq(ok, nil)
    t.match(err, "b.lua:3: GET /forgot declares no role")
    write(dir .. "/b.lua", 'wm.route_host("*.x.test", function() return "?" end)')
    ok, err = router.rebuild()
    t.eq(ok, nil)
    t.match(err, "b.lua:1: HOST %*.x.test declares no role")
    local bad
    ok, bad = pcall(router.route, "GET", "/r", h(), { role = "root" })
    t.ok(not ok)
    t.match(bad, "role must be one of public, viewer")
    write(dir .. "/b.lua", '')
    t.ok(router.rebuild())
    local list = router.list()
    t.eq({ list[1].method, list[1].pattern, list[1].role, list[1].line }, { "GET", "/open", "public", 1 })
    t.eq({ list[2].method, list[2].pattern, list[2].role }, { "POST", "/staff", "editor" })
    -- Public runs as declared; a staff route without a session never
    -- reaches its handler (the API answers 401, a page goes to the login).
    t.eq(http_server.dispatch { method = "GET", path = "/open", headers = {}, id = "r1" }.body, "open")
    local res = http_server.dispatch { method = "POST", path = "/staff", headers = {}, id = "r2", body = "" }
    t.eq(res.status, 303)
    t.match(res.headers.Location, "^/admin/login")
    t.ok(router.role_allows("admin", "editor"))
    t.ok(not router.role_allows("viewer", "editor"))
    t.ok(not router.role_allows(nil, "viewer"))
end

-- The access file gets a line per request, except from a route that says
-- access_log = false, whose errors are logged all the same.
function T.access_log_per_route(t)
    local log = require("wm.core").log
    local path = t.tmpdir() .. "/access.log"
    t.ok(log.access_open(path))
    t.defer(function() log.access_open(nil) end)
    router.reset()
    router.route("GET", "/loud", h("loud"))
    router.route("GET", "/quiet", h("quiet"), { access_log = false })
    router.route("GET", "/quiet-boom", function() error("x") end, { access_log = false })
    for i, p in ipairs({ "/loud", "/quiet", "/quiet", "/quiet-boom" }) do
        http_server.dispatch { method = "GET", path = p, headers = {}, id = "al-" .. i }
    end
    local f = assert(io.open(path))
    local lines = {}
    for l in f:lines() do
        lines[#lines + 1] = wm.json.decode(l)
    end
    f:close()
    t.eq(#lines, 2)
    t.eq({ lines[1].msg, lines[1].route, lines[1].status, lines[1].id }, { "access", "/loud", 200, "al-1" })
    t.eq({ lines[2].route, lines[2].status }, { "/quiet-boom", 500 })
end

function T.metrics_text(t)
    metrics.gauge("wm_test_gauge", "A test gauge.", function()
        return { { labels = { pool = "main" }, value = 3 }, { labels = { pool = 'q"x' }, value = 1.5 } }
    end)
    local c = metrics.counter("wm_test_events_total", "Test events.")
    c:inc()
    c:inc(2, { kind = "a" })
    local route = { method = "GET", label = "/metrics-test" }
    metrics.observe_http(route, 200, 0.003)
    metrics.observe_http(route, 200, 20)
    metrics.observe_http(nil, 404, 0.0001)
    local text = metrics.render()
    t.match(text, 'wm_http_requests_total{method="GET",route="/metrics%-test",status="200"} 2\n')
    t.match(text, 'wm_http_request_duration_seconds_bucket{method="GET",route="/metrics%-test",le="0.005"} 1\n')
    t.match(text, 'wm_http_request_duration_seconds_bucket{method="GET",route="/metrics%-test",le="10"} 1\n')
    t.match(text, 'wm_http_request_duration_seconds_bucket{method="GET",route="/metrics%-test",le="%+Inf"} 2\n')
    t.match(text, 'wm_http_requests_total{method="%*",route="unmatched",status="404"} %d+\n')
    t.match(text, 'wm_test_gauge{pool="main"} 3\n')
    t.match(text, 'wm_test_gauge{pool="q\\"x"} 1.5\n')
    t.match(text, 'wm_test_events_total 1\n')
    t.match(text, 'wm_test_events_total{kind="a"} 2\n')
    t.match(text, "wm_lua_memory_bytes %d+\n")
end

function T.core_helpers(t)
    local httpd = require "wm.core.httpd"
    t.eq(httpd.decode("a%20b+c%zz%4"), "a b+c%zz%4")
    t.eq(httpd.decode("a+b", true), "a b")
    t.eq(httpd.parse_query("a=1&b=x+y&c&=&d=%26"), { a = "1", b = "x y", c = "", [""] = "", d = "&" })
    t.eq(http_server.parse_listen("127.0.0.1:80"), "127.0.0.1")
    t.eq(select(2, http_server.parse_listen("[::1]:8080")), 8080)
    t.eq(select(2, http_server.parse_listen(":9")), 9)
    t.eq(http_server.parse_listen("nope"), nil)
end

return T
