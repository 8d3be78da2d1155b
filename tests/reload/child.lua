-- Helper process for reload_test.lua, run as
--   WM_SCRIPTS_PATH=DIR wm run tests/reload/child.lua MODE DIR
-- Prints "key value" lines on stdout for the test to check; log lines go
-- to stderr.
local mode, dir = arg[1], arg[2]
local reload = require "wm.reload"

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

local function say(k, v)
    io.stdout:write(k, " ", tostring(v), "\n")
    io.stdout:flush()
end

-- Waits for the next reload pass (successful or not) after `fn` runs.
local function after(fn, timeout)
    local before = reload.status()
    fn()
    local t0 = wm.monotonic()
    while reload.status() == before and wm.monotonic() - t0 < (timeout or 5) do
        wm.sleep(0.02)
    end
    return reload.status() ~= before, wm.monotonic() - t0
end

-- Only the test's own folder is watched (and scanned by reload.now), so
-- edits elsewhere in scripts/ cannot disturb the scenario.
local function start()
    assert(reload.start { dirs = { dir }, debounce = 0.1 })
end

local hook_runs = 0
reload.on_reload("test", function(info)
    hook_runs = hook_runs + 1
    return true
end)

if mode == "edit" or mode == "broken" then
    write(dir .. "/rl_mod.lua", "return { value = 1 }\n")
    say("value", require("rl_mod").value)
    start()
    say("roots_first", reload.roots()[1] == wm.fs.realpath(dir))

    if mode == "broken" then
        local seen = after(function()
            write(dir .. "/rl_mod.lua", "return {\n  value = 2,\n  oops = (\n}\n")
        end)
        say("pass", seen)
        say("ok", reload.status().ok)
        say("value", require("rl_mod").value)
        say("hooks", hook_runs)
        local e = reload.status().errors and reload.status().errors[1] or {}
        say("error_line", e.line)
        say("error_file", e.file)
    end

    local seen, dt = after(function()
        write(dir .. "/rl_mod.lua", "return { value = 3 }\n")
    end)
    say("pass", seen)
    say("ok", reload.status().ok)
    say("seconds", ("%.3f"):format(dt))
    say("value", require("rl_mod").value)
    say("hooks", hook_runs)
elseif mode == "unwatched" then
    -- http.watch_scripts = false: edits wait for `wm reload`.
    write(dir .. "/rl_mod.lua", "return { value = 1 }\n")
    say("value", require("rl_mod").value)
    assert(reload.start { dirs = { dir }, debounce = 0.1, watch = false })
    say("watched", #reload.watched_dirs())
    local seen = after(function()
        write(dir .. "/rl_mod.lua", "return { value = 3 }\n")
    end, 1)
    say("pass", seen)
    say("value", require("rl_mod").value)
    local ok = reload.now("signal")
    say("ok", ok)
    say("value", require("rl_mod").value)
    say("hooks", hook_runs)
    reload.stop()
elseif mode == "subdir" then
    start()
    local real = wm.fs.realpath(dir)
    wm.fs.mkdir_p(dir .. "/later/deeper")
    wm.sleep(0.3)
    local watched = {}
    for _, d in ipairs(reload.watched_dirs()) do
        watched[d] = true
    end
    say("watched_later", watched[real .. "/later"] == true)
    say("watched_deeper", watched[real .. "/later/deeper"] == true)
    after(function()
        write(dir .. "/later/deeper/m.lua", "return 'a'\n")
    end)
    say("value", require("later.deeper.m"))
    local seen = after(function()
        write(dir .. "/later/deeper/m.lua", "return 'b'\n")
    end)
    say("pass", seen)
    say("modules", table.concat(reload.status().modules or {}, ","))
    say("value", require("later.deeper.m"))
elseif mode == "hook_fails" then
    reload.on_reload("bad", function()
        return nil, "cannot rebuild"
    end)
    reload.on_reload("raises", function()
        error("boom")
    end)
    local order = {}
    reload.on_reload("after", function()
        order[#order + 1] = "after"
        return true
    end)
    write(dir .. "/rl_mod.lua", "return { value = 1 }\n")
    say("value", require("rl_mod").value)
    start()
    local ok, err = reload.now("manual")
    say("ok", ok)
    say("err", err)
    say("value_after", require("rl_mod").value)
    say("after_ran", order[1])
elseif mode == "server" then
    -- Stands in for `wm serve`: lock and pid file, watcher, waits for SIGHUP.
    local pidlock = require "wm.pidlock"
    local ev = wm.event()
    reload.on_reload("signal_seen", function(info)
        say("reason", info.reason)
        ev:set()
        return true
    end)
    assert(pidlock.acquire { command = "reload test server" })
    start()
    say("ready", pidlock.pidfile_path())
    say("woken", ev:wait(10) == true)
    pidlock.release()
    say("pidfile_left", io.open(pidlock.pidfile_path()) ~= nil)
    reload.stop()
end
return 0
