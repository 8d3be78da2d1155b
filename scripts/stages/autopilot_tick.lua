-- The autopilot's planning step, fired by cron: under an advisory lock (one
-- host plans at a time) it moves finished grid cells into cooldown, brings
-- cells whose cooldown passed back to pending, and starts a scrape for the
-- next targets (the seed's query: pending, cooldown passed, priority then
-- population) up to autopilot.max_in_progress cells at once.
local grid = require "domain.grid"

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
            assert(grid.sweep_cooldowns(cfg.cooldown_days))
            local busy = assert(q:one("SELECT count(*)::int AS n FROM coverage_grid WHERE status = 'in_progress'")).n
            local started = 0
            while busy + started < cfg.max_in_progress do
                local cell = q:one(NEXT_TARGET)
                if not cell then
                    break
                end
                assert(grid.start(cell.id, { city = cell.city, state = cell.state, industry = cell.industry }))
                assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }, { unique_key = "scrape:" .. cell.id }))
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
