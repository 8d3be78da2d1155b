-- plan_sites: the seed's "qualified leads ready for site generation" query,
-- narrowed to leads this pipeline qualified (so a business with a website
-- can never be picked), starts the agents for each: website_status goes
-- from 'none' to 'generating' in the same transaction, so nothing is picked
-- twice. qualify runs it for its one business; the autopilot tick runs it
-- over every lead as a safety net; it may be enqueued by hand.
local activity = require "lib.activity"

local SEED_CONDITIONS = [[
WHERE website_status = 'none'
  AND email IS NOT NULL
  AND rating >= 4.0
  AND review_count >= 10
  AND lead_status = 'qualified']]

local QUALIFIED_LEADS = "SELECT * FROM businesses " .. SEED_CONDITIONS .. [[
ORDER BY qualification_score DESC
LIMIT 50
FOR UPDATE SKIP LOCKED]]

local ONE = "SELECT * FROM businesses " .. SEED_CONDITIONS .. " AND id = $1 FOR UPDATE"

local function start(q, b)
    assert(q:query("UPDATE businesses SET website_status = 'generating', updated_at = now() WHERE id = $1", b.id))
    assert(wm.jobs.enqueue("analyst", { business_id = b.id }, { unique_key = "analyst:" .. b.id }))
    activity.log("site.planned", "business", b.id, { score = b.qualification_score })
end

return {
    kind = "plan_sites",
    concurrency = 1,
    timeout = 60,
    -- Inside transaction q: starts the agents for business `id` if the
    -- query picks it. Returns true.
    pick = function(q, id)
        local b = q:one(ONE, id)
        if b then
            start(q, b)
        end
        return true
    end,
    run = function(job)
        local n
        local ok, err = wm.db.tx(function(q)
            local rows = assert(q:query(QUALIFIED_LEADS))
            for _, b in ipairs(rows) do
                start(q, b)
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
