-- Shared steps of the pipeline stages: loading a business, recomputing a
-- grid cell's counters from the rows (so they are right however often a
-- stage reruns), and enqueueing the next stage once per business.
local _M = {}

function _M.business(id)
    local b, err = wm.db.one("SELECT * FROM businesses WHERE id = $1", id)
    if not b then
        return nil, err or ("no business " .. tostring(id))
    end
    return b
end

-- The job's business, or the stage's answer when there is none (a job for
-- a business that is gone cannot succeed by retrying: discard it).
function _M.job_business(job)
    local b, err = _M.business(job.payload.business_id)
    if not b then
        return nil, err, { discard = true }
    end
    return b
end

-- Recounts lead_count, qualified_count, site_count, conversion_count of
-- the cell from the tables.
function _M.recount_grid(grid_id)
    if grid_id == nil or grid_id == wm.null then
        return true
    end
    if not wm.db.current_tx() then
        return wm.db.tx(function() return assert(_M.recount_grid(grid_id)) end)
    end
    -- Lock the row first: the UPDATE below then takes its snapshot after any
    -- other transaction recounting the same cell has committed, so two
    -- stages finishing at once cannot both count without the other.
    local ok, err = wm.db.run("SELECT 1 FROM coverage_grid WHERE id = $1 FOR UPDATE", grid_id)
    if not ok then
        return nil, err
    end
    return wm.db.run([[
        UPDATE coverage_grid g SET
            lead_count = (SELECT count(*) FROM businesses b WHERE b.coverage_grid_id = g.id),
            qualified_count = (SELECT count(*) FROM businesses b
                               WHERE b.coverage_grid_id = g.id AND b.qualified_at IS NOT NULL),
            -- (a business's site counts once, whatever its versions)
            site_count = (SELECT count(DISTINCT s.business_id) FROM generated_sites s JOIN businesses b ON b.id = s.business_id
                          WHERE b.coverage_grid_id = g.id),
            conversion_count = (SELECT count(*) FROM businesses b
                                WHERE b.coverage_grid_id = g.id AND b.contact_status = 'purchased'),
            updated_at = now()
        WHERE g.id = $1]], grid_id)
end

-- The next stage for a business, at most one live job per (kind, business).
function _M.next(kind, business_id, extra)
    local payload = { business_id = business_id }
    for k, v in pairs(extra or {}) do
        payload[k] = v
    end
    return wm.jobs.enqueue(kind, payload, { unique_key = kind .. ":" .. business_id })
end

-- A stored agent output, or nil.
function _M.agent_output(business_id, agent)
    local r = wm.db.one("SELECT output, prompt FROM agent_outputs WHERE business_id = $1 AND agent = $2",
                        business_id, agent)
    if r then
        return r.output, r.prompt
    end
end

function _M.save_agent_output(business_id, agent, output, prompt)
    return wm.db.run([[INSERT INTO agent_outputs (business_id, agent, output, prompt) VALUES ($1, $2, $3::jsonb, $4)
                       ON CONFLICT (business_id, agent) DO NOTHING]], business_id, agent, output, prompt)
end

-- An LLM-stage failure, from what llm.run_agent answered (err, call): one
-- asking again cannot help (call.permanent) discards; the provider saying
-- "not now" (429 rate limited, 529 overloaded) snoozes until its
-- Retry-After without spending an attempt (a busy provider is no fault of
-- the job); anything else retries (after Retry-After when there was one).
local THROTTLED = { [429] = true, [529] = true }

function _M.llm_failure(err, call)
    local outcome = require "lib.outcome"
    err = tostring(err)
    call = type(call) == "table" and call or {}
    if call.permanent then
        return outcome.discard(err)
    elseif THROTTLED[call.status] then
        wm.log.info("LLM provider throttling; the job waits without spending an attempt",
                    { status = call.status, retry_after = call.retry_after })
        return outcome.snooze(call.retry_after or 30)
    end
    return outcome.retry(err, call.retry_after)
end

return _M
