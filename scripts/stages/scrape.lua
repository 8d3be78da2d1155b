-- scrape {grid_id}: asks the lead source for the places of one grid cell
-- ("<industry> in <city>, <state>") and hands them to ingest. The places go
-- into the ingest job's payload as the provider returned them, so the raw
-- lead is kept whatever the mapping does.
local providers = require "lib.providers"
local activity = require "lib.activity"

return {
    kind = "scrape",
    concurrency = 2,
    timeout = 600,
    max_attempts = 4,
    run = function(job)
        local cell = wm.db.one("SELECT * FROM coverage_grid WHERE id = $1", job.payload.grid_id)
        if not cell then
            return nil, "no grid cell " .. tostring(job.payload.grid_id), { discard = true }
        end
        if cell.status == "paused" then
            return true
        end
        local cfg = wm.config.leads
        local source, name = providers.get("leads")
        local places, err, info = source.search {
            city = cell.city, state = cell.state, country = cell.country ~= wm.null and cell.country or "US",
            industry = cell.industry, limit = cfg.per_cell, seed = cfg.seed,
            -- A search the provider is still running (async) is resumed, not paid for twice.
            request_id = job.payload.request_id,
        }
        if not places then
            info = info or {}
            if info.request_id and info.request_id ~= job.payload.request_id then
                -- Keep the provider's request id for the next attempt.
                assert(wm.db.query("UPDATE jobs SET payload = payload || jsonb_build_object('request_id', $2::text) WHERE id = $1",
                                   job.id, info.request_id))
            end
            return nil, "lead source " .. name .. ": " .. tostring(err),
                { retry_in = info.retry_after, discard = info.discard }
        end
        return wm.db.tx(function(q)
            assert(wm.jobs.enqueue("ingest", { grid_id = cell.id, places = wm.json.array(places), source = name },
                                   { unique_key = "ingest:" .. cell.id .. ":" .. job.id }))
            activity.log("grid.scraped", "coverage_grid", cell.id, { places = #places, source = name })
            return true
        end)
    end,
}
