-- ingest {grid_id, places}: upserts the places into businesses on gmb_id,
-- linked to their grid cell from the start, the raw place kept. One
-- statement for the whole batch. New leads go on to verify_website; the
-- cell is marked completed (scraped) with its counters recounted.
local leads = require "lib.leads"
local pipeline = require "lib.pipeline"
local activity = require "lib.activity"

local UPSERT = [[
INSERT INTO businesses (gmb_id, gmb_place_id, name, slug, email, phone, website_url, address, city, state,
    zip_code, country, latitude, longitude, category, subcategory, rating, review_count, photos_urls, logo_url,
    coverage_grid_id, raw_place, scraped_at)
SELECT r.gmb_id, r.gmb_place_id, r.name, r.slug, r.email, r.phone, r.website_url, r.address, r.city, r.state,
    r.zip_code, coalesce(r.country, 'US'), r.latitude, r.longitude, r.category, r.subcategory, r.rating,
    coalesce(r.review_count, 0), coalesce(r.photos_urls, '[]'::jsonb), r.logo_url, r.coverage_grid_id,
    r.raw_place, now()
FROM jsonb_to_recordset($1::jsonb) AS r(gmb_id text, gmb_place_id text, name text, slug text, email text,
    phone text, website_url text, address text, city text, state text, zip_code text, country text,
    latitude numeric, longitude numeric, category text, subcategory text, rating numeric, review_count int,
    photos_urls jsonb, logo_url text, coverage_grid_id uuid, raw_place jsonb)
ON CONFLICT (gmb_id) DO UPDATE SET
    raw_place = EXCLUDED.raw_place, rating = EXCLUDED.rating, review_count = EXCLUDED.review_count,
    phone = coalesce(EXCLUDED.phone, businesses.phone), email = coalesce(businesses.email, EXCLUDED.email),
    coverage_grid_id = coalesce(businesses.coverage_grid_id, EXCLUDED.coverage_grid_id),
    scraped_at = now(), updated_at = now()
RETURNING id, (xmax = 0) AS inserted, lead_status]]

local M = {
    kind = "ingest",
    concurrency = 4,
    timeout = 300,
    max_attempts = 5,
}

-- Upserts `places` for `cell` (two places with one gmb_id keep the first);
-- returns the RETURNING rows. Also used by the ingest benchmark.
function M.upsert(places, cell)
    local rows = {}
    local seen = {}
    for _, place in ipairs(places) do
        local row = leads.to_business(place, cell, { raw = "as_is" })
        if row and row.gmb_id and not seen[row.gmb_id] then
            seen[row.gmb_id] = true
            rows[#rows + 1] = row
        end
    end
    if #rows == 0 then
        return {}
    end
    -- Slugs carry a hash of the gmb_id, so two businesses never share one.
    -- The raw places are mended for JSONB (UTF-8, NUL, NaN) as they are encoded.
    local json, err = wm.json.encode(wm.json.array(rows), { sanitize = true })
    if not json then
        return nil, err
    end
    return wm.db.query(UPSERT, json)
end

function M.run(job)
    local p = job.payload
    local cell = p.grid_id and wm.db.one("SELECT * FROM coverage_grid WHERE id = $1", p.grid_id)
    local res, err = wm.db.tx(function(q)
        local done, uerr = M.upsert(p.places or {}, cell)
        if not done then
            error(uerr, 0)
        end
        local fresh = 0
        for _, r in ipairs(done) do
            if r.lead_status == "new" then
                assert(pipeline.next("verify_website", r.id))
            end
            if r.inserted then
                fresh = fresh + 1
                activity.log("lead.ingested", "business", r.id, { grid_id = p.grid_id, source = p.source })
            end
        end
        if cell then
            assert(require("domain.grid").scraped(cell.id, { places = #(p.places or {}), new = fresh }))
            assert(pipeline.recount_grid(cell.id))
        end
        return true
    end)
    if not res then
        return nil, err
    end
    return true
end

return M
