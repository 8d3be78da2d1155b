-- wm.jobs: the queue's Lua side. Enqueueing (inside wm.db.tx it joins the
-- transaction, so a job is created atomically with the rows that cause it),
-- the runner the C scheduler (core/jobs.c) calls for each claimed job, and
-- the worker that ties scheduler, stages, LISTEN wake-ups and cron together.
local core = require "wm.core.jobs"
local stages = require "wm.stages"
local outcome = require "lib.outcome"

local type, tostring, tonumber, xpcall, traceback = type, tostring, tonumber, xpcall, debug.traceback

local M = {}

local LIVE = "('scheduled', 'available', 'running', 'retryable')"

local ENQUEUE = [[
WITH ins AS (
    INSERT INTO jobs (kind, payload, status, run_at, unique_key, priority, max_attempts)
    VALUES ($1, $2::jsonb,
            CASE WHEN to_timestamp($3::float8) > now() THEN 'scheduled' ELSE 'available' END,
            COALESCE(to_timestamp($3::float8), now()), $4, COALESCE($5::int, 0), COALESCE($6::int, 5))
    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ]] .. LIVE .. [[ DO NOTHING
    RETURNING id)
SELECT id, pg_notify('wm_jobs', $1) AS notified FROM ins]]

local function run_query(q, sql, ...)
    if q then
        return q:query(sql, ...)
    end
    return wm.db.run(sql, ...)
end

-- enqueue(kind, payload, {run_at = epoch seconds | delay = seconds, unique_key =,
--   priority =, max_attempts =, tx = q}) -> id[, "duplicate"] | nil, err
function M.enqueue(kind, payload, opts)
    if type(kind) ~= "string" or kind == "" then
        error("usage: wm.jobs.enqueue(kind, payload, opts)", 2)
    end
    opts = opts or {}
    local q = opts.tx
    local run_at = opts.run_at or (opts.delay and wm.now() + opts.delay) or nil
    local stage = stages.get(kind)
    local max_attempts = opts.max_attempts or (stage and stage.max_attempts) or nil
    local rows, err = run_query(q, ENQUEUE, kind, payload or {}, run_at, opts.unique_key,
                                opts.priority, max_attempts)
    if not rows then
        return nil, err
    end
    if rows[1] then
        return rows[1].id
    end
    local existing
    existing, err = run_query(q, "SELECT id FROM jobs WHERE unique_key = $1 AND status IN " .. LIVE, opts.unique_key)
    if not existing then
        return nil, err
    end
    return existing[1] and existing[1].id, "duplicate"
end

-- enqueue_sql(kind, source, first) -> sql, kind, max_attempts
-- For a caller that creates its jobs in the same statement as the rows that
-- cause them (one commit, not a transaction of several round trips): the
-- body of a WITH item that enqueues one `kind` job, available now, per row
-- of `source` (a WITH item with columns payload jsonb and unique_key text),
-- skipping a key already live as enqueue does. It returns the ids it
-- inserted. Its two values are $first and $first + 1; the caller appends the
-- returned kind and max_attempts to its own, and calls wake(kind) after the
-- commit. It does not NOTIFY: a committing transaction that notified holds
-- PostgreSQL's one notify lock until its WAL is flushed, so a NOTIFY in
-- every commit of a busy path would flush those commits one at a time.
function M.enqueue_sql(kind, source, first)
    local stage = stages.get(kind)
    local sql = ([[
    INSERT INTO jobs (kind, payload, status, run_at, unique_key, priority, max_attempts)
    SELECT $%d::text, payload, 'available', now(), unique_key, 0, COALESCE($%d::int, 5) FROM %s
    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN %s DO NOTHING
    RETURNING id]]):format(first, first + 1, source, LIVE)
    return sql, kind, stage and stage.max_attempts or nil
end

local notifying = {}

-- wake(kind): jobs of `kind` were committed (by an enqueue_sql statement).
-- This host's scheduler claims them now; the other hosts hear of them by
-- one NOTIFY at a time per kind, in a task of its own (the deliveries that
-- arrive while it is in flight share the next one), not one per job.
function M.wake(kind)
    core.wake(kind)
    if notifying[kind] then
        notifying[kind] = "again"
        return
    end
    notifying[kind] = true
    wm.spawn(function()
        repeat
            notifying[kind] = true
            local ok, err = wm.db.query("SELECT pg_notify('wm_jobs', $1)", kind)
            if not ok then
                wm.log.warn("wm_jobs notify failed; the safety poll finds the jobs", { kind = kind, error = err })
            end
        until notifying[kind] ~= "again"
        notifying[kind] = nil
    end)
end

-- Many jobs of one kind in one statement (bulk loads, benchmarks).
function M.enqueue_many(kind, payloads, opts)
    opts = opts or {}
    local rows, err = run_query(opts.tx, [[
        WITH ins AS (
            INSERT INTO jobs (kind, payload, priority, max_attempts)
            SELECT $1, p, COALESCE($3::int, 0), COALESCE($4::int, 5)
            FROM jsonb_array_elements($2::jsonb) AS p
            RETURNING id)
        SELECT count(*) AS n, pg_notify('wm_jobs', $1) AS notified FROM ins]],
        kind, wm.json.array(payloads), opts.priority, opts.max_attempts)
    if not rows then
        return nil, err
    end
    return rows[1].n
end

-- The runner the scheduler calls, in a task of its own, per job. Returns
-- the job's outcome as one lib.outcome value, whatever the stage returned:
-- an outcome value itself, or true / nil, err[, {retry_in = s} |
-- {discard = true}] / {snooze = s}. A stage that raises asks for a retry.
function M.run(job)
    local stage = stages.get(job.kind)
    if not stage then
        return outcome.discard("no stage for job kind '" .. tostring(job.kind) .. "'")
    end
    local ok, res, err, opts = xpcall(stage.run, traceback, job)
    if not ok then
        return outcome.retry(tostring(res))
    end
    if outcome.is(res) then
        return res
    end
    if res == nil or res == false then
        opts = type(opts) == "table" and opts or {}
        if opts.discard then
            return outcome.discard(tostring(err or "discarded by the stage"))
        end
        return outcome.retry(tostring(err or "the stage returned no result"), tonumber(opts.retry_in))
    end
    if type(res) == "table" and res.snooze then
        return outcome.snooze(tonumber(res.snooze))
    end
    return outcome.done()
end

local worker = { started = false }

-- LISTEN wm_jobs: a job of `kind` may be claimable.
function M.on_notify(kind)
    core.wake(kind)
end

function M.host_id()
    if not worker.host then
        worker.host = ("%s:%d:%s"):format(wm.sys.hostname(), wm.sys.getpid(), wm.crypto.random_token(4))
    end
    return worker.host
end

-- Starts the scheduler, the wm_jobs listener and cron in this process.
function M.start_worker(opts)
    opts = opts or {}
    if worker.started then
        return true
    end
    local ok, err = wm.db.open()
    if not ok then
        return nil, err
    end
    ok, err = stages.load_all()
    if not ok then
        return nil, err
    end
    local cfg = wm.config.jobs or {}
    core.start {
        host = M.host_id(),
        lease = cfg.lease or 30,
        poll = cfg.poll or 2,
        batch = cfg.batch or 100,
        backoff_base = cfg.backoff_base or 2,
        backoff_max = cfg.backoff_max or 3600,
        yield_to_requests = cfg.yield_to_requests or 0,
        kinds = stages.kinds(),
        runner = M.run,
    }
    ok, err = wm.db.listen("wm_jobs", M.on_notify)
    if not ok then
        return nil, err
    end
    if opts.cron ~= false then
        require("wm.cron").start(M.host_id())
    end
    local has_reload, reload = pcall(require, "wm.reload")
    if has_reload and type(reload) == "table" and reload.on_reload then
        reload.on_reload("stages", function()
            local rok, rerr = stages.load_all()
            if rok then
                core.set_kinds(stages.kinds())
            end
            return rok, rerr
        end)
    end
    worker.started = true
    wm.log.info("job scheduler started", { host = M.host_id(), kinds = #stages.kinds() })
    return true
end

-- Stops claiming; running jobs get `deadline` seconds, then are handed back.
function M.stop_worker(deadline)
    if not worker.started then
        return true
    end
    require("wm.cron").stop()
    core.stop(deadline or (wm.config.jobs or {}).stop_deadline or 30)
    worker.started = false
    return true
end

function M.stats()
    return core.stats()
end

-- Counts by kind and status, for progress displays and /metrics.
function M.counts()
    return wm.db.query("SELECT kind, status, count(*)::int AS n FROM jobs GROUP BY kind, status ORDER BY kind, status")
end

return M
