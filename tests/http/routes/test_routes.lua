-- Routes used by tests/http/test_httpd.py (loaded with `wm serve --routes`).
local json = wm.json

local PUBLIC = { role = "public" }

local function j(t, status)
    return { status = status or 200, headers = { ["Content-Type"] = "application/json" }, body = json.encode(t) }
end

wm.route("GET", "/hello", function()
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = "hello" }
end, PUBLIC)

wm.route("GET", "/string", function()
    return "<p>a bare string</p>"
end, PUBLIC)

wm.route("POST", "/echo", function(req)
    return { status = 200, headers = { ["Content-Type"] = "application/octet-stream",
                                        ["X-Body-Length"] = tostring(#req.body) }, body = req.body }
end, PUBLIC)

-- Answers after `ms` milliseconds: pipelined requests finish out of order.
wm.route("GET", "/sleep/:ms", function(req)
    local ms = tonumber(req.params.ms) or 0
    wm.sleep(ms / 1000)
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = "slept " .. ms }
end, PUBLIC)

wm.route("GET", "/error", function()
    error("boom: this traceback must not reach the client")
end, PUBLIC)

wm.route("GET", "/badheader", function()
    return { status = 200, headers = { ["X-Evil"] = "a\r\nSet-Cookie: pwned=1" }, body = "no" }
end, PUBLIC)

wm.route("GET", "/req", function(req)
    return j { method = req.method, path = req.path, query = req.query, query_string = req.query_string,
               headers = req.headers, remote_addr = req.remote_addr, id = req.id, params = req.params,
               http_version = req.http_version }
end, PUBLIC)

wm.route("GET", "/p/:a/:b.txt", function(req)
    return j { params = req.params }
end, PUBLIC)

wm.route("GET", "/files/*rest", function(req)
    return j { rest = req.params.rest }
end, PUBLIC)

wm.route("GET", "/files/special", function()
    return j { special = true }
end, PUBLIC)

wm.route("GET", "/multi", function()
    return { status = 201, headers = { ["Set-Cookie"] = { "a=1", "b=2" }, ["Content-Type"] = "text/plain" },
             body = "two cookies" }
end, PUBLIC)

wm.route("GET", "/db", function()
    local rows, err = wm.db.query("SELECT 41 + 1 AS answer")
    if not rows then
        return j({ error = tostring(err) }, 503)
    end
    return j { answer = rows[1].answer }
end, PUBLIC)

wm.route_host("*.sites.test", function(req)
    return { status = 200, headers = { ["Content-Type"] = "text/plain" },
             body = "site " .. req.params.subdomain .. " " .. req.path }
end, PUBLIC)

wm.route("GET", "/pid", function()
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = tostring(wm.sys.getpid()) }
end, PUBLIC)

-- Access log options (tests/http/test_httpd.py AccessLog).
wm.route("GET", "/quiet", function()
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = "quiet" }
end, { role = "public", access_log = false })

wm.route("GET", "/quiet-error", function()
    error("logged although the route says access_log = false")
end, { role = "public", access_log = false })

wm.route("GET", "/sampled", function()
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = "sampled" }
end, { role = "public", access_log = 0.25 })

wm.route("GET", "/always", function()
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = "always" }
end, { role = "public", access_log = true })
