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

local function enqueue(id)
    return wm.jobs.enqueue("apply_webhook", { event_id = id }, { unique_key = "webhook:" .. id })
end

-- receive(provider, event_id, event_type, body, status, err) -> true (new) | false (stored before)
-- status: "received" (its apply_webhook job is enqueued by the same
-- statement), "ignored" or "failed" (done with at once). One statement, so
-- one commit per delivery: stored and enqueued together or not at all, and
-- a redelivery (the INSERT inserts nothing) enqueues nothing.
function _M.receive(provider, event_id, event_type, body, status, err)
    local job_sql, kind, max_attempts = wm.jobs.enqueue_sql("apply_webhook", "new_job", 7)
    local row, qerr = one([[WITH ev AS (
            INSERT INTO webhook_events (provider, event_id, event_type, body, status, error, processed_at)
            VALUES ($1, $2, left($3, 100), $4, $5::text, $6,
                    CASE WHEN $5::text = 'received' THEN NULL ELSE now() END)
            ON CONFLICT (provider, event_id) DO NOTHING RETURNING id),
        new_job AS (
            SELECT jsonb_build_object('event_id', id) AS payload, 'webhook:' || id AS unique_key
            FROM ev WHERE $5::text = 'received'),
        job AS (]] .. job_sql .. [[)
        SELECT EXISTS (SELECT 1 FROM ev) AS new, (SELECT count(*) FROM job) AS jobs]],
        provider, event_id, event_type, body, status, err, kind, max_attempts)
    if not row then
        return nil, qerr
    end
    if row.jobs > 0 then
        wm.jobs.wake(kind)
    end
    return row.new
end

-- The event, locked for the caller's transaction.
function _M.lock(id)
    return one("SELECT id, event_id, event_type, body, status FROM webhook_events WHERE id = $1 FOR UPDATE", id)
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
    local rows = assert(wm.db.run([[SELECT id FROM webhook_events WHERE status = 'pending'
        AND waiting_for = ANY($1::text[])]], wm.db.array(keys)))
    for _, r in ipairs(rows) do
        assert(enqueue(r.id))
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
        assert(enqueue(id))
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
