-- Coverage grid state: the one home of coverage_grid.status.
--   pending -> in_progress (autopilot or a batch) -> completed (ingest)
--   completed -> cooldown -> pending (autopilot, when the cooldown passed)
--   any -> paused -> pending (an operator)
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

-- pending (or any but paused, by hand with force) -> in_progress.
function _M.start(id, info)
    local row, err = one([[UPDATE coverage_grid SET status = 'in_progress', updated_at = now()
        WHERE id = $1 AND status <> 'paused' RETURNING id]], id)
    if not row then
        return nil, err or "cell is paused"
    end
    assert(activity.log("grid.in_progress", "coverage_grid", id, info))
    return row
end

-- A scrape's places are in: -> completed (a paused cell stays paused).
function _M.scraped(id, info)
    local row, err = one([[UPDATE coverage_grid SET status = CASE WHEN status = 'paused' THEN status
        ELSE 'completed' END, last_scraped_at = now(), updated_at = now() WHERE id = $1 RETURNING id]], id)
    if not row then
        return nil, err
    end
    assert(activity.log("grid.completed", "coverage_grid", id, info))
    return row
end

-- completed -> cooldown (until last scrape + days); cooldown -> pending when over.
function _M.sweep_cooldowns(days)
    local cooled, err = wm.db.run([[UPDATE coverage_grid
        SET status = 'cooldown', updated_at = now(),
            cooldown_until = COALESCE(last_scraped_at, now()) + make_interval(days => $1::int)
        WHERE status = 'completed' RETURNING id, cooldown_until]], days)
    if not cooled then
        return nil, err
    end
    for _, c in ipairs(cooled) do
        assert(activity.log("grid.cooldown", "coverage_grid", c.id, { cooldown_until = c.cooldown_until }))
    end
    local back
    back, err = wm.db.run([[UPDATE coverage_grid SET status = 'pending', updated_at = now()
        WHERE status = 'cooldown' AND cooldown_until < now() RETURNING id]])
    if not back then
        return nil, err
    end
    for _, c in ipairs(back) do
        assert(activity.log("grid.pending", "coverage_grid", c.id, { reason = "cooldown over" }))
    end
    return true
end

-- any -> paused (by an operator).
function _M.pause(id, actor)
    local row, err = one([[UPDATE coverage_grid SET status = 'paused', updated_at = now()
        WHERE id::text = $1 AND status <> 'paused' RETURNING id, status]], id)
    if not row then
        return nil, err
    end
    assert(activity.log("grid.paused", "coverage_grid", row.id, {}, actor and actor.type, actor and actor.id))
    return row
end

-- paused -> pending (by an operator).
function _M.resume(id, actor)
    local row, err = one([[UPDATE coverage_grid SET status = 'pending', updated_at = now()
        WHERE id::text = $1 AND status = 'paused' RETURNING id, status]], id)
    if not row then
        return nil, err
    end
    assert(activity.log("grid.pending", "coverage_grid", row.id, { reason = "resumed" },
                        actor and actor.type, actor and actor.id))
    return row
end

-- A cell's priority (higher goes first), set by an operator.
function _M.set_priority(id, priority, actor)
    priority = tonumber(priority)
    if type(priority) ~= "number" or priority % 1 ~= 0 or priority < -1000 or priority > 1000 then
        return nil, "priority must be a whole number from -1000 to 1000"
    end
    local before, err = one("SELECT priority FROM coverage_grid WHERE id::text = $1 FOR UPDATE", id)
    if not before then
        return nil, err or "no such cell"
    end
    local row
    row, err = one([[UPDATE coverage_grid SET priority = $2, updated_at = now() WHERE id::text = $1
        RETURNING id, priority]], id, priority)
    if not row then
        return nil, err
    end
    assert(activity.log("grid.priority", "coverage_grid", row.id, { from = before.priority, to = priority },
                        actor and actor.type, actor and actor.id))
    return row
end

-- any but paused or in_progress -> cooldown for `days` from now (an
-- operator leaves a cell alone for a while; the autopilot brings it back).
function _M.cool_down(id, days, actor)
    days = tonumber(days)
    if not days or days % 1 ~= 0 or days < 1 or days > 3650 then
        return nil, "days must be a whole number from 1 to 3650"
    end
    local row, err = one([[UPDATE coverage_grid SET status = 'cooldown', updated_at = now(),
            cooldown_until = now() + make_interval(days => $2::int)
        WHERE id::text = $1 AND status NOT IN ('paused', 'in_progress') RETURNING id, cooldown_until]], id, days)
    if not row then
        return nil, err or "cell is paused or being scraped"
    end
    assert(activity.log("grid.cooldown", "coverage_grid", row.id, { cooldown_until = row.cooldown_until, days = days },
                        actor and actor.type, actor and actor.id))
    return row
end

return _M
