local T = {}

function T.runs_and_collects_output(t)
    local r = assert(wm.exec { argv = { "sh", "-c", "echo out; echo err >&2; exit 3" } })
    t.eq(r.code, 3)
    t.eq(r.stdout, "out\n")
    t.eq(r.stderr, "err\n")
end

function T.feeds_stdin_and_cwd(t)
    local dir = t.tmpdir()
    local r = assert(wm.exec { argv = { "sh", "-c", "cat; pwd" }, stdin = "hello\n", cwd = dir })
    t.eq(r.stdout, "hello\n" .. dir .. "\n")
end

function T.timeout_kills_the_child_and_its_children(t)
    local t0 = wm.monotonic()
    -- (1 s: long enough for sh to start and echo on a loaded machine.)
    local r, err, partial = wm.exec { argv = { "sh", "-c", "echo started; sleep 30 & sleep 30" }, timeout = 1 }
    local elapsed = wm.monotonic() - t0
    t.eq(r, nil)
    t.eq(err, "timeout")
    t.eq(partial.stdout, "started\n")
    t.ok(elapsed < 5, "killed after " .. elapsed .. " s, not after the children's 30 s")
end

function T.missing_program_is_an_error(t)
    local r, err = wm.exec { argv = { "/nonexistent/prog" } }
    t.eq(r, nil)
    t.eq(err, "no such file or directory: /nonexistent/prog")
    r, err = wm.exec { argv = { "wm-no-such-program" } }
    t.eq(r, nil)
    t.eq(err, "no such file or directory: wm-no-such-program")
    local dir = t.tmpdir()
    assert(wm.fs.write_file(dir .. "/plain", "#!/bin/sh\necho no\n"))
    r, err = wm.exec { argv = { dir .. "/plain" } }
    t.eq(r, nil)
    t.eq(err, "permission denied: " .. dir .. "/plain")
    r, err = wm.exec { argv = { dir } }
    t.eq(r, nil, "a folder is not a program")
    t.eq(err, "permission denied: " .. dir)
end

-- The program is found as execvp finds it: a relative path from cwd, a
-- bare name along env's PATH when env sets one; argv[0] reaches it as given.
function T.program_lookup(t)
    local dir = t.tmpdir()
    assert(wm.fs.write_file(dir .. "/hello", "#!/bin/sh\necho \"$0 $1\"\n"))
    assert(wm.exec { argv = { "chmod", "755", dir .. "/hello" } })
    local r = assert(wm.exec { argv = { "./hello", "x" }, cwd = dir })
    t.eq(r.stdout, "./hello x\n")
    r = assert(wm.exec { argv = { "hello", "y" }, env = { PATH = "/nonexistent:" .. dir } })
    t.eq(r.stdout, dir .. "/hello y\n")
    local _, err = wm.exec { argv = { "hello" } }
    t.eq(err, "no such file or directory: hello", "not on wm's own PATH")
    r = assert(wm.exec { argv = { "sh", "-c", "echo $0" } })
    t.eq(r.stdout, "sh\n")
end

-- /proc/PID/stat's state, or nil once the process is reaped.
local function proc_state(pid)
    local s = wm.fs.read_file("/proc/" .. pid .. "/stat")
    return s and s:match("^%d+ %b() (%a)")
end

-- A wm killed with SIGKILL runs no cleanup of its own: its children still
-- die (setpriv --pdeathsig), rather than live on holding memory and ports.
function T.children_die_when_wm_is_killed(t)
    local dir = t.tmpdir()
    local script, child_pid, wm_pid = dir .. "/child.lua", dir .. "/sleep.pid", dir .. "/wm.pid"
    assert(wm.fs.write_file(script, ([[
        wm.exec { argv = { "sh", "-c", "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 300" }, timeout = 600 }
    ]]):format(child_pid, child_pid, child_pid)))
    local task = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", ("echo $$ > %s; exec %s run %s"):format(wm_pid, os.getenv("WM_TEST_WM"), script) },
                         env = { WM_PATHS_VAR = dir }, timeout = 60 }
    end)
    local function pid_in(path)
        local s = wm.fs.read_file(path)
        return s and tonumber(s:match("%d+"))
    end
    local sleep = t.wait_for("the sleep's pid", function() return pid_in(child_pid) end, 15)
    t.defer(function() wm.exec { argv = { "kill", "-9", tostring(sleep) } } end)
    local parent = pid_in(wm_pid)
    -- (sh writes the pid a moment before it becomes the sleep.)
    t.wait_for("the sleep running under the wm run", function()
        local state, ppid = (wm.fs.read_file("/proc/" .. sleep .. "/stat") or ""):match("^%d+ %(sleep%) (%a) (%d+) ")
        return state and state ~= "Z" and tonumber(ppid) == parent
    end, 5)

    assert(wm.exec { argv = { "kill", "-KILL", tostring(parent) } })
    local ok, res = task:wait(10)
    t.ok(ok, "the killed wm run was waited for")
    t.eq(res.signal, 9)
    -- Gone, or a zombie waiting for init to reap it: either way dead.
    t.wait_for("the sleep to die with wm", function()
        local st = proc_state(sleep)
        return st == nil or st == "Z"
    end, 2)
end

function T.does_not_block_the_loop(t)
    local ticks = 0
    local ticker = wm.spawn(function()
        for _ = 1, 50 do wm.sleep(0.005); ticks = ticks + 1 end
    end)
    assert(wm.exec { argv = { "sleep", "0.2" } })
    t.ok(ticks >= 10, "ticks while the child ran: " .. ticks)
    ticker:wait()
end

function T.large_output(t)
    local r = assert(wm.exec { argv = { "head", "-c", "5000000", "/dev/zero" } })
    t.eq(#r.stdout, 5000000)
    r = assert(wm.exec { argv = { "head", "-c", "5000", "/dev/zero" }, max_output = 1000 })
    t.eq(#r.stdout, 1000)
    t.eq(r.truncated, true)
end

function T.env_is_added(t)
    local r = assert(wm.exec { argv = { "sh", "-c", "echo $WM_X_TEST" }, env = { WM_X_TEST = "yes" } })
    t.eq(r.stdout, "yes\n")
end

function T.bad_argv_raises(t)
    local ok, err = pcall(wm.exec, { argv = {} })
    t.eq(ok, false)
    t.match(err, "argv")
end

return T
