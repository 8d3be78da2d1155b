-- plan_sites: the seed's "qualified leads ready for site generation" query,
-- narrowed to leads this pipeline qualified (so a business with a website
-- can never be picked), starts the agents for each: website_status goes
-- from 'none' to 'generating' in the same transaction, so nothing is picked
-- twice. qualify runs it for its one business; the autopilot tick runs it
-- over every lead as a safety net; it may be enqueued by hand.
-- The gates (rating, reviews) come from config, never a copy here.
local businesses = require "domain.businesses"

local QUALIFIED_LEADS = "SELECT * FROM businesses " .. businesses.READY_FOR_SITE .. [[
ORDER BY qualification_score DESC
LIMIT 50
FOR UPDATE SKIP LOCKED]]

local ONE = "SELECT * FROM businesses " .. businesses.READY_FOR_SITE .. " AND id = $3 FOR UPDATE"

local function start(b)
    assert(businesses.start_site(b.id, b.qualification_score))
    assert(wm.jobs.enqueue("analyst", { business_id = b.id }, { unique_key = "analyst:" .. b.id }))
end

return {
    kind = "plan_sites",
    concurrency = 1,
    timeout = 60,
    -- Inside transaction q: starts the agents for business `id` if the
    -- query picks it. Returns true.
    pick = function(q, id)
        local min_rating, min_reviews = businesses.site_gates()
        local b = q:one(ONE, min_rating, min_reviews, id)
        if b then
            start(b)
        end
        return true
    end,
    run = function(job)
        local n
        local ok, err = wm.db.tx(function(q)
            local rows = assert(q:query(QUALIFIED_LEADS, businesses.site_gates()))
            for _, b in ipairs(rows) do
                start(b)
            end
            n = #rows
            return true
        end)
        if not ok then
            return nil, err
        end
        if n == 50 then
            assert(wm.jobs.enqueue("plan_sites", {}, { unique_key = "plan_sites:more", delay = 1 }))
        end
        return true
    end,
}
