-- wm.pidlock: one server per paths.var, and the pid file `wm reload` uses.
--
--   pidlock.acquire{command=, var=} -> true | nil, err, holder
--       Takes <var>/wm.lock (an flock the kernel drops when the process
--       dies, so a crash never leaves it stale), records this process in it
--       (pid, command, start time), then writes <var>/wm.pid. When another
--       process holds the lock: nil, the message an operator needs, and
--       holder = {pid=, command=, since=}.
--   pidlock.release()   removes the pid file if it still names this process,
--                       then drops the lock. Safe to call twice.
--   pidlock.holder([var]) -> {pid=, command=, since=} | nil
--       Who holds <var>/wm.lock now (nil when nobody does).
--   pidlock.pidfile_path([var]), pidlock.read_pidfile([path]) -> pid | nil, err
--   pidlock.signal_server([path]) -> pid | nil, err   (used by `wm reload`)
--
-- Only the lock holder writes wm.pid, and it removes the file on exit only
-- while the file still names it: a second server never overwrites or
-- deletes the first one's pid file. A process that runs beside the holder
-- on purpose (`wm serve --force-shared`) takes neither.
local core = require "wm.core"
local watch = require "wm.core.watch"

local type, tostring, tonumber, io, os = type, tostring, tonumber, io, os

local _M = { _VERSION = "0.1" }

-- What this process holds: {fd=, lock=, pidfile=}.
local S = {}

local function var_dir(var)
    if var then
        return var
    end
    local wm = rawget(_G, "wm")
    var = wm and wm.config and wm.config.paths and wm.config.paths.var
    return var or ((WM_BOOT and WM_BOOT.root or ".") .. "/var")
end

function _M.lock_path(var)
    return var_dir(var) .. "/wm.lock"
end

function _M.pidfile_path(var)
    return var_dir(var) .. "/wm.pid"
end

local function read_all(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

-- The lock file's record: "pid N\ncommand ...\nsince ...\n".
local function parse_record(s)
    local rec = {}
    for k, v in (s or ""):gmatch("([%w_]+) ([^\n]*)") do
        rec[k] = v
    end
    rec.pid = tonumber(rec.pid)
    return rec
end

function _M.holder(var)
    local path = _M.lock_path(var)
    if not read_all(path) then
        return nil
    end
    if S.fd and S.lock == path then
        return parse_record(read_all(path))
    end
    local fd, err = core.lock_file(path)
    if fd then
        core.unlock_file(fd)
        return nil
    end
    if err ~= "busy" then
        return nil
    end
    return parse_record(read_all(path))
end

-- Writes this process's pid (atomically) to `path`.
local function write_pidfile(path)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "w")
    if not f then
        return nil, err
    end
    f:write(tostring(core.getpid()), "\n")
    f:close()
    local ok, rerr = os.rename(tmp, path)
    if not ok then
        os.remove(tmp)
        return nil, rerr
    end
    return path
end

local function busy_message(var, h)
    local pid = h.pid and tostring(h.pid) or "unknown"
    return ("%s is in use by %s (pid %s, since %s); stop it, or give this one its own paths.var "
        .. "(WM_PATHS_VAR), or --force-shared to run beside it without the pid file")
        :format(var, h.command or "another wm", pid, h.since or "an unknown time")
end

function _M.acquire(opts)
    opts = opts or {}
    if type(opts.command) ~= "string" then
        error("usage: pidlock.acquire{command=, var=}", 2)
    end
    if S.fd then
        return nil, "this process already holds " .. S.lock
    end
    local var = var_dir(opts.var)
    local ok, err = core.mkdir_p(var)
    if not ok then
        return nil, err
    end
    local path = _M.lock_path(var)
    local fd
    fd, err = core.lock_file(path)
    if not fd then
        if err ~= "busy" then
            return nil, err
        end
        local h = parse_record(read_all(path))
        return nil, busy_message(var, h), h
    end
    -- The lock is ours: record who holds it (the file keeps its inode, so
    -- the lock stays on it), then take the pid file.
    local f
    f, err = io.open(path, "w")
    if not f then
        core.unlock_file(fd)
        return nil, err
    end
    f:write(("pid %d\ncommand %s\nsince %s\n"):format(core.getpid(), opts.command:gsub("\n", " "),
        os.date("!%Y-%m-%dT%H:%M:%SZ")))
    f:close()
    local pidfile = _M.pidfile_path(var)
    ok, err = write_pidfile(pidfile)
    if not ok then
        core.unlock_file(fd)
        return nil, "cannot write the pid file " .. pidfile .. ": " .. tostring(err)
    end
    S.fd, S.lock, S.pidfile = fd, path, pidfile
    return true
end

function _M.read_pidfile(path)
    path = path or _M.pidfile_path()
    local f, err = io.open(path)
    if not f then
        return nil, "no pid file (" .. tostring(err) .. "); is `wm serve` running?"
    end
    local pid = tonumber((f:read("*l") or ""):match("^%s*(%d+)%s*$"))
    f:close()
    if not pid then
        return nil, path .. ": not a pid"
    end
    return pid
end

function _M.release()
    if S.pidfile and _M.read_pidfile(S.pidfile) == core.getpid() then
        os.remove(S.pidfile)
    end
    if S.fd then
        core.unlock_file(S.fd)
    end
    S.fd, S.lock, S.pidfile = nil, nil, nil
end

-- True when `pid` runs a program called wm (unknown counts as yes).
local function is_wm(pid)
    local f = io.open("/proc/" .. pid .. "/cmdline", "rb")
    if not f then
        return true
    end
    local argv0 = (f:read("*a") or ""):match("^([^%z]*)")
    f:close()
    return argv0 ~= nil and argv0:match("([^/]*)$") == "wm"
end

-- Sends SIGHUP to the server named by the pid file. Returns its pid.
function _M.signal_server(path)
    path = path or _M.pidfile_path()
    local pid, err = _M.read_pidfile(path)
    if not pid then
        return nil, err
    end
    if pid == core.getpid() then
        return nil, path .. " names this very process"
    end
    -- Beside a lock file, the pid file counts only while its pid holds the
    -- lock: a recycled pid, even another wm's, never gets the signal.
    local dir = path:match("^(.*)/[^/]*$") or "."
    local lock = read_all(dir .. "/wm.lock")
    if lock then
        local h = _M.holder(dir)
        if not h then
            return nil, ("%s names pid %d, but no server holds %s/wm.lock (stale pid file)"):format(path, pid, dir)
        elseif h.pid ~= pid then
            return nil, ("%s names pid %d, but %s holds %s/wm.lock as pid %s"):format(path, pid,
                tostring(h.command), dir, tostring(h.pid))
        end
    end
    local ok
    ok, err = watch.kill(pid, 0)
    if not ok then
        return nil, ("pid %d from %s: %s (stale pid file?)"):format(pid, path, err)
    end
    if not is_wm(pid) then
        return nil, ("pid %d from %s is not a wm process (stale pid file?)"):format(pid, path)
    end
    ok, err = watch.kill(pid, "hup")
    if not ok then
        return nil, ("pid %d: %s"):format(pid, err)
    end
    return pid
end

return _M
