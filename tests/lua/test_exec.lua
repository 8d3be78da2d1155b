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
    t.match(err, "no such file")
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
