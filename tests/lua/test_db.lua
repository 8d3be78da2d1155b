-- wm.db against the test database (a fresh one per file).
local T = {}

function T.typed_values(t)
    local r = assert(wm.db.query([[SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8,
        9007199254740993::int8 AS big, 1.25::float8 AS f, true AS b, NULL::text AS n, 'x'::text AS s,
        '{"a":[1,{}],"e":[]}'::jsonb AS j, '[1,2]'::json AS js, 12.340::numeric AS num,
        '00000000-0000-0000-0000-000000000001'::uuid AS u, '2026-01-02 03:04:05'::timestamp AS ts]]))[1]
    t.eq(r.i2, 2 - 1)
    t.eq(r.i4, 2)
    t.eq(r.i8, 3)
    t.eq(r.big, "9007199254740993", "beyond 2^53 stays exact as text")
    t.eq(r.f, 1.25)
    t.eq(r.b, true)
    t.eq(r.n, wm.null)
    t.eq(r.s, "x")
    t.eq(r.j.a[1], 1)
    t.eq(wm.json.encode(r.j.e), "[]")
    t.eq(r.js, { 1, 2 })
    t.eq(r.num, "12.340")
    t.eq(r.u, "00000000-0000-0000-0000-000000000001")
    t.eq(r.ts, "2026-01-02 03:04:05")
end

function T.parameters_are_never_spliced(t)
    local hostile = "'); DROP TABLE x; --"
    local r = assert(wm.db.query("SELECT $1::text AS v, $2::int AS n, $3::bool AS b, $4::jsonb AS j, $5::text AS nul",
        hostile, 7, false, { k = "v", list = wm.json.array({}) }, wm.null))[1]
    t.eq(r.v, hostile)
    t.eq(r.n, 7)
    t.eq(r.b, false)
    t.eq(r.j, { k = "v", list = {} })
    t.eq(r.nul, wm.null)
end

function T.error_gives_nil_message_sqlstate(t)
    local rows, err, state = wm.db.query("SELECT * FROM no_such_table")
    t.eq(rows, nil)
    t.match(err, "no_such_table")
    t.eq(state, "42P01")
    -- The connection is fine afterwards.
    t.eq(assert(wm.db.query("SELECT 5 AS v"))[1].v, 5)
end

function T.affected_count(t)
    assert(wm.db.query("CREATE TABLE aff (v int)"))
    local _, n = assert(wm.db.query("INSERT INTO aff SELECT generate_series(1, 7)"))
    t.eq(n, 7)
    local rows, m = assert(wm.db.query("UPDATE aff SET v = v + 1 WHERE v > 4 RETURNING v"))
    t.eq(#rows, 3)
    t.eq(m, 3)
end

function T.thousand_coroutines_on_eight_connections(t)
    t.eq(wm.config.database.pool_size, 8)
    local tasks, pids = {}, {}
    for i = 1, 1000 do
        tasks[i] = wm.spawn(function()
            local r = assert(wm.db.query("SELECT $1::int * 3 AS v, $2::text AS s, pg_backend_pid() AS pid",
                                         i, "n" .. i))[1]
            return r
        end)
    end
    local distinct = 0
    for i = 1, 1000 do
        local ok, r = tasks[i]:wait()
        t.eq(ok, true)
        t.eq(r.v, i * 3)
        t.eq(r.s, "n" .. i)
        if not pids[r.pid] then
            pids[r.pid] = true
            distinct = distinct + 1
        end
    end
    t.ok(distinct <= 8, "at most 8 connections, saw " .. distinct)
    t.ok(distinct >= 2, "the work was spread, saw " .. distinct)
end

function T.tx_runs_on_one_connection_and_commits(t)
    assert(wm.db.query("CREATE TABLE txt (v int)"))
    -- Keep the other connections busy meanwhile.
    local noise = {}
    for i = 1, 50 do
        noise[i] = wm.spawn(function() return wm.db.query("SELECT pg_sleep(0.001)") end)
    end
    local pids = {}
    local res = assert(wm.db.tx(function(q)
        for i = 1, 20 do
            local r = assert(q:one("INSERT INTO txt VALUES ($1) RETURNING pg_backend_pid() AS pid", i))
            pids[r.pid] = true
            wm.sleep(0)
        end
        return "done"
    end))
    t.eq(res, "done")
    local n = 0
    for _ in pairs(pids) do n = n + 1 end
    t.eq(n, 1, "every statement of the transaction on one connection")
    t.eq(assert(wm.db.one("SELECT count(*) AS c FROM txt")).c, 20)
    for _, task in ipairs(noise) do task:wait() end
end

function T.tx_rolls_back_on_error(t)
    assert(wm.db.query("CREATE TABLE txr (v int)"))
    local ok, err = wm.db.tx(function(q)
        assert(q:query("INSERT INTO txr VALUES (1)"))
        error("changed my mind")
    end)
    t.eq(ok, nil)
    t.match(err, "changed my mind")
    t.eq(assert(wm.db.one("SELECT count(*) AS c FROM txr")).c, 0)
end

function T.tx_rolls_back_when_a_query_failed(t)
    assert(wm.db.query("CREATE TABLE txq (v int UNIQUE)"))
    local ok, err = wm.db.tx(function(q)
        assert(q:query("INSERT INTO txq VALUES (1)"))
        q:query("INSERT INTO txq VALUES (1)")    -- fails; ignored by the script
    end)
    t.eq(ok, nil)
    t.match(err, "rolled back")
    t.eq(assert(wm.db.one("SELECT count(*) AS c FROM txq")).c, 0)
end

function T.tx_rolls_back_when_its_task_dies(t)
    assert(wm.db.query("CREATE TABLE txd (v int)"))
    local inside = wm.event()
    local task = wm.spawn(function()
        return wm.db.tx(function(q)
            assert(q:query("INSERT INTO txd VALUES (1)"))
            inside:set()
            wm.sleep(30)
        end)
    end)
    inside:wait(5)
    task:cancel("killed")
    -- The connection comes back to the pool with the insert rolled back;
    -- every connection is usable (a leaked pin would starve this).
    local tasks = {}
    for i = 1, 16 do
        tasks[i] = wm.spawn(function()
            return wm.db.tx(function(q) return q:one("SELECT count(*) AS c FROM txd").c end)
        end)
    end
    for i = 1, 16 do
        local ok, c = tasks[i]:wait(10)
        t.eq(ok, true)
        t.eq(c, 0)
    end
end

function T.tx_script_runs_several_statements(t)
    assert(wm.db.tx(function(q)
        assert(q:script("CREATE TABLE s1 (v int); INSERT INTO s1 VALUES (1), (2); CREATE INDEX ON s1 (v);"))
        assert(q:query("INSERT INTO s1 VALUES ($1)", 3))
    end))
    t.eq(assert(wm.db.one("SELECT sum(v) AS s FROM s1")).s, 6)
    local ok, err = wm.db.query("SELECT 1; SELECT 2")
    t.eq(ok, nil, "several statements need a transaction's script()")
    t.ok(err)
end

function T.listen_notify(t)
    local got, probed = {}, false
    local ev = wm.event()
    assert(wm.db.listen("wm_test_chan", function(payload, channel)
        if payload == "probe" then
            probed = true
            return
        end
        got[#got + 1] = channel .. ":" .. payload
        if #got == 2 then ev:set() end
    end))
    -- The listener connects and LISTENs on its own connection: probe until
    -- a notification gets through (a loaded machine may take seconds).
    t.wait_for("the listener to hear a probe", function()
        assert(wm.db.query("SELECT pg_notify('wm_test_chan', 'probe')"))
        wm.sleep(0.1)
        return probed
    end, 20)
    assert(wm.db.query("SELECT pg_notify('wm_test_chan', $1)", "one"))
    assert(wm.db.query("SELECT pg_notify('wm_test_chan', $1)", "two"))
    t.ok(ev:wait(5), "notifications arrived")
    t.eq(got, { "wm_test_chan:one", "wm_test_chan:two" })
end

function T.stats(t)
    assert(wm.db.query("SELECT 1"))
    local s = wm.db.stats()
    t.eq(s.size, 8)
    t.ok(s.queries >= 1)
end

return T
