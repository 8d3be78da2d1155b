-- analyst {business_id}: reads the reviews (fetched once, kept) and writes
-- reviews_summary, review_highlight and brand_archetype.
local agent_stage = require "lib.agent_stage"
local providers = require "lib.providers"

-- The reviews the analyst reads: fetched once from the lead source, kept.
local function fetch_reviews(b)
    if b.reviews_data ~= wm.null then
        return true
    end
    local source = providers.get("leads")
    local reviews, err = source.reviews { place = b.raw_place ~= wm.null and b.raw_place or {},
                                          limit = (wm.config.leads or {}).reviews_per_site or 10 }
    if not reviews then
        return nil, "reviews: " .. tostring(err)
    end
    local json = assert(wm.json.encode(wm.json.array(reviews), { sanitize = true }))
    local ok, uerr = wm.db.query("UPDATE businesses SET reviews_data = $2::jsonb WHERE id = $1", b.id, json)
    if not ok then
        return nil, uerr
    end
    b.reviews_data = wm.json.decode(json)
    return true
end

return {
    kind = "analyst",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
    run = function(job)
        return agent_stage.run(job, "analyst", function(q, biz, out)
            assert(q:query([[UPDATE businesses SET reviews_summary = $2, review_highlight = $3,
                brand_archetype = left($4, 50), updated_at = now() WHERE id = $1]],
                biz.id, out.reviews_summary, out.review_highlight, out.brand_archetype))
        end, "concept", fetch_reviews)
    end,
}
