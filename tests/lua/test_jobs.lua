-- The job system: retries with backoff, discards with every error kept,
-- unique keys, enqueue inside a transaction, scheduled and prioritised
-- jobs, timeouts, graceful stop, lease rescue after kill -9, several hosts
-- working one queue with each job run exactly once, cron once per period,
-- and the autopilot's grid transitions. Test stages live in
-- tests/jobs/scripts/stages (WM_SCRIPTS_PATH).
local T = {}

local WM = os.getenv("WM_TEST_WM")
local SCRIPTS = wm.root .. "/tests/jobs/scripts"

local function setup()
    assert(require("wm.migrate").up())
    assert(wm.db.query([[CREATE TABLE IF NOT EXISTS job_runs
        (job_id bigint, pid int, attempt int, at timestamptz DEFAULT clock_timestamp())]]))
    assert(wm.db.query("TRUNCATE job_runs"))
    assert(wm.db.query("DELETE FROM jobs"))
    assert(wm.db.query("DELETE FROM cron_runs"))
end


local function job(id)
    return assert(wm.db.one("SELECT * FROM jobs WHERE id = $1", id))
end

local function with_worker(t, cfg)
    for k, v in pairs(cfg or {}) do
        wm.config.jobs[k] = v
    end
    assert(wm.jobs.start_worker { cron = false })
    t.defer(function() wm.jobs.stop_worker(1) end)
end

-- A `wm work` process in the background; returns {pid=, task=}.
local function spawn_host(t, env)
    local dir = t.tmpdir()
    local pidfile = dir .. "/pid"
    env = env or {}
    local cron = env.CRON
    env.CRON = nil                  -- our flag, not the child's environment
    env.WM_SCRIPTS_PATH = SCRIPTS
    env.WM_DATABASE_URL = wm.config.database.url
    local task = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", "echo $$ > " .. pidfile .. "; exec " .. WM .. " work " ..
                                  (cron and "" or "--no-cron") .. " 2>" .. dir .. "/log" },
                         env = env, timeout = 120 }
    end)
    local pid = t.wait_for("the host's pid", function()
        local f = io.open(pidfile)
        local p = f and f:read("*n")
        if f then f:close() end
        return p
    end, 10)
    local h = { pid = pid, task = task, log = dir .. "/log" }
    t.defer(function() wm.exec { argv = { "kill", "-9", tostring(pid) } } end)
    return h
end

local function stop_host(h, sig)
    assert(wm.exec { argv = { "kill", "-" .. (sig or "TERM"), tostring(h.pid) } })
    local ok, res = h.task:wait(30)
    return ok and res
end

function T.retry_with_backoff_then_discard_keeping_every_error(t)
    setup()
    with_worker(t, { backoff_base = 0.1, backoff_max = 10 })
    local id = assert(wm.jobs.enqueue("flaky", { mode = "raise" }, { max_attempts = 3 }))
    local j = t.wait_for("discard", function()
        local r = job(id)
        return r.status == "discarded" and r
    end)
    t.eq(j.attempt, 3)
    t.eq(#j.errors, 3, "every error is kept")
    for i, e in ipairs(j.errors) do
        t.eq(e.attempt, i)
        t.match(e.error, "stage blew up on attempt " .. i)
    end
    t.match(j.last_error, "attempt 3")
    local runs = assert(wm.db.query("SELECT extract(epoch FROM at)::float8 AS at FROM job_runs ORDER BY at"))
    t.eq(#runs, 3)
    -- Backoff 0.1 s then 0.2 s, each with at most 25% jitter off.
    t.ok(runs[2].at - runs[1].at >= 0.07, "first retry waited " .. (runs[2].at - runs[1].at))
    t.ok(runs[3].at - runs[2].at >= 0.14, "second retry waited " .. (runs[3].at - runs[2].at))
end

function T.stage_asked_delay_is_honoured(t)
    setup()
    with_worker(t, { backoff_base = 0.01 })
    local id = assert(wm.jobs.enqueue("flaky", { mode = "nil", retry_in = 0.6, succeed_on = 2 }))
    t.wait_for("completion", function() return job(id).status == "completed" end)
    local runs = assert(wm.db.query("SELECT extract(epoch FROM at)::float8 AS at FROM job_runs ORDER BY at"))
    t.eq(#runs, 2)
    t.ok(runs[2].at - runs[1].at >= 0.55, "Retry-After style delay: " .. (runs[2].at - runs[1].at))
end

function T.discard_asked_by_the_stage(t)
    setup()
    with_worker(t)
    local id = assert(wm.jobs.enqueue("flaky", { mode = "discard" }, { max_attempts = 5 }))
    local j = t.wait_for("discard", function() local r = job(id); return r.status == "discarded" and r end)
    t.eq(j.attempt, 1)
    t.eq(j.last_error, "not worth retrying")
end

function T.timeout_is_a_failed_attempt(t)
    setup()
    wm.config.jobs.timeouts.flaky = 0.3
    t.defer(function() wm.config.jobs.timeouts.flaky = nil end)
    with_worker(t, { backoff_base = 0.05 })
    local id = assert(wm.jobs.enqueue("flaky", { mode = "hang" }, { max_attempts = 2 }))
    local j = t.wait_for("discard", function() local r = job(id); return r.status == "discarded" and r end)
    t.eq(#j.errors, 2)
    t.match(j.errors[1].error, "timeout after 0.3 s")
end

function T.unique_key_allows_one_live_job(t)
    setup()
    local a = assert(wm.jobs.enqueue("noop", {}, { unique_key = "k1", delay = 60 }))
    local b, dup = wm.jobs.enqueue("noop", {}, { unique_key = "k1" })
    t.eq(b, a)
    t.eq(dup, "duplicate")
    t.eq(assert(wm.db.one("SELECT count(*)::int AS n FROM jobs WHERE unique_key = 'k1'")).n, 1)
    -- Once it is no longer live, the key is free again.
    assert(wm.db.query("UPDATE jobs SET status = 'completed' WHERE id = $1", a))
    local c, dup2 = wm.jobs.enqueue("noop", {}, { unique_key = "k1" })
    t.ne(c, a)
    t.eq(dup2, nil)
end

function T.enqueue_joins_the_transaction(t)
    setup()
    local ok = wm.db.tx(function(q)
        assert(wm.jobs.enqueue("noop", { n = 1 }))
        error("roll it all back")
    end)
    t.eq(ok, nil)
    t.eq(assert(wm.db.one("SELECT count(*)::int AS n FROM jobs")).n, 0, "rolled back with the transaction")
    assert(wm.db.tx(function(q)
        assert(q:query("CREATE TABLE IF NOT EXISTS things (v int)"))
        assert(q:query("INSERT INTO things VALUES (1)"))
        assert(wm.jobs.enqueue("noop", { n = 2 }))
    end))
    t.eq(assert(wm.db.one("SELECT count(*)::int AS n FROM jobs")).n, 1)
end

function T.scheduled_jobs_wait_for_run_at(t)
    setup()
    with_worker(t, { poll = 0.1 })
    local t0 = wm.now()
    local id = assert(wm.jobs.enqueue("record_run", {}, { delay = 0.7 }))
    t.eq(job(id).status, "scheduled")
    t.wait_for("completion", function() return job(id).status == "completed" end)
    local at = assert(wm.db.one("SELECT extract(epoch FROM at)::float8 AS at FROM job_runs")).at
    t.ok(at - t0 >= 0.65, "ran " .. (at - t0) .. " s after enqueue")
end

function T.priority_orders_claims(t)
    setup()
    -- Enqueued before the worker starts; the kind runs one at a time.
    wm.config.jobs.concurrency.record_run = 1
    t.defer(function() wm.config.jobs.concurrency.record_run = nil end)
    local ids = {}
    for i, p in ipairs({ 0, 5, 1, 9 }) do
        ids[i] = assert(wm.jobs.enqueue("record_run", {}, { priority = p }))
    end
    with_worker(t)
    t.wait_for("all four", function()
        return assert(wm.db.one("SELECT count(*)::int AS n FROM job_runs")).n == 4
    end)
    local order = {}
    for _, r in ipairs(assert(wm.db.query("SELECT job_id FROM job_runs ORDER BY at"))) do
        order[#order + 1] = r.job_id
    end
    t.eq(order, { ids[4], ids[2], ids[3], ids[1] })
end

function T.graceful_stop_finishes_then_hands_back(t)
    setup()
    assert(wm.jobs.start_worker { cron = false })
    local quick = assert(wm.jobs.enqueue("record_run", { sleep = 0.3 }))
    t.wait_for("running", function() return job(quick).status == "running" end)
    wm.jobs.stop_worker(5)
    t.eq(job(quick).status, "completed", "a running job finished within the deadline")

    assert(wm.jobs.start_worker { cron = false })
    local slow = assert(wm.jobs.enqueue("record_run", { sleep = 30 }))
    t.wait_for("running", function() return job(slow).status == "running" end)
    local t0 = wm.monotonic()
    wm.jobs.stop_worker(0.3)
    t.ok(wm.monotonic() - t0 < 3, "the deadline was kept")
    local j = job(slow)
    t.eq(j.status, "available", "handed back")
    t.eq(j.attempt, 0, "a hand-back is not an attempt")
    t.eq(j.lease_owner, wm.null)
end

function T.lease_rescued_after_kill_9(t)
    setup()
    local h = spawn_host(t, { WM_JOBS_LEASE = "1" })
    local id = assert(wm.jobs.enqueue("record_run", { sleep = 30 }))
    local j = t.wait_for("the job running on the other host", function()
        local r = job(id)
        return r.status == "running" and r
    end)
    t.match(j.lease_owner, ":" .. h.pid .. ":")
    assert(wm.exec { argv = { "kill", "-9", tostring(h.pid) } })
    h.task:wait(10)
    wm.sleep(1.2)                          -- the lease runs out
    assert(require("stages.rescue_leases").run({ payload = {} }))
    local r = job(id)
    t.eq(r.status, "retryable")
    t.match(r.last_error, "lease expired")
    assert(wm.db.query("UPDATE jobs SET payload = '{}' WHERE id = $1", id))
    with_worker(t)
    t.wait_for("the rescued job to complete here", function() return job(id).status == "completed" end)
    local runs = assert(wm.db.query("SELECT pid, attempt FROM job_runs ORDER BY at"))
    t.eq(#runs, 2)
    t.eq(runs[1].pid, h.pid)
    t.eq(runs[2].pid, wm.sys.getpid())
    t.eq(runs[2].attempt, 1, "the run its dead host lost did not spend an attempt")
end

function T.a_job_that_keeps_losing_its_host_ends(t)
    setup()
    local id = assert(wm.jobs.enqueue("record_run", {}, { max_attempts = 1, run_at = wm.now() + 3600 }))
    local rescue = require("stages.rescue_leases")
    for i = 1, 10 do
        -- As a host that claimed it and died: running, its lease gone.
        assert(wm.db.query([[UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = 'dead:1:x',
            lease_expires_at = now() - interval '1 second' WHERE id = $1]], id))
        assert(rescue.run({ payload = {} }))
        local r = job(id)
        if i < 10 then
            t.eq(r.status, "retryable", "loss " .. i .. " of a one-attempt job: not its fault, again")
            t.eq(r.attempt, 0)
        else
            t.eq(r.status, "discarded", "the tenth host lost: it ends")
            t.match(r.last_error, "10 hosts lost")
        end
    end
end

function T.three_hosts_run_ten_thousand_jobs_exactly_once(t)
    setup()
    local hosts = {}
    for i = 1, 3 do
        hosts[i] = spawn_host(t)
    end
    local payloads = {}
    for i = 1, 10000 do
        payloads[i] = { i = i }
    end
    t.eq(assert(wm.jobs.enqueue_many("record_run", payloads)), 10000)
    t.wait_for("10,000 completions", function()
        return assert(wm.db.one("SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'")).n == 10000
    end, 90)
    local r = assert(wm.db.one([[SELECT count(*)::int AS runs, count(DISTINCT job_id)::int AS jobs,
        count(DISTINCT pid)::int AS hosts FROM job_runs]]))
    t.eq(r.jobs, 10000, "none lost")
    t.eq(r.runs, 10000, "none ran twice")
    t.ok(r.hosts >= 2, "the work was shared: " .. r.hosts .. " hosts")
    for i = 1, 3 do
        local res = stop_host(hosts[i])
        t.ok(res, "host " .. i .. " stopped")
        t.eq(res.code, 0, "host " .. i .. " exit status")
    end
end

function T.cron_fires_once_per_period_across_three_hosts(t)
    setup()
    local env = { CRON = true, WM_CRON_RESCUE_EVERY = "1", WM_CRON_AUTOPILOT_EVERY = "100000000",
                  WM_CRON_ANALYTICS_EVERY = "100000000", WM_AUTOPILOT_ENABLED = "false" }
    local hosts = {}
    for i = 1, 3 do
        hosts[i] = spawn_host(t, env)
    end
    wm.sleep(3.5)
    for i = 1, 3 do
        stop_host(hosts[i])
    end
    local slots = assert(wm.db.query("SELECT slot, count(*)::int AS n FROM cron_runs WHERE name = 'rescue' GROUP BY slot"))
    t.ok(#slots >= 3, "fired in " .. #slots .. " periods")
    for _, s in ipairs(slots) do
        t.eq(s.n, 1)
    end
    local jobs = assert(wm.db.one("SELECT count(*)::int AS n FROM jobs WHERE kind = 'rescue_leases'")).n
    t.eq(jobs, #slots, "one job per period")
    -- Each period was fired by one of the three hosts (its lease-owner id).
    for _, r in ipairs(assert(wm.db.query("SELECT fired_by FROM cron_runs WHERE name = 'rescue'"))) do
        local ours = false
        for i = 1, 3 do
            ours = ours or r.fired_by:find(":" .. hosts[i].pid .. ":", 1, true) ~= nil
        end
        t.ok(ours, "fired by " .. tostring(r.fired_by))
    end
end

function T.autopilot_transitions_and_cooldown(t)
    setup()
    assert(wm.db.query("DELETE FROM coverage_grid"))
    local function cell(city, pop, prio)
        return assert(wm.db.one([[INSERT INTO coverage_grid (state, city, industry, population, priority)
            VALUES ('TX', $1, 'plumber', $2, $3) RETURNING id]], city, pop, prio)).id
    end
    local big = cell("Houston", 2300000, 0)
    local small = cell("Waco", 140000, 0)
    local urgent = cell("Tyler", 100000, 5)
    local paused = cell("Austin", 960000, 9)
    assert(wm.db.query("UPDATE coverage_grid SET status = 'paused' WHERE id = $1", paused))
    wm.config.autopilot.max_in_progress = 2
    local tick = require "stages.autopilot_tick"
    assert(tick.run({ payload = {} }))
    local function status(id)
        return assert(wm.db.one("SELECT status FROM coverage_grid WHERE id = $1", id)).status
    end
    t.eq(status(urgent), "in_progress", "priority first")
    t.eq(status(big), "in_progress", "then population")
    t.eq(status(small), "pending", "at most max_in_progress at once")
    t.eq(status(paused), "paused", "paused cells are skipped")
    local scrapes = assert(wm.db.query("SELECT payload->>'grid_id' AS g FROM jobs WHERE kind = 'scrape' ORDER BY id"))
    t.eq(#scrapes, 2)
    -- A second tick while both run starts nothing new and enqueues no duplicate.
    assert(tick.run({ payload = {} }))
    t.eq(#assert(wm.db.query("SELECT 1 FROM jobs WHERE kind = 'scrape'")), 2)
    -- The scrape of `big` finished 31 days ago: cooldown is already over.
    assert(wm.db.query([[UPDATE coverage_grid SET status = 'completed',
        last_scraped_at = now() - interval '31 days' WHERE id = $1]], big))
    assert(wm.db.query("UPDATE jobs SET status = 'completed' WHERE kind = 'scrape'"))
    -- The scrape of `urgent` finished just now.
    assert(wm.db.query("UPDATE coverage_grid SET status = 'completed', last_scraped_at = now() WHERE id = $1", urgent))
    assert(tick.run({ payload = {} }))
    t.eq(status(urgent), "cooldown")
    local cu = assert(wm.db.one([[SELECT cooldown_until > now() + interval '29 days' AS ok
        FROM coverage_grid WHERE id = $1]], urgent)).ok
    t.eq(cu, true, "cooldown_until = last_scraped_at + 30 days")
    -- big's cooldown (last scraped 31 days ago) is already over: back to
    -- pending in the same tick, and picked again before small (population).
    t.eq(status(big), "in_progress", "cooldown over, picked again")
    t.eq(status(small), "in_progress", "the second freed slot goes to the next target")
    local actions = {}
    for _, r in ipairs(assert(wm.db.query("SELECT action FROM activity_log WHERE entity_id = $1 ORDER BY created_at, action", big))) do
        actions[r.action] = true
    end
    t.ok(actions["grid.in_progress"] and actions["grid.cooldown"] and actions["grid.pending"],
         "every state change of big is in activity_log")
    -- A job whose unique key is free again was enqueued for big's second scrape.
    t.eq(#assert(wm.db.query("SELECT 1 FROM jobs WHERE kind = 'scrape' AND payload->>'grid_id' = $1::text", big)), 2)
    local log = assert(wm.db.query("SELECT action FROM activity_log WHERE entity_id = $1 ORDER BY created_at", urgent))
    t.ok(#log >= 2, "state changes are in activity_log")
end

return T
