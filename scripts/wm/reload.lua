-- wm.reload: hot reload of scripts.
--
--   reload.start{dirs=, debounce=0.1, signal=true, watch=true} -> true | nil, err
--       Watches the script folders (by default every folder of package.path:
--       WM_SCRIPTS_PATH first, then <root>/scripts), recursively, and reloads
--       after each burst of changes (watch=false: never by itself). Unless
--       signal=false, SIGHUP runs reload.now("signal"). serve.lua calls it once.
--   reload.now([reason]) -> true | nil, err
--       Reloads everything by hand: every .lua file under the folders.
--   reload.on_reload(name, fn)   fn(info) -> true | nil, err
--       Registers a hook, run after each successful reload in registration
--       order (a second call with the same name replaces the hook in place).
--       info = {reason=, files=, modules=}. A hook that raises or returns
--       nil, err is logged and that subsystem keeps its old state; the router
--       registers router.rebuild.
--   reload.off(name), reload.stop(), reload.roots(), reload.watched_dirs(),
--   reload.status() -> {ok=, reason=, at=, files=, modules=, errors=, failed_hooks=}
--   (The pid file that `wm reload` signals through is wm.pidlock's.)
--
-- What a reload does: each changed .lua file (its text differs from what
-- was last loaded) is compiled first (loadfile). If any does not compile,
-- the error is logged with file and line and nothing changes; those changes
-- stay pending and are retried with the next batch. Otherwise the changed
-- modules are dropped from package.loaded (file -> module name by
-- package.path order) together with every module that captured one of them
-- at load (wm.deps records those requires), and all of them are loaded
-- again at once; if one fails to load, the old modules are all put back and
-- the error is logged. Then the hooks run (the stages and the router reload
-- from the fresh modules). Tasks already running keep the closures they
-- hold. Modules named "wm" or "wm.*" (the host's own wrappers, which hold
-- state) are compiled and reported but not dropped: they change on a
-- restart.
local core = require "wm.core"
local watch = require "wm.core.watch"
local deps = require "wm.deps"

local type, pairs, ipairs, pcall = type, pairs, ipairs, pcall
local tostring, tonumber = tostring, tonumber
local loadfile, io, table, package = loadfile, io, table, package
local log = core.log

local _M = { _VERSION = "0.1" }

local S = {
    hooks = {},       -- array of {name=, fn=}
    watcher = nil,
    dirs = nil,
    pending = {},     -- path -> true: changes not applied yet
    running = false,
    again = false,
    hashes = {},      -- path -> sha256 of the text last loaded
    idle = nil,       -- wm event set when a pass ends
    last = nil,
    signal_set = false,
}

-- ---- paths and module names ----

local function realpath(p)
    return core.realpath(p)
end

-- package.path entries as {dir=, prefix=, suffix=}, in order, with real dirs.
local function templates()
    local out = {}
    for entry in package.path:gmatch("[^;]+") do
        local pre, post = entry:match("^(.-)%?(.*)$")
        if pre and pre:sub(-1) == "/" and not post:find("?", 1, true) then
            local dir = realpath(pre:sub(1, -2))
            if dir then
                out[#out + 1] = { dir = dir, prefix = dir .. "/", suffix = post }
            end
        end
    end
    return out
end

-- The script folders: each package.path folder once, in package.path order.
function _M.roots()
    local seen, out = {}, {}
    for _, t in ipairs(templates()) do
        if not seen[t.dir] then
            seen[t.dir] = true
            out[#out + 1] = t.dir
        end
    end
    return out
end

-- Every module name `path` can be loaded as ("a/b.lua" -> "a.b",
-- "a/init.lua" -> "a" and "a.init"), in package.path order.
function _M.modules_for(path, tpls)
    local names, seen = {}, {}
    for _, t in ipairs(tpls or templates()) do
        local p, s = t.prefix, t.suffix
        if #path > #p + #s and path:sub(1, #p) == p and path:sub(-#s) == s then
            local mid = path:sub(#p + 1, #path - #s)
            if not mid:find(".", 1, true) then
                local name = mid:gsub("/", ".")
                if not seen[name] then
                    seen[name] = true
                    names[#names + 1] = name
                end
            end
        end
    end
    return names
end

local function is_lua(p)
    return p:sub(-4) == ".lua"
end

local function is_file(p)
    local st = core.stat(p)
    return st ~= nil and st.type == "file"
end

local function host_module(name)
    return name == "wm" or name:sub(1, 3) == "wm."
end

-- Every .lua file below `dir` (hidden folders skipped).
local function walk(dir, out)
    local names = core.list_dir(dir)
    for _, n in ipairs(names or {}) do
        if n:sub(1, 1) ~= "." then
            local p = dir .. "/" .. n
            local st = core.stat(p)
            if st and st.type == "dir" then
                walk(p, out)
            elseif st and st.type == "file" and is_lua(n) then
                out[#out + 1] = p
            end
        end
    end
    return out
end

-- ---- one pass ----

local function sorted_keys(t)
    local out = {}
    for k in pairs(t) do
        out[#out + 1] = k
    end
    table.sort(out)
    return out
end

-- loadfile's message is "<chunkname>:<line>: <what>"; the chunk name may be
-- shortened ("...tail/of/path.lua"), so the file comes from our own list.
local function compile_error(file, msg)
    local line, what = msg:match("^.-:(%d+): (.*)$")
    return {
        file = file,
        line = tonumber(line),
        error = what or msg,
        message = line and (file .. ":" .. line .. ": " .. what) or msg,
    }
end

-- The content of each script file as last loaded (sha256), so that a pass
-- acts only on files whose text really changed: a manual reload, or an
-- editor that rewrites a file unchanged, drops nothing.
local function file_hash(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local text = f:read("*a")
    f:close()
    return core.crypto.sha256_hex(text or "")
end

local function record_hashes(dirs)
    for _, dir in ipairs(dirs) do
        for _, f in ipairs(walk(dir, {})) do
            S.hashes[f] = file_hash(f)
        end
    end
end

-- Drops `names` from package.loaded and loads each again; when one fails
-- to load, every old module is put back, so the running code stays whole.
local function swap_modules(names)
    local old = {}
    for _, name in ipairs(names) do
        old[name] = package.loaded[name]
        deps.forget(name)
        package.loaded[name] = nil
    end
    for _, name in ipairs(names) do
        if package.loaded[name] == nil then
            local ok, err = pcall(require, name)
            if not ok then
                for n, mod in pairs(old) do
                    package.loaded[n] = mod
                end
                return nil, { module = name, message = tostring(err) }
            end
        end
    end
    return true
end

local function apply(reason)
    local t0 = core.monotonic()
    local candidates = sorted_keys(S.pending)

    local files, hashes, errors = {}, {}, {}
    for _, f in ipairs(candidates) do
        if is_lua(f) then
            if not is_file(f) then
                files[#files + 1] = f           -- deleted: its module goes
            else
                local h = file_hash(f)
                if h ~= S.hashes[f] then
                    local fn, err = loadfile(f)
                    if not fn then
                        errors[#errors + 1] = compile_error(f, err)
                    else
                        files[#files + 1] = f
                        hashes[f] = h
                    end
                end
            end
        end
    end
    if #errors > 0 then
        for _, e in ipairs(errors) do
            log.error("reload: " .. e.message .. " (old code kept)",
                { file = e.file, line = e.line, error = e.error, reason = reason })
        end
        S.last = { ok = false, reason = reason, at = core.now(), files = files, errors = errors }
        return nil, errors[1].message
    end

    -- The changed modules, and every loaded module that captured one of
    -- them at load (a stage holding lib.email, a renderer holding its
    -- templates), however deep.
    local changed, restart = {}, {}
    local tpls = templates()
    for _, f in ipairs(files) do
        for _, name in ipairs(_M.modules_for(f, tpls)) do
            if host_module(name) then
                if package.loaded[name] ~= nil then
                    restart[#restart + 1] = name
                end
            elseif package.loaded[name] ~= nil then
                changed[#changed + 1] = name
            end
        end
    end
    local dropped, seen = {}, {}
    for _, list in ipairs({ changed, deps.dependents(changed) }) do
        for _, name in ipairs(list) do
            if not seen[name] and not host_module(name) then
                seen[name] = true
                dropped[#dropped + 1] = name
            end
        end
    end
    local ok, lerr = swap_modules(dropped)
    if not ok then
        local e = { message = lerr.module .. ": " .. lerr.message, error = lerr.message }
        e.file, e.line = lerr.message:match("^(.-%.lua):(%d+):")
        log.error("reload: " .. e.message .. " (old code kept)",
            { module = lerr.module, error = lerr.message, reason = reason })
        S.last = { ok = false, reason = reason, at = core.now(), files = files, errors = { e } }
        return nil, e.message
    end
    S.pending = {}
    for f in pairs(hashes) do
        S.hashes[f] = hashes[f]
    end
    for _, f in ipairs(files) do
        if not hashes[f] then
            S.hashes[f] = nil
        end
    end
    if #restart > 0 then
        log.warn("reload: host modules changed; restart wm to use them", { modules = restart })
    end

    local info = { reason = reason, files = files, modules = dropped, host_modules = restart }
    local failed = {}
    local hooks = {}
    for i, h in ipairs(S.hooks) do
        hooks[i] = h
    end
    for _, h in ipairs(hooks) do
        local hok, res, err = pcall(h.fn, info)
        local why
        if not hok then
            why = tostring(res)
        elseif res == false or (res == nil and err ~= nil) then
            why = tostring(err or "returned false")
        end
        if why then
            failed[#failed + 1] = h.name
            log.error("reload: hook " .. h.name .. " failed; it keeps its old state",
                { hook = h.name, error = why, reason = reason })
        end
    end

    S.last = {
        ok = #failed == 0, reason = reason, at = core.now(), files = files,
        modules = dropped, host_modules = restart, failed_hooks = failed,
    }
    log.info("reload", {
        reason = reason, files = #files, modules = dropped,
        failed_hooks = #failed > 0 and failed or nil,
        ms = math.floor((core.monotonic() - t0) * 1000 + 0.5),
    })
    if #failed > 0 then
        return nil, "hooks failed: " .. table.concat(failed, ", ")
    end
    return true
end

-- Runs passes until no change arrived meanwhile. A caller that comes while
-- a pass runs (a hook may yield) waits for it to end.
local function run(reason)
    if S.running then
        S.again = true
        S.again_reason = reason
        S.idle:wait(120)
    else
        S.running = true
        S.idle = core.event()
        repeat
            S.again = false
            local ok, a, b = pcall(apply, reason)
            if not ok then
                log.error("reload: internal error", { error = tostring(a) })
                S.last = { ok = false, reason = reason, at = core.now(),
                           errors = { { message = tostring(a) } } }
            end
            reason = S.again_reason or reason
        until not S.again
        S.running = false
        S.idle:set()
    end
    local last = S.last
    if last and last.ok then
        return true
    end
    if last and last.errors and last.errors[1] then
        return nil, last.errors[1].message
    end
    return nil, "hooks failed: " .. table.concat(last and last.failed_hooks or {}, ", ")
end

-- ---- public ----

function _M.on_reload(name, fn)
    if type(name) ~= "string" or type(fn) ~= "function" then
        error("usage: reload.on_reload(name, fn)", 2)
    end
    for _, h in ipairs(S.hooks) do
        if h.name == name then
            h.fn = fn
            return
        end
    end
    S.hooks[#S.hooks + 1] = { name = name, fn = fn }
end

function _M.off(name)
    for i, h in ipairs(S.hooks) do
        if h.name == name then
            table.remove(S.hooks, i)
            return true
        end
    end
    return false
end

-- The watcher's batches arrive here, each in its own task.
local function on_batch(paths)
    for _, p in ipairs(paths) do
        S.pending[p] = true
    end
    return run("watch")
end

function _M.now(reason)
    for _, dir in ipairs(S.dirs or _M.roots()) do
        for _, f in ipairs(walk(dir, {})) do
            S.pending[f] = true
        end
    end
    return run(reason or "manual")
end

function _M.start(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("usage: reload.start{dirs=, debounce=, signal=}", 2)
    end
    opts = opts or {}
    if S.watcher or S.dirs then
        return true
    end
    local dirs = opts.dirs or _M.roots()
    record_hashes(dirs)
    local w
    if opts.watch ~= false then
        local err
        w, err = watch.start(dirs, on_batch, opts.debounce or 0.1)
        if not w then
            return nil, err
        end
    end
    S.watcher, S.dirs = w, dirs
    if opts.signal ~= false and not S.signal_set then
        core.on_signal("hup", function()
            _M.now("signal")
        end)
        S.signal_set = true
    end
    if w then
        log.info("reload: watching scripts", { dirs = dirs, folders = #w:dirs() })
    else
        log.info("reload: not watching scripts; `wm reload` reloads them", { dirs = dirs })
    end
    return true
end

function _M.stop()
    if S.watcher then
        S.watcher:close()
    end
    S.watcher, S.dirs = nil, nil
    S.pending = {}
end

function _M.watched_dirs()
    return S.watcher and S.watcher:dirs() or {}
end

function _M.status()
    return S.last
end

return _M
