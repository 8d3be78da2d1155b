-- Hot reload under `wm serve`: an edited route takes effect for the next
-- request without a restart, a request in flight finishes on the code it
-- started with, and a broken edit keeps the old code and logs file:line.
local T = {}

local function write(path, text)
    local f = assert(io.open(path .. ".tmp", "w"))
    f:write(text)
    f:close()
    assert(os.rename(path .. ".tmp", path))
end

local function route_file(version, delay)
    return ([[
wm.route("GET", "/ver", function() return { status = 200, body = %q } end, { role = "public" })
wm.route("GET", "/slow", function()
    wm.sleep(%s)
    return { status = 200, body = %q }
end, { role = "public" })
]]):format(version, delay, version)
end

local function get(base, path)
    return wm.http.request { url = base .. path, timeout = 10 }
end

function T.edit_applies_to_the_next_request_and_spares_those_in_flight(t)
    local dir = t.tmpdir()
    assert(wm.fs.mkdir_p(dir .. "/web"))
    write(dir .. "/web/reload_me.lua", route_file("v1", 1.0))
    local port = 20000 + wm.sys.getpid() % 20000
    local base = "http://127.0.0.1:" .. port
    local log = dir .. "/stderr"
    local server = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", "exec " .. os.getenv("WM_TEST_WM") .. " serve --no-jobs --quiet"
                                  .. " --listen 127.0.0.1:" .. port .. " --routes " .. dir .. "/web 2>" .. log },
                         -- A var/ of its own: one server per paths.var.
                         env = { WM_SCRIPTS_PATH = dir, WM_LOG_ACCESS = "false", WM_PATHS_VAR = dir .. "/var" },
                         timeout = 60 }
    end)
    t.defer(function()
        wm.exec { argv = { "sh", "-c", "pkill -TERM -f 'listen 127.0.0.1:" .. port .. "'" } }
        server:wait(10)
    end)
    local up
    for _ = 1, 100 do
        up = get(base, "/ver")
        if up and up.status == 200 then
            break
        end
        wm.sleep(0.05)
    end
    t.eq(up and up.body, "v1", "the server answers")

    local slow = wm.spawn(function() return get(base, "/slow") end)
    wm.sleep(0.2)                                  -- /slow is in flight now
    write(dir .. "/web/reload_me.lua", route_file("v2", 0))
    local now
    for _ = 1, 60 do
        now = get(base, "/ver")
        if now and now.body == "v2" then
            break
        end
        wm.sleep(0.05)
    end
    t.eq(now.body, "v2", "the edit took effect without a restart")
    local ok, res = slow:wait(10)
    t.eq(ok, true)
    t.eq(res.status, 200, "the request in flight was not dropped")
    t.eq(res.body, "v1", "it finished on the code it started with")
    t.eq(get(base, "/slow").body, "v2")

    write(dir .. "/web/reload_me.lua", "wm.route('GET', '/ver', function() return { status = 200, body = 'v3' }\n")
    wm.sleep(0.6)
    t.eq(get(base, "/ver").body, "v2", "a file that does not compile leaves the old code running")
    local f = assert(io.open(log))
    local text = f:read("*a")
    f:close()
    t.match(text, "reload_me%.lua:%d+", "the error names the file and line")
end

return T
