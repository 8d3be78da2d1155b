-- Tasks: spawn, wait, sleep, events, errors with tracebacks, cancel.
local T = {}

function T.spawn_returns_results_to_wait(t)
    local task = wm.spawn(function(a, b) return a + b, "x" end, 2, 3)
    local ok, sum, x = task:wait()
    t.eq(ok, true)
    t.eq(sum, 5)
    t.eq(x, "x")
end

function T.sleep_orders_tasks_by_time(t)
    local order = {}
    local tasks = {}
    for _, d in ipairs({ 0.03, 0.01, 0.02 }) do
        tasks[#tasks + 1] = wm.spawn(function() wm.sleep(d); order[#order + 1] = d end)
    end
    for _, task in ipairs(tasks) do task:wait() end
    t.eq(order, { 0.01, 0.02, 0.03 })
end

function T.sleep_does_not_block_other_tasks(t)
    local t0 = wm.monotonic()
    local tasks = {}
    for i = 1, 100 do
        tasks[i] = wm.spawn(function() wm.sleep(0.05) end)
    end
    for _, task in ipairs(tasks) do task:wait() end
    local elapsed = wm.monotonic() - t0
    -- One after another they would take 5 s; 2 s leaves room for a loaded machine.
    t.ok(elapsed < 2, "100 concurrent 50 ms sleeps took " .. elapsed .. " s")
end

function T.error_in_task_carries_traceback(t)
    local task = wm.spawn(function()
        local function inner() error("boom") end
        inner()
    end)
    local ok, err = task:wait()
    t.eq(ok, false)
    t.match(err, "boom")
    t.match(err, "stack traceback")
    t.match(err, "test_sched.lua:%d+")
end

function T.event_wakes_waiters_and_times_out(t)
    local ev = wm.event()
    local woke = 0
    local tasks = {}
    for i = 1, 3 do
        tasks[i] = wm.spawn(function() assert(ev:wait(5)); woke = woke + 1 end)
    end
    wm.sleep(0.01)
    t.eq(woke, 0)
    ev:set()
    for _, task in ipairs(tasks) do task:wait() end
    t.eq(woke, 3)
    local other = wm.event()
    local ok, err = other:wait(0.02)
    t.eq(ok, nil)
    t.eq(err, "timeout")
end

function T.wait_timeout_then_result(t)
    local task = wm.spawn(function() wm.sleep(0.05); return "late" end)
    local ok, err = task:wait(0.001)
    t.eq(ok, nil)
    t.eq(err, "timeout")
    t.eq({ task:wait() }, { true, "late" })
end

function T.cancel_ends_a_sleeping_task(t)
    local reached = false
    local task = wm.spawn(function() wm.sleep(10); reached = true end)
    wm.sleep(0.01)
    t.eq(task:cancel("stop"), true)
    local ok, err = task:wait()
    t.eq(ok, false)
    t.eq(err, "stop")
    t.eq(reached, false)
    t.eq(task:cancel(), false, "a finished task cannot be cancelled again")
end

function T.now_is_wall_clock_seconds(t)
    local now = wm.now()
    t.ok(math.abs(now - os.time()) < 2, "wm.now() ~ os.time()")
    -- Sub-second resolution: a 20 ms sleep shows in it.
    wm.sleep(0.02)
    local later = wm.now()
    t.ok(later - now >= 0.015 and later - now < 1, "wm.now() moved by " .. (later - now))
end

function T.plain_coroutine_yield_gives_the_loop_a_turn(t)
    local ran = false
    wm.spawn(function() ran = true end)
    coroutine.yield()
    t.eq(ran, true)
end

function T.log_writes_one_json_line(t)
    local file = t.tmpdir() .. "/log.lua"
    local f = assert(io.open(file, "w"))
    f:write('wm.log.warn("hello \\"x\\"", {n = 3, s = "<b>"})')
    f:close()
    local r = assert(wm.exec { argv = { os.getenv("WM_TEST_WM"), "run", file } })
    t.eq(r.code, 0, r.stderr)
    local line = r.stderr:match("[^\n]+")
    local obj = assert(wm.json.decode(line))
    t.eq(obj.level, "warn")
    t.eq(obj.msg, 'hello "x"')
    t.eq(obj.n, 3)
    t.eq(obj.s, "<b>")
    t.match(obj.ts, "^%d%d%d%d%-%d%d%-%d%dT")
end

return T
