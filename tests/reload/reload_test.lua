-- Hot reload tests. Each scenario runs in a child `wm run` process
-- (tests/reload/child.lua) with WM_SCRIPTS_PATH set to a fresh temporary
-- folder, so module paths, package.path order and the logs on stderr are
-- the real ones.
-- Run: build/wm test tests/reload/reload_test.lua
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
-- The wm binary under test (ctest's runner exports WM_TEST_WM; the tree may
-- be rebuilt while we run, which unlinks /proc/self/exe's target).
local exe = os.getenv("WM_TEST_WM") or wm.fs.realpath("/proc/self/exe") or (wm.root .. "/build/wm")

-- Runs child.lua MODE in a new folder (removed after the test); returns
-- {key = value}, res, dir.
local function child(t, mode, env)
    local dir = t.tmpdir()
    local e = { WM_SCRIPTS_PATH = dir }
    for k, v in pairs(env or {}) do
        e[k] = v
    end
    local res, err = wm.exec { argv = { exe, "run", here .. "/child.lua", mode, dir }, env = e,
                               timeout = 30 }
    assert(res, err)
    -- "key value" lines; the second "key" is out["key#2"], and so on.
    local out, count = {}, {}
    for k, v in res.stdout:gmatch("(%S+) ([^\n]*)\n") do
        count[k] = (count[k] or 0) + 1
        out[count[k] == 1 and k or (k .. "#" .. count[k])] = v
    end
    return out, res, dir
end

-- The JSON log lines of a child's stderr.
local function logs(stderr)
    local out = {}
    for line in stderr:gmatch("[^\n]+") do
        local ok, v = pcall(wm.json.decode, line)
        if ok and type(v) == "table" then
            out[#out + 1] = v
        end
    end
    return out
end

local T = {}

function T.edit_is_picked_up(t)
    local out, res, dir = child(t, "edit")
    t.eq(res.code, 0, "child exit; stderr: " .. res.stderr)
    t.eq(out.value, "1", "first require")
    t.eq(out.roots_first, "true", "WM_SCRIPTS_PATH folder comes first")
    t.eq(out.pass, "true", "a reload pass ran after the edit")
    t.eq(out.ok, "true")
    t.eq(out["value#2"], "3", "require after the edit sees the new value")
    t.eq(out.hooks, "1", "the hook ran once")
    t.ok(tonumber(out.seconds) < 2, "reloaded within 2 s (took " .. out.seconds .. " s)")
end

function T.unwatched_scripts_reload_only_when_asked(t)
    local out, res = child(t, "unwatched")
    t.eq(res.code, 0, "child exit; stderr: " .. res.stderr)
    t.eq(out.watched, "0", "no folder is watched")
    t.eq(out.pass, "false", "an edit alone reloads nothing")
    t.eq(out["value#2"], "1")
    t.eq(out.ok, "true", "reload.now (SIGHUP) does")
    t.eq(out["value#3"], "3")
    t.eq(out.hooks, "1")
end

function T.broken_edit_keeps_old(t)
    local out, res, dir = child(t, "broken")
    t.eq(res.code, 0, "child exit; stderr: " .. res.stderr)
    t.eq(out.pass, "true", "a pass ran on the broken edit")
    t.eq(out.ok, "false", "and failed")
    t.eq(out["value#2"], "1", "the old module stays loaded")
    t.eq(out.hooks, "0", "hooks do not run on a failed pass")
    t.eq(out.error_line, "4", "line of the syntax error")
    t.ok(out.error_file:match("/rl_mod%.lua$"), "file of the syntax error")
    -- The log line names file and line.
    local found
    for _, l in ipairs(logs(res.stderr)) do
        if l.level == "error" and l.file and l.file:match("rl_mod%.lua$") then
            found = l
        end
    end
    t.ok(found, "an error log line for the file; stderr: " .. res.stderr)
    t.eq(found.line, 4)
    t.ok(found.msg:match("rl_mod%.lua:4: "), "message has file:line: " .. found.msg)
    -- Fixing the file applies it.
    t.eq(out["ok#2"], "true", "the fix reloads")
    t.eq(out["value#3"], "3", "fixed value")
    t.eq(out["hooks#2"], "1", "hook ran once, on the fix")
end

function T.new_subdir_is_watched(t)
    local out, res, dir = child(t, "subdir")
    t.eq(res.code, 0, "child exit; stderr: " .. res.stderr)
    t.eq(out.watched_later, "true", "a folder made after start is watched")
    t.eq(out.watched_deeper, "true", "and the one inside it")
    t.eq(out.value, "a")
    t.eq(out.pass, "true")
    t.eq(out.modules, "later.deeper.m", "the changed module was dropped")
    t.eq(out["value#2"], "b", "an edit in the new folder reloads")
end

function T.hook_failure_is_contained(t)
    local out, res, dir = child(t, "hook_fails")
    t.eq(res.code, 0, "child exit; stderr: " .. res.stderr)
    t.eq(out.ok, "nil", "reload.now reports the failure")
    t.ok(out.err:match("bad") and out.err:match("raises"), "names the failed hooks: " .. out.err)
    t.eq(out.after_ran, "after", "later hooks still run")
    t.eq(out.value_after, "1")
    local bad = 0
    for _, l in ipairs(logs(res.stderr)) do
        if l.level == "error" and (l.hook == "bad" or l.hook == "raises") then
            bad = bad + 1
        end
    end
    t.eq(bad, 2, "each failed hook logged")
end

function T.wm_reload_sends_sighup(t)
    local var = t.tmpdir()
    local env = { WM_PATHS_VAR = var }
    local task = wm.spawn(function()
        return child(t, "server", env)
    end)
    local pidfile = var .. "/wm.pid"
    for _ = 1, 200 do
        if io.open(pidfile) then
            break
        end
        wm.sleep(0.025)
    end
    t.ok(io.open(pidfile), "the server wrote its pid file")
    wm.sleep(0.1)
    local res = assert(wm.exec { argv = { exe, "reload" }, env = env, timeout = 10 })
    t.eq(res.code, 0, "wm reload exit; stderr: " .. res.stderr)
    t.ok(res.stdout:match("sent SIGHUP to %d+"), res.stdout)
    local ok, out, cres, dir = task:wait(15)
    t.ok(ok, "server child finished")
    t.eq(cres.code, 0, "server exit; stderr: " .. cres.stderr)
    t.eq(out.reason, "signal", "the reload came from SIGHUP")
    t.eq(out.woken, "true")
    t.eq(out.pidfile_left, "false", "pid file removed")

    -- No server now: wm reload fails cleanly.
    res = assert(wm.exec { argv = { exe, "reload" }, env = env, timeout = 10 })
    t.eq(res.code, 1)
    t.ok(res.stderr:match("no pid file"), res.stderr)
end

function T.module_names_follow_package_path(t)
    local reload = require "wm.reload"
    local tpls = {
        { dir = "/a", prefix = "/a/", suffix = ".lua" },
        { dir = "/a", prefix = "/a/", suffix = "/init.lua" },
        { dir = "/s", prefix = "/s/", suffix = ".lua" },
    }
    local names = reload.modules_for("/a/x/y.lua", tpls)
    t.eq(#names, 1)
    t.eq(names[1], "x.y")
    names = reload.modules_for("/a/pkg/init.lua", tpls)
    t.eq(table.concat(names, ","), "pkg.init,pkg")
    t.eq(#reload.modules_for("/elsewhere/x.lua", tpls), 0)
    t.eq(#reload.modules_for("/a/x.y/z.lua", tpls), 0, "a dotted folder is no module")
    t.eq(#reload.modules_for("/a/notes.txt", tpls), 0)
    -- The real roots: WM_SCRIPTS_PATH folders, then <root>/scripts.
    local roots = reload.roots()
    t.eq(roots[#roots], wm.fs.realpath(wm.root .. "/scripts"))
end

return T
