-- verify_website {business_id}: a business is "no website" only with
-- evidence: its lead's website fields are empty AND a check of likely
-- candidates finds nothing (a 403/429 counts as "exists"). The verdict and
-- its evidence are stored. "Could not tell" is retried a bounded number of
-- times, then the lead is unverifiable: never a loop, never a guess.
local providers = require "lib.providers"
local pipeline = require "lib.pipeline"
local businesses = require "domain.businesses"

local function conclude(b, status, evidence, website_url)
    return wm.db.tx(function()
        assert(businesses.record_website_check(b.id, status, evidence, website_url))
        if status == "no_website" then
            assert(pipeline.next("qualify", b.id))
        end
        return true
    end)
end

return {
    kind = "verify_website",
    concurrency = 8,
    timeout = 120,
    max_attempts = 3,
    run = function(job)
        local b, err, discard = pipeline.job_business(job)
        if not b then
            return nil, err, discard
        end
        if b.lead_status ~= "new" then
            return true                     -- already decided: a rerun changes nothing
        end
        local checker, name = providers.get("website")
        local raw = b.raw_place ~= wm.null and b.raw_place or {}
        local verdict, evidence = checker.check(b, raw)
        if verdict == nil then
            return nil, "website check (" .. name .. "): " .. tostring(evidence)
        end
        evidence = type(evidence) == "table" and evidence or {}
        evidence.checker = name
        if verdict == "has_website" then
            local url = evidence.found_url or evidence.url
            return conclude(b, "has_website", evidence, type(url) == "string" and url or nil)
        elseif verdict == "no_website" then
            return conclude(b, "no_website", evidence)
        end
        -- "unknown": try again later; on the last attempt, settle.
        if job.attempt >= job.max_attempts then
            return conclude(b, "unverifiable", evidence)
        end
        return nil, "website check inconclusive: " .. wm.json.encode(evidence), { retry_in = 30 * job.attempt }
    end,
}
