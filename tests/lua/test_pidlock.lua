-- One server per paths.var: real `wm serve` processes on one folder. The
-- second refuses and names the first; --force-shared runs beside it without
-- touching its pid file; the lock dies with its holder (kill -9), and a pid
-- file left behind is never signalled.
local T = {}

local WM = os.getenv("WM_TEST_WM")
local BOGUS_DB = "postgresql://127.0.0.1:1/none?connect_timeout=1"

local function read(path)
    local f = io.open(path)
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

-- Ports from this helper's range, a different one for each server.
local next_port = 18400 + (wm.sys.getpid() % 9) * 10

-- `wm serve --no-jobs` on `var` in the background: {pid=, task=, log=, port=}.
local function serve(t, var, extra)
    local dir = t.tmpdir()
    local pidfile, log = dir .. "/pid", dir .. "/log"
    local port = next_port
    next_port = next_port + 1
    local cmd = ("echo $$ > %s; exec %s serve --no-jobs --quiet --listen 127.0.0.1:%d %s 2>%s")
        :format(pidfile, WM, port, extra or "", log)
    local task = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", cmd }, env = { WM_PATHS_VAR = var, WM_DATABASE_URL = BOGUS_DB },
                         timeout = 60 }
    end)
    local pid = t.wait_for("the server's pid", function()
        local s = read(pidfile)
        return s and tonumber(s:match("%d+"))
    end, 10)
    t.defer(function() wm.exec { argv = { "kill", "-9", tostring(pid) } } end)
    return { pid = pid, task = task, log = log, port = port }
end

local function wm_cmd(var, ...)
    return assert(wm.exec { argv = { WM, ... }, env = { WM_PATHS_VAR = var, WM_DATABASE_URL = BOGUS_DB },
                            timeout = 30 })
end

-- Up, and past the point where wm serve installs its SIGTERM handler (it
-- does so after the listen line and the reload watcher).
local function listening(h)
    local log = read(h.log) or ""
    if log:find('"reload: watching scripts"', 1, true) then
        wm.sleep(0.2)
        return true
    end
    return false
end

function T.second_server_refuses_and_names_the_first(t)
    local var = t.tmpdir()
    local first = serve(t, var)
    t.wait_for("the first server listening", function() return listening(first) end, 15)
    t.eq(tonumber((read(var .. "/wm.pid") or ""):match("%d+")), first.pid, "the holder wrote the pid file")

    local second = serve(t, var)
    local ok, res = second.task:wait(15)
    t.ok(ok, "the second server exits by itself")
    t.eq(res.code, 1)
    local err = read(second.log) or ""
    t.match(err, "is in use by wm serve %-%-listen 127%.0%.0%.1:" .. first.port)
    t.match(err, "pid " .. first.pid .. ", since %d%d%d%d%-%d%d%-%d%dT")
    t.match(err, "%-%-force%-shared")
    t.eq(tonumber((read(var .. "/wm.pid") or ""):match("%d+")), first.pid,
        "the second server left the first one's pid file alone")

    local r = wm_cmd(var, "reload")
    t.eq(r.code, 0, r.stderr)
    t.match(r.stdout, "sent SIGHUP to " .. first.pid)

    assert(wm.exec { argv = { "kill", "-TERM", tostring(first.pid) } })
    ok, res = first.task:wait(20)
    t.ok(ok and res.code == 0, "the first server stops cleanly")
    t.eq(read(var .. "/wm.pid"), nil, "the holder removed its own pid file")
end

function T.force_shared_runs_beside_without_the_pid_file(t)
    local var = t.tmpdir()
    local first = serve(t, var)
    t.wait_for("the first server listening", function() return listening(first) end, 15)
    local shared = serve(t, var, "--force-shared")
    t.wait_for("the shared server listening", function() return listening(shared) end, 15)
    t.match(read(shared.log), "force%-shared")
    t.eq(tonumber((read(var .. "/wm.pid") or ""):match("%d+")), first.pid)
    assert(wm.exec { argv = { "kill", "-TERM", tostring(shared.pid) } })
    local ok, res = shared.task:wait(20)
    t.ok(ok and res.code == 0, "the shared server stops cleanly")
    t.eq(tonumber((read(var .. "/wm.pid") or ""):match("%d+")), first.pid,
        "stopping the shared server did not remove the holder's pid file")
    local r = wm_cmd(var, "reload")
    t.eq(r.code, 0, r.stderr)
end

function T.the_lock_dies_with_its_holder_and_a_stale_pid_file_gets_no_signal(t)
    local var = t.tmpdir()
    local first = serve(t, var)
    t.wait_for("the first server listening", function() return listening(first) end, 15)
    assert(wm.exec { argv = { "kill", "-9", tostring(first.pid) } })
    first.task:wait(10)
    t.ok(read(var .. "/wm.pid"), "kill -9 left the pid file behind")

    local r = wm_cmd(var, "reload")
    t.eq(r.code, 1)
    t.match(r.stderr, "stale pid file")

    -- A live wm process that took the dead server's pid would be the
    -- danger; any live pid that does not hold the lock is refused too.
    local f = assert(io.open(var .. "/wm.pid", "w"))
    f:write(wm.sys.getpid(), "\n")
    f:close()
    r = wm_cmd(var, "reload")
    t.eq(r.code, 1)
    t.match(r.stderr, "no server holds")

    local second = serve(t, var)
    t.wait_for("a new server takes the folder", function() return listening(second) end, 15)
    t.eq(tonumber((read(var .. "/wm.pid") or ""):match("%d+")), second.pid)
    t.match(read(var .. "/wm.lock"), "pid " .. second.pid)
end

function T.holder_reports_who_holds_the_lock(t)
    local var = t.tmpdir()
    local pidlock = require "wm.pidlock"
    t.eq(pidlock.holder(var), nil, "nobody yet")
    local first = serve(t, var)
    t.wait_for("the server listening", function() return listening(first) end, 15)
    local h = pidlock.holder(var)
    t.eq(h and h.pid, first.pid)
    t.match(h.command, "^wm serve")
    local ok, err, who = pidlock.acquire { command = "test", var = var }
    t.eq(ok, nil)
    t.match(err, "in use by wm serve")
    t.eq(who.pid, first.pid)
    assert(wm.exec { argv = { "kill", "-TERM", tostring(first.pid) } })
    first.task:wait(20)
    t.eq(pidlock.holder(var), nil, "released on exit")
    t.ok(pidlock.acquire { command = "test", var = var })
    t.eq(pidlock.holder(var).pid, wm.sys.getpid())
    pidlock.release()
    t.eq(pidlock.holder(var), nil)
end

return T
