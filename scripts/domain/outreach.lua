-- The outreach switch (migration 036's one outreach_state row), in the
-- database so every host obeys it. While paused, the compose and send
-- stages snooze (no attempt spent) instead of composing or sending a
-- campaign email; transactional mail (portal links, ticket emails) never
-- asks. Changes run in the caller's transaction when there is one (wm.db.run
-- joins it) and write their activity row with the actor.
--
--   outreach.paused() -> bool | nil, err
--   outreach.state() -> {paused=, paused_at=, paused_by=, paused_by_type=,
--       paused_by_email= (the dashboard account, if any), reason=} | nil, err
--   outreach.pause(actor_type, actor_id, reason) -> row | nil, why
--   outreach.resume(actor_type, actor_id) -> row | nil, why
--       why: "outreach is already paused" / "outreach is not paused"
--       (nothing changed), or a database error.
local activity = require "lib.activity"

local _M = {}

-- The stages' snooze while paused; a resume wakes the snoozed jobs at once.
_M.SNOOZE = 600

local one = wm.db.run_one

local function null(v)
    if v == wm.null then
        return nil
    end
    return v
end

function _M.paused()
    local row, err = one("SELECT paused FROM outreach_state")
    if err then
        return nil, err
    end
    -- No row (a schema before 036's insert was undone by hand): running.
    return row ~= nil and row.paused == true
end

function _M.state()
    local row, err = one([[SELECT o.paused, o.paused_at, o.paused_by::text AS paused_by, o.paused_by_type,
            o.reason, u.email AS paused_by_email
        FROM outreach_state o LEFT JOIN admin_users u ON u.id = o.paused_by]])
    if err then
        return nil, err
    end
    row = row or { paused = false }
    for k, v in pairs(row) do
        row[k] = null(v)
    end
    return row
end

function _M.pause(actor_type, actor_id, reason)
    if type(reason) == "string" then
        reason = reason:gsub("^%s+", ""):gsub("%s+$", ""):sub(1, 500)
        reason = reason ~= "" and reason or nil
    else
        reason = nil
    end
    local row, err = one([[UPDATE outreach_state SET paused = true, paused_at = now(), paused_by_type = $1,
            paused_by = $2::uuid, reason = $3, updated_at = now()
        WHERE NOT paused RETURNING paused, paused_at]], actor_type or "system", actor_id, reason)
    if not row then
        return nil, err or "outreach is already paused"
    end
    assert(activity.log("outreach.paused", "outreach", nil, { reason = reason }, actor_type or "system", actor_id))
    return row
end

function _M.resume(actor_type, actor_id)
    local row, err = one([[UPDATE outreach_state SET paused = false, updated_at = now()
        WHERE paused RETURNING paused, paused_at]])
    if not row then
        return nil, err or "outreach is not paused"
    end
    -- The compose and send jobs snoozed while paused go now, not when their
    -- snooze ends (a job snoozed for the daily cap snoozes again).
    local woke = assert(wm.db.run([[UPDATE jobs SET run_at = now(), updated_at = now()
        WHERE kind IN ('compose', 'send') AND status = 'scheduled' AND run_at > now()]]))
    assert(activity.log("outreach.resumed", "outreach", nil, { paused_at = tostring(null(row.paused_at) or "") },
        actor_type or "system", actor_id))
    return row, woke
end

return _M
