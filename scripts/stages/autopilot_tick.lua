-- The autopilot's planning step, fired by cron: under an advisory lock (one
-- host plans at a time) it moves finished grid cells into cooldown, brings
-- cells whose cooldown passed back to pending, and starts a scrape for the
-- next targets (the seed's query: pending, cooldown passed, priority then
-- population) up to autopilot.max_in_progress cells at once.
local activity = require "lib.activity"

local LOCK_ID = 7031721

local NEXT_TARGET = [[
SELECT * FROM coverage_grid
WHERE status = 'pending'
  AND (cooldown_until IS NULL OR cooldown_until < NOW())
ORDER BY priority DESC, population DESC
LIMIT 1;]]

return {
    kind = "autopilot_tick",
    concurrency = 1,
    timeout = 60,
    max_attempts = 3,
    run = function(job)
        local cfg = wm.config.autopilot
        if not cfg.enabled then
            return true
        end
        local res, err = wm.db.tx(function(q)
            if not assert(q:one("SELECT pg_try_advisory_xact_lock($1) AS ok", LOCK_ID)).ok then
                return "busy"          -- another host is planning right now
            end
            local cooled = assert(q:query([[UPDATE coverage_grid
                SET status = 'cooldown', updated_at = now(),
                    cooldown_until = COALESCE(last_scraped_at, now()) + make_interval(days => $1::int)
                WHERE status = 'completed' RETURNING id, cooldown_until]], cfg.cooldown_days))
            for _, c in ipairs(cooled) do
                activity.log("grid.cooldown", "coverage_grid", c.id, { cooldown_until = c.cooldown_until })
            end
            local back = assert(q:query([[UPDATE coverage_grid SET status = 'pending', updated_at = now()
                WHERE status = 'cooldown' AND cooldown_until < now() RETURNING id]]))
            for _, c in ipairs(back) do
                activity.log("grid.pending", "coverage_grid", c.id, { reason = "cooldown over" })
            end
            local busy = assert(q:one("SELECT count(*)::int AS n FROM coverage_grid WHERE status = 'in_progress'")).n
            local started = 0
            while busy + started < cfg.max_in_progress do
                local cell = q:one(NEXT_TARGET)
                if not cell then
                    break
                end
                assert(q:query("UPDATE coverage_grid SET status = 'in_progress', updated_at = now() WHERE id = $1",
                               cell.id))
                assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }, { unique_key = "scrape:" .. cell.id }))
                activity.log("grid.in_progress", "coverage_grid", cell.id,
                             { city = cell.city, state = cell.state, industry = cell.industry })
                started = started + 1
            end
            -- The safety net for leads qualified while plan_sites was running.
            assert(wm.jobs.enqueue("plan_sites", {}, { unique_key = "plan_sites" }))
            return started
        end)
        if res == nil then
            return nil, err
        end
        return true
    end,
}
