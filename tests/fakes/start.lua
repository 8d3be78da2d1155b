-- Starts one of the Python fakes in this folder on 127.0.0.1 and returns
-- its base URL. The fake writes its port to a file, exits by itself when
-- idle or when this process goes away.
--   local start = dofile(<tests>/fakes/start.lua)
--   local base = start("outscraper.py", "10", "test-key")
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

return function(script, ...)
    local port_file = os.tmpname()
    os.remove(port_file)
    local argv = { "python3", here .. "/" .. script, port_file, ... }
    wm.spawn(function()
        local res, err = wm.exec { argv = argv, timeout = 600 }
        if not res or res.code ~= 0 then
            wm.log.warn("fake ended", { script = script, err = err, stderr = res and res.stderr })
        end
    end)
    local port
    for _ = 1, 400 do
        local f = io.open(port_file)
        if f then
            port = f:read("*a")
            f:close()
            break
        end
        wm.sleep(0.025)
    end
    os.remove(port_file)
    assert(tonumber(port), "the fake " .. script .. " did not start")
    return "http://127.0.0.1:" .. port
end
