-- Webhook event state: the one home of webhook_events.status.
--
--   received -> applied | pending (waiting for a prerequisite) | failed | ignored
--   pending -> applied | pending | failed   (re-applied when its prerequisite arrives)
--   failed | pending -> received            (replay: applied again)
--   ignored: a type with no effect here, acknowledged and kept
--
-- One row per (provider, event_id): the event id is the delivery's svix-id,
-- the same on every retry of one message.
local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

-- The job that applies a provider's events: enqueued with the row on
-- receipt, and again by a replay or a wake.
local APPLIER = { ses = { "apply_ses_event", "ses_event:" }, sendgrid = { "apply_mail_events", "mail_events:" } }
local DEFAULT_APPLIER = { "apply_webhook", "webhook:" }

local function applier(provider)
    return APPLIER[provider] or DEFAULT_APPLIER
end

local function enqueue(id, provider)
    local a = applier(provider)
    return wm.jobs.enqueue(a[1], { event_id = id }, { unique_key = a[2] .. id })
end

-- One statement for a group of one provider's deliveries: rows stored and
-- their applier's jobs enqueued together. Within the group an event id
-- appears once (a redelivery racing its first delivery shares its row).
local function store(provider, items)
    local cols = { {}, {}, {}, {}, {} }
    local first_of, ids = {}, {}
    for i, it in ipairs(items) do
        local id = it[1]
        if not first_of[id] then
            first_of[id] = i
            ids[#ids + 1] = id
            for c = 1, 5 do
                local v = it[c]
                cols[c][#ids] = v == nil and wm.null or v
            end
        end
    end
    local a = applier(provider)
    local job_sql, kind, max_attempts = wm.jobs.enqueue_sql(a[1], "new_job", 7)
    local array = wm.db.array
    local rows, err = wm.db.query([[WITH input AS (
            SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS i(event_id, event_type, body, status, error)),
        ev AS (
            INSERT INTO webhook_events (provider, event_id, event_type, body, status, error, processed_at)
            SELECT $1, event_id, left(event_type, 100), body, status, error,
                   CASE WHEN status = 'received' THEN NULL ELSE now() END FROM input
            ON CONFLICT (provider, event_id) DO NOTHING RETURNING id, event_id, status),
        new_job AS (
            SELECT jsonb_build_object('event_id', id) AS payload, $9::text || id AS unique_key
            FROM ev WHERE status = 'received'),
        job AS (]] .. job_sql .. [[)
        SELECT ev.event_id, (SELECT count(*) FROM job) AS jobs FROM ev]],
        provider, array(cols[1]), array(cols[2]), array(cols[3]), array(cols[4]), array(cols[5]),
        kind, max_attempts, a[2])
    if not rows then
        return nil, err
    end
    local stored = {}
    for _, r in ipairs(rows) do
        stored[r.event_id] = true
    end
    if rows[1] and rows[1].jobs > 0 then
        wm.jobs.wake(kind)
    end
    -- New: the first delivery of an id in this group that inserted its row.
    local results = {}
    for i, it in ipairs(items) do
        results[i] = stored[it[1]] == true and first_of[it[1]] == i
    end
    return results
end

-- Deliveries are stored in groups (lib.group_commit), one group per
-- provider: the events that arrive while the previous statement is in
-- flight are stored and their jobs enqueued by the next one, one commit for
-- the lot. Each caller still gets its answer only after that commit.
local receivers = {}

-- receive(provider, event_id, event_type, body, status, err) -> true (new) | false (stored before) | nil, err
-- status: "received" (its applier's job, APPLIER, is enqueued by the same
-- statement), "ignored" or "failed" (done with at once). Stored and
-- enqueued together or not at all, in a commit of its own (never the
-- caller's transaction); a redelivery (nothing inserted) enqueues nothing.
function _M.receive(provider, event_id, event_type, body, status, err)
    local g = receivers[provider]
    if not g then
        g = require("lib.group_commit").new(function(items) return store(provider, items) end)
        receivers[provider] = g
    end
    return g:submit({ event_id, event_type, body, status, err })
end

-- The event, locked for the caller's transaction.
function _M.lock(id)
    return one([[SELECT id, provider, event_id, event_type, body, status FROM webhook_events WHERE id = $1
        FOR UPDATE]], id)
end

-- apply_job(job, fn) -> the job's outcome. The body of a job that applies
-- one stored event (job.payload.event_id) in ONE transaction: the row is
-- locked first and an applied or ignored event is left as it is (never
-- applied twice); else fn(ev) (the locked row) applies it and records its
-- status (finish). An application that raised rolls back, is counted
-- (attempt_failed; the job's last attempt leaves the event failed) and the
-- job is retried.
function _M.apply_job(job, fn)
    local outcome = require "lib.outcome"
    local id = job.payload.event_id
    local status, err = wm.db.tx(function()
        local ev = _M.lock(id)
        if not ev then
            return "gone"
        end
        if ev.status == "applied" or ev.status == "ignored" then
            return ev.status
        end
        return fn(ev)
    end)
    if status then
        return outcome.done()
    end
    _M.attempt_failed(id, err, (job.attempt or 1) >= (job.max_attempts or 1))
    return outcome.retry(err)
end

-- The outcome of one application: applied | ignored | failed (err says
-- why) | pending (waiting_for names the id it waits for).
function _M.finish(id, status, err, waiting_for)
    return one([[UPDATE webhook_events SET status = $2::text, error = left($3, 2000), waiting_for = $4,
        attempts = attempts + 1, processed_at = CASE WHEN $2::text = 'pending' THEN NULL ELSE now() END
        WHERE id = $1 RETURNING id]], id, status, err, waiting_for)
end

-- An application that rolled back: counted, with its error; on the last
-- attempt the event is failed (a replay tries again).
function _M.attempt_failed(id, err, last)
    return wm.db.query([[UPDATE webhook_events SET attempts = attempts + 1, error = left($2, 2000),
            status = CASE WHEN $3 THEN 'failed' ELSE status END, processed_at = CASE WHEN $3 THEN now() END
        WHERE id = $1 AND status NOT IN ('applied', 'ignored')]], id, tostring(err), last and true or false)
end

-- Pending events waiting for one of `keys` are applied again.
function _M.wake(keys)
    if #keys == 0 then
        return true
    end
    local rows = assert(wm.db.run([[SELECT id, provider FROM webhook_events WHERE status = 'pending'
        AND waiting_for = ANY($1::text[])]], wm.db.array(keys)))
    for _, r in ipairs(rows) do
        assert(enqueue(r.id, r.provider))
    end
    return true
end

-- replay(id[, actor]) -> "enqueued" | "applied" | "ignored" | nil, err
-- A failed or pending event goes back to received and is applied again; an
-- applied or ignored one is left alone (a replay never applies twice).
-- actor = {type=, id=} (the dashboard's staff member); the CLI's is "user".
function _M.replay(id, actor)
    return wm.db.tx(function()
        local ev = _M.lock(id)
        if not ev then
            return nil, "no webhook event " .. tostring(id)
        end
        if ev.status == "applied" or ev.status == "ignored" then
            return ev.status
        end
        assert(one([[UPDATE webhook_events SET status = 'received', processed_at = NULL WHERE id = $1
            RETURNING id]], id))
        assert(enqueue(id, ev.provider))
        assert(require("lib.activity").log("webhook.replayed", "webhook_event", nil, { id = id, from = ev.status },
                                           actor and actor.type or "user", actor and actor.id))
        return "enqueued"
    end)
end

function _M.ls(o)
    o = o or {}
    return wm.db.run([[SELECT id, provider, event_id, event_type, status, attempts,
            to_char(received_at, 'YYYY-MM-DD HH24:MI:SS') AS received_at,
            left(regexp_replace(coalesce(error, ''), '\s+', ' ', 'g'), 60) AS error
        FROM webhook_events WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR event_type = $2)
        ORDER BY id DESC LIMIT $3]], o.status, o.type, o.limit or 50)
end

function _M.get(id)
    return one("SELECT * FROM webhook_events WHERE id = $1", id)
end

return _M
