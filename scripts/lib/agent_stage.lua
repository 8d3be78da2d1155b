-- The shape shared by the four site agents and the composer: load the
-- business, reuse a stored output when there is one (a rerun pays for
-- nothing twice), otherwise run the agent, check its answer (lib/llm.lua
-- validates it; a bad or truncated answer is a retryable failure with the
-- raw answer kept, never a generic fallback), store it, and go on.
local llm = require "lib.llm"
local pipeline = require "lib.pipeline"
local activity = require "lib.activity"

local _M = {}

-- The context every agent gets: the business, its reviews, and the outputs
-- of the agents before it.
function _M.context(b, job)
    local ctx = { business = b, job_id = job.id }
    ctx.reviews = b.reviews_data ~= wm.null and b.reviews_data or {}
    for _, agent in ipairs({ "analyst", "concept", "director", "architect" }) do
        ctx[agent] = pipeline.agent_output(b.id, agent)
    end
    return ctx
end

-- Runs `agent` for the job's business unless its output exists; then
-- `store(q, b, output, prompt, call)` (inside a transaction; call is nil
-- when the stored output was reused) and the next stage. `prepare(b)`, if
-- given, runs before the agent is called and returns true or nil, err
-- (e.g. fetching what the agent reads).
function _M.run(job, agent, store, next_kind, prepare)
    local b, err, discard = pipeline.job_business(job)
    if not b then
        return nil, err, discard
    end
    -- Only a qualified lead gets agents (and so a site and an email),
    -- however the job came to exist: replayed, retried or enqueued by hand.
    if b.lead_status ~= "qualified" then
        return nil, ("business %s is %s, not qualified: no %s for it"):format(b.id, b.lead_status, agent),
            { discard = true }
    end
    -- A rebuild an operator asked for (payload.regenerate) calls the agent
    -- again instead of reusing its stored output.
    local output, prompt
    if not job.payload.regenerate then
        output, prompt = pipeline.agent_output(b.id, agent)
    end
    local call
    if output == nil then
        if prepare then
            local ok, perr = prepare(b)
            if not ok then
                return nil, perr
            end
        end
        local ctx = _M.context(b, job)
        if job.payload.simulate then
            ctx.simulate = job.payload.simulate
        end
        -- What the quality gate found in the previous build (the architect's).
        if job.payload.feedback then
            ctx.feedback = job.payload.feedback
        end
        output, err, call = llm.run_agent(agent, ctx, { job_id = job.id })
        if output == nil then
            activity.log("agent.failed", "business", b.id, { agent = agent, error = tostring(err),
                                                             attempt = job.attempt })
            return pipeline.llm_failure(err, call)
        end
        call = err                 -- on success: output, call
        prompt = type(call) == "table" and (call.prompt or call.system) or nil
        -- Scraped text that was not UTF-8 can come back through the model:
        -- mend it once here, so every column written from it is valid.
        output = wm.json.decode(assert(wm.json.encode(output, { sanitize = true })))
        prompt = prompt and wm.text.utf8_clean(prompt)
    end
    local ok
    ok, err = wm.db.tx(function(q)
        assert(pipeline.save_agent_output(b.id, agent, output, prompt))
        if store then
            store(q, b, output, prompt, call)
        end
        activity.log("agent." .. agent, "business", b.id, {})
        if next_kind then
            assert(pipeline.next(next_kind, b.id))
        end
        return true
    end)
    if not ok then
        return nil, err
    end
    return true
end

return _M
