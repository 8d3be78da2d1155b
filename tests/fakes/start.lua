-- Starts one of the Python fakes on 127.0.0.1 and returns its base URL and
-- the text of its port file (several ports when it serves more than one).
-- `script` is a file in this folder, or a path. The fake writes its port(s)
-- to a file and exits by itself when idle, when this process goes away, or
-- when the test file that started it is done (its lease file is removed
-- then: tests/fakes/fakeserver.py), so `wm test` does not wait out its idle
-- time.
--   local start = dofile(<tests>/fakes/start.lua)
--   local base = start("outscraper.py", "10", "test-key")
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

return function(script, ...)
    local port_file = os.tmpname()
    os.remove(port_file)
    local path = script:find("/", 1, true) and script or (here .. "/" .. script)
    local argv = { "python3", path, port_file, ... }
    local lease = port_file .. ".lease"
    assert(wm.fs.write_file(lease, ""))
    require("wm.testing").at_end(function()
        os.remove(lease)
    end)
    local ended
    wm.spawn(function()
        local res, err = wm.exec { argv = argv, timeout = 600 }
        ended = true
        if not res or res.code ~= 0 then
            wm.log.warn("fake ended", { script = script, err = err, stderr = res and res.stderr })
        end
    end)
    -- Up to 60 s: a Python fake that imports cryptography or makes a key
    -- takes seconds to start on a loaded machine. One that ended (a crash,
    -- a missing module) is not waited for.
    local port
    for _ = 1, 2400 do
        local f = io.open(port_file)
        if f then
            port = f:read("*a")
            f:close()
            break
        end
        if ended then
            break
        end
        wm.sleep(0.025)
    end
    os.remove(port_file)
    local first = port and port:match("^(%d+)")
    assert(first, "the fake " .. script .. " did not start")
    return "http://127.0.0.1:" .. first, port
end
