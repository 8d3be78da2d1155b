-- qualify {business_id}: a 0..100 score with its reasons, and the gates; a
-- business with a website never gets here (verify_website sends only "no
-- website" leads on). A qualified lead that the seed's "qualified leads"
-- query picks goes on to the agents at once, in the same transaction
-- (plan_sites runs the same query over every lead as the autopilot's
-- safety net).
local qualify = require "lib.qualify"
local pipeline = require "lib.pipeline"
local businesses = require "domain.businesses"
local plan_sites = require "stages.plan_sites"

return {
    kind = "qualify",
    concurrency = 8,
    timeout = 60,
    max_attempts = 3,
    run = function(job)
        local b, err, discard = pipeline.job_business(job)
        if not b then
            return nil, err, discard
        end
        if b.lead_status ~= "no_website" then
            return true
        end
        local raw = b.raw_place ~= wm.null and b.raw_place or {}
        local score, reasons = qualify.score(b, raw, "no_website")
        local ok, gate_reasons = qualify.gates(b, raw, "no_website")
        local all = {}
        for _, r in ipairs(reasons or {}) do all[#all + 1] = r end
        for _, r in ipairs(gate_reasons or {}) do all[#all + 1] = r end
        return wm.db.tx(function(q)
            assert(businesses.record_qualification(b.id, ok, score, all))
            assert(pipeline.recount_grid(b.coverage_grid_id))
            if ok then
                assert(plan_sites.pick(q, b.id))
            end
            return true
        end)
    end,
}
