-- The server goes away under load: queries in flight fail with an error,
-- the host keeps running, and queries succeed again once it is back. This
-- test runs its own embedded cluster so killing it disturbs nobody else.
local T = {}

function T.server_killed_mid_query_then_restarted(t)
    local embed = require "wm.pgembed"
    local var = t.tmpdir()
    wm.config.paths.var = var
    wm.config.database.url = ""
    wm.config.database.backoff_max = 0.2
    t.defer(function() embed.destroy() end)
    -- Same process, so the embedded-cluster module must forget the test cluster's location.
    package.loaded["wm.pgembed"] = nil
    embed = require "wm.pgembed"
    assert(embed.start())
    wm.db.close()
    assert(wm.db.query("SELECT 1"))

    -- Load: 20 tasks in long queries, then an immediate-mode kill.
    local tasks = {}
    for i = 1, 20 do
        tasks[i] = wm.spawn(function() return wm.db.query("SELECT pg_sleep(5), $1::int AS i", i) end)
    end
    wm.sleep(0.3)
    local data = embed.paths().data
    assert(wm.exec { argv = { "sh", "-c", (wm.sys.getuid() == 0 and "runuser -u postgres -- " or "")
        .. embed.bindir() .. "/pg_ctl stop -m immediate -D " .. data } })
    for i = 1, 20 do
        local ok, rows, err = tasks[i]:wait(10)
        t.eq(ok, true, "the task itself survives")
        t.eq(rows, nil, "the query in flight failed")
        t.ok(type(err) == "string" and #err > 0, "with a message")
    end
    -- While it is down: a clear error, quickly.
    local t0 = wm.monotonic()
    local rows, err = wm.db.query("SELECT 1")
    t.eq(rows, nil)
    t.match(err, "unavailable")
    t.ok(wm.monotonic() - t0 < 6, "no hang while the server is down")

    assert(embed.start())
    local back = false
    for _ = 1, 100 do
        local r = wm.db.query("SELECT 42 AS v")
        if r and r[1].v == 42 then
            back = true
            break
        end
        wm.sleep(0.1)
    end
    t.ok(back, "queries succeed again after the restart")
    -- And a transaction works again too.
    t.eq(assert(wm.db.tx(function(q) return q:one("SELECT 7 AS v").v end)), 7)
    wm.db.close()
end

return T
