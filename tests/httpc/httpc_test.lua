-- wm.http client tests, against tests/httpc/server.py on 127.0.0.1 (started
-- here through wm.exec; it exits by itself 2 s after its last request).
-- Run: build/wm test tests/httpc/httpc_test.lua
local http = wm.http or require "wm.http"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start = dofile(here .. "/../fakes/start.lua")
local server, starting, tls_server

-- Starts the fixture once and returns its base URL (tasks that ask while it
-- starts wait for it).
local function base()
    if server then
        return server
    end
    if starting then
        starting:wait(10)
        return assert(server, "the test server did not start")
    end
    starting = wm.event()
    local args = { here .. "/server.py", "2" }
    -- A self-signed certificate for the TLS listener, when openssl is here.
    local certdir = os.tmpname()
    os.remove(certdir)
    wm.fs.mkdir_p(certdir)
    local gen = wm.exec { argv = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-keyout", certdir .. "/key.pem", "-out", certdir .. "/cert.pem" } }
    if gen and gen.code == 0 then
        args[#args + 1] = certdir .. "/cert.pem"
        args[#args + 1] = certdir .. "/key.pem"
    end
    local _, ports = start(unpack(args))
    wm.exec { argv = { "rm", "-rf", certdir } }
    local port, tls_port = (ports or ""):match("^(%d+)%s*(%d*)$")
    assert(tonumber(port), "the test server did not start")
    tls_server = tls_port ~= "" and ("https://127.0.0.1:" .. tls_port) or nil
    server = "http://127.0.0.1:" .. port
    starting:set()
    return server
end

local T = {}

function T.get_with_headers(t)
    local res, err = http.request {
        url = base() .. "/echo?x=1",
        headers = { ["X-Test"] = "yes", Accept = "application/json", ["X-Many"] = { "1", "2" } },
    }
    t.ok(res, err)
    t.eq(res.status, 200, "status")
    t.eq(res.headers["content-type"], "application/json", "content-type (lower-cased key)")
    t.eq(res.headers["x-multi"], "a, b", "repeated field joined")
    t.eq(res.headers["set-cookie"], "a=1; Path=/\nb=2; Path=/", "set-cookie joined by newline")
    t.eq(res.headers["Content-Type"], nil, "no mixed-case keys")
    local echo = wm.json.decode(res.body)
    t.eq(echo.method, "GET")
    t.eq(echo.query.x, "1")
    t.eq(echo.headers["x-test"], "yes", "request header sent")
    t.eq(echo.headers["accept"], "application/json")
    t.eq(echo.headers["x-many"], "1, 2", "array value sent once per value (server joins)")
    t.ok(echo.headers["user-agent"]:match("^wm/"), "user agent")
    t.eq(echo.headers["expect"], nil, "no Expect header")
end

function T.post_body(t)
    local body = "hello\0world \226\130\172\255"
    local res, err = http.request { method = "POST", url = base() .. "/echo", body = body,
        headers = { ["Content-Type"] = "application/octet-stream" } }
    t.ok(res, err)
    t.eq(res.status, 200)
    local echo = wm.json.decode(res.body)
    t.eq(echo.method, "POST")
    t.eq(echo.headers["content-length"], tostring(#body))
    t.eq(echo.body_sha256, wm.crypto.sha256_hex(body), "body bytes, NUL included")

    res, err = http.request { method = "PUT", url = base() .. "/echo", body = "x=1" }
    t.ok(res, err)
    t.eq(wm.json.decode(res.body).method, "PUT")
    t.eq(wm.json.decode(res.body).body, "x=1")

    res, err = http.post(base() .. "/echo", "")
    t.ok(res, err)
    echo = wm.json.decode(res.body)
    t.eq(echo.method, "POST")
    t.eq(echo.headers["content-length"], "0", "empty POST says Content-Length: 0")

    res, err = http.request { method = "DELETE", url = base() .. "/echo" }
    t.ok(res, err)
    t.eq(wm.json.decode(res.body).method, "DELETE")

    res, err = http.request { method = "HEAD", url = base() .. "/big?n=1000" }
    t.ok(res, err)
    t.eq(res.status, 200)
    t.eq(res.body, "", "HEAD has no body")
    t.eq(res.headers["content-length"], "1000")
end

function T.status_is_not_an_error(t)
    local res, err = http.get(base() .. "/status?code=404")
    t.ok(res, err)
    t.eq(res.status, 404)
    res, err = http.get(base() .. "/status?code=503")
    t.ok(res, err)
    t.eq(res.status, 503)
end

function T.timeout(t)
    local t0 = wm.monotonic()
    local res, err = http.request { url = base() .. "/slow?s=1.5", timeout = 0.5 }
    local dt = wm.monotonic() - t0
    t.eq(res, nil)
    t.eq(err, "timeout")
    t.ok(dt >= 0.45 and dt < 1.5, ("timed out after %.3fs, asked 0.5s"):format(dt))
end

function T.connection_refused(t)
    local res, err = http.get("http://127.0.0.1:1/")
    t.eq(res, nil)
    t.eq(err, "connect")
end

function T.body_sent_says_how_far_a_failed_body_got(t)
    -- Refused before connecting: none of it went out.
    local res, err, info = http.post("http://127.0.0.1:1/", "payload")
    t.eq(res, nil)
    t.eq(err, "connect")
    t.eq(info.body_sent, "none")
    -- The server read all of it, then answered garbage: it may have acted on it.
    res, err, info = http.post(base() .. "/garbage", ("x"):rep(100000))
    t.eq(res, nil)
    t.eq(err, "protocol")
    t.eq(info.body_sent, "all")
    -- Without a body there is nothing to say.
    res, err, info = http.get("http://127.0.0.1:1/")
    t.eq(err, "connect")
    t.eq(info.body_sent, nil)
end

function T.tls_handshake_failure(t)
    -- https to a plain-HTTP port: the handshake fails.
    local res, err = http.get((base():gsub("^http:", "https:")) .. "/echo", { timeout = 5 })
    t.eq(res, nil)
    t.eq(err, "tls")
end

function T.tls_peer_is_verified(t)
    base()
    if not tls_server then
        t.skip("openssl is not installed: no self-signed certificate")
    end
    -- The listener works (python's TLS), but its certificate is self-signed:
    -- verification must refuse it.
    local res, err = http.get(tls_server .. "/echo", { timeout = 5 })
    t.eq(res, nil)
    t.eq(err, "tls", "an untrusted certificate is refused")
end

function T.localhost_resolves(t)
    local res, err = http.get((base():gsub("127%.0%.0%.1", "localhost")) .. "/echo")
    t.ok(res, err)
    t.eq(res.status, 200)
end

function T.not_http(t)
    local res, err = http.get(base() .. "/garbage")
    t.eq(res, nil)
    t.eq(err, "protocol")
    res, err = http.get("ftp://127.0.0.1/x")
    t.eq(res, nil)
    t.eq(err, "protocol", "only http and https")
    res, err = http.get("file:///etc/passwd")
    t.eq(res, nil)
    t.eq(err, "protocol", "no file://")
end

local BIG = 5 * 1024 * 1024

function T.large_body(t)
    local res, err = http.get(base() .. "/big?n=" .. BIG)
    t.ok(res, err)
    t.eq(#res.body, BIG, "length")
    t.eq(wm.crypto.sha256_hex(res.body), res.headers["x-sha256"], "hash")

    res, err = http.get(base() .. "/chunked?n=" .. BIG)
    t.ok(res, err)
    t.eq(res.headers["content-length"], nil)
    t.eq(#res.body, BIG, "chunked length")
    t.eq(wm.crypto.sha256_hex(res.body), res.headers["x-sha256"], "chunked hash")
end

function T.size_cap(t)
    -- Content-Length over the cap: refused before the body is read.
    local res, err = http.get(base() .. "/big?n=2000000", { max_body = 1000000 })
    t.eq(res, nil)
    t.eq(err, "too_large")
    -- No Content-Length: stopped while reading.
    res, err = http.get(base() .. "/chunked?n=2000000", { max_body = 1000000 })
    t.eq(res, nil)
    t.eq(err, "too_large")
    -- Exactly at the cap is fine.
    res, err = http.get(base() .. "/chunked?n=1000000", { max_body = 1000000 })
    t.ok(res, err)
    t.eq(#res.body, 1000000)
    -- Header fields count against the same cap.
    res, err = http.get(base() .. "/headers?n=100", { max_body = 1000 })
    t.eq(res, nil)
    t.eq(err, "too_large", "header flood")
    res, err = http.get(base() .. "/headers?n=100")
    t.ok(res, err)
    t.eq(res.headers["x-h-99"], ("v"):rep(40))
    -- The default cap comes from config http_client.max_body_bytes (10 MB).
    res, err = http.get(base() .. "/chunked?n=" .. (10 * 1024 * 1024 + 1))
    t.eq(res, nil)
    t.eq(err, "too_large", "default cap")
end

function T.concurrent_50(t)
    local tasks = {}
    local t0 = wm.monotonic()
    for i = 1, 50 do
        tasks[i] = wm.spawn(function()
            local res, err = http.request { url = base() .. "/echo?i=" .. i,
                                            headers = { ["X-I"] = tostring(i) } }
            if not res then
                return nil, err
            end
            local echo = wm.json.decode(res.body)
            return echo.query.i == tostring(i) and echo.headers["x-i"] == tostring(i)
                and res.status == 200
        end)
    end
    local good = 0
    for i = 1, 50 do
        local ok, v, err = tasks[i]:wait(30)
        t.ok(ok, "task " .. i .. " ended")
        t.ok(v, "request " .. i .. " matched its answer: " .. tostring(err))
        good = good + 1
    end
    t.eq(good, 50)
    t.ok(wm.monotonic() - t0 < 10, "50 requests in under 10 s")
    t.eq(http.active(), 0, "nothing left in flight")
end

function T.redirects(t)
    local res, err = http.get(base() .. "/redirect")
    t.ok(res, err)
    t.eq(res.status, 302, "not followed by default")
    t.eq(res.headers.location, "/echo")

    res, err = http.get(base() .. "/redirect", { follow_redirects = true })
    t.ok(res, err)
    t.eq(res.status, 200, "followed when asked")
    t.ok(res.url:match("/echo$"), "final url " .. res.url)
    t.eq(res.headers.location, nil, "headers are the final response's")

    res, err = http.get(base() .. "/loop", { follow_redirects = true })
    t.eq(res, nil)
    t.eq(err, "protocol", "redirect loop stops at 5")
end

function T.connection_reused(t)
    local a = wm.json.decode(assert(http.get(base() .. "/echo")).body)
    local b = wm.json.decode(assert(http.get(base() .. "/echo")).body)
    t.eq(a.client_port, b.client_port, "second request on the same connection")
end

function T.misuse_raises(t)
    t.ok(not pcall(http.request, {}), "no url")
    t.ok(not pcall(http.request, { url = base(), method = "get x" }), "bad method")
    t.ok(not pcall(http.request, { url = base(), headers = { ["X-A"] = "a\r\nX-B: b" } }),
         "CRLF in a header")
    local ok, msg = pcall(http.request, { url = base(), timeout = -1 })
    t.ok(not ok and tostring(msg):match("wm%.http%.request: timeout must be a positive number of seconds"),
         "negative timeout: " .. tostring(msg))
    ok, msg = pcall(http.request, { url = base(), timeout = "5" })
    t.ok(not ok and tostring(msg):match("timeout must be a positive number"), "a timeout that is not a number")
    ok, msg = pcall(http.request, { url = base(), max_body = 0.5 })
    t.ok(not ok and tostring(msg):match("wm%.http%.request: max_body must be a positive number of bytes"),
         "max_body under a byte: " .. tostring(msg))
    ok, msg = pcall(http.request, { url = base(), headers = { ["Bad Name"] = "x" } })
    t.ok(not ok and tostring(msg):match("bad header"), "space in a header name")
    -- IMAP requests check their options the same way, naming themselves.
    local core = require "wm.core.httpc"
    local imap = { url = "imaps://127.0.0.1:1/INBOX" }
    local function raises(fn, opts, extra, want)
        local o = {}
        for k, v in pairs(opts) do o[k] = v end
        for k, v in pairs(extra) do o[k] = v end
        local ok2, msg2 = pcall(fn, o)
        t.ok(not ok2 and tostring(msg2):find(want, 1, true), want .. ": " .. tostring(msg2))
    end
    raises(core.imap, imap, { timeout = -1 }, "wm.core.httpc.imap: timeout must be a positive number of seconds")
    raises(core.imap, imap, { max_body = 0 }, "wm.core.httpc.imap: max_body must be a positive number of bytes")
    raises(core.imap, imap, { username = 5 }, "wm.core.httpc: username must be a string")
    t.eq(http.active(), 0, "a refused request leaves nothing behind")
end

return T
