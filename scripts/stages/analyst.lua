-- analyst {business_id}: reads the reviews (fetched once, kept) and writes
-- reviews_summary, review_highlight and brand_archetype.
local agent_stage = require "lib.agent_stage"
local pipeline = require "lib.pipeline"
local providers = require "lib.providers"

return {
    kind = "analyst",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
    run = function(job)
        local b, err = pipeline.business(job.payload.business_id)
        if not b then
            return nil, err, { discard = true }
        end
        if b.lead_status ~= "qualified" then
            return nil, "business " .. b.id .. " is " .. b.lead_status .. ", not qualified", { discard = true }
        end
        if b.reviews_data == wm.null then
            local source = providers.get("leads")
            local reviews, rerr = source.reviews { place = b.raw_place ~= wm.null and b.raw_place or {},
                                                   limit = (wm.config.leads or {}).reviews_per_site or 10 }
            if not reviews then
                return nil, "reviews: " .. tostring(rerr)
            end
            assert(wm.db.query("UPDATE businesses SET reviews_data = $2::jsonb WHERE id = $1", b.id,
                               assert(wm.json.encode(wm.json.array(reviews), { sanitize = true }))))
        end
        return agent_stage.run(job, "analyst", function(q, biz, out)
            assert(q:query([[UPDATE businesses SET reviews_summary = $2, review_highlight = $3,
                brand_archetype = left($4, 50), updated_at = now() WHERE id = $1]],
                biz.id, out.reviews_summary, out.review_highlight, out.brand_archetype))
        end, "concept")
    end,
}
