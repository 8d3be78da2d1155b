-- Business state: the one home of businesses.lead_status, website_status
-- and contact_status. Each transition is a named function that checks the
-- state it comes from, runs inside the caller's transaction when there is
-- one (wm.db.run joins it) and writes its activity row.
--
--   lead_status:    new -> has_website | no_website | unverifiable
--                   no_website -> qualified | disqualified
--   website_status: none -> generating -> generated -> sold (payments) -> archived
--   contact_status: pending -> emailed -> opened -> clicked; any -> purchased;
--                   any -> unsubscribed (and bounced/complained, by mail events)
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

-- new -> has_website | no_website | unverifiable, with the evidence.
function _M.record_website_check(id, verdict, evidence, website_url)
    local row, err = one([[UPDATE businesses SET lead_status = $2, website_evidence = $3::jsonb,
        website_checked_at = now(), website_url = coalesce(website_url, $4), updated_at = now()
        WHERE id = $1 AND lead_status = 'new' RETURNING id]], id, verdict, evidence, website_url)
    if not row then
        return nil, err or "lead already checked"
    end
    assert(activity.log("lead." .. verdict, "business", id, { evidence = evidence }))
    return row
end

-- no_website -> qualified | disqualified, with the score and its reasons.
function _M.record_qualification(id, qualified, score, reasons)
    local status = qualified and "qualified" or "disqualified"
    local row, err = one([[UPDATE businesses SET qualification_score = $2, qualification_reasons = $3::jsonb,
        lead_status = $4::text, qualified_at = CASE WHEN $4::text = 'qualified' THEN now() END, updated_at = now()
        WHERE id = $1 AND lead_status = 'no_website' RETURNING id]], id, score, wm.json.array(reasons), status)
    if not row then
        return nil, err or "lead not awaiting qualification"
    end
    assert(activity.log("lead." .. status, "business", id, { score = score }))
    return row
end

-- The seed's "qualified leads ready for site generation" condition, with
-- the gates read from config (the one place a threshold lives).
_M.READY_FOR_SITE = [[
WHERE website_status = 'none'
  AND email IS NOT NULL
  AND rating >= $1
  AND review_count >= $2
  AND lead_status = 'qualified']]

function _M.site_gates()
    local q = wm.config.qualify
    return q.min_rating, q.min_reviews
end

-- website_status none -> generating: the agents start on this business.
function _M.start_site(id, score)
    local row, err = one([[UPDATE businesses SET website_status = 'generating', updated_at = now()
        WHERE id = $1 AND website_status = 'none' RETURNING id]], id)
    if not row then
        return nil, err or "a site is already under way"
    end
    assert(activity.log("site.planned", "business", id, { score = score }))
    return row
end

-- website_status generating -> generated (the architect's site exists).
function _M.site_generated(id)
    local row, err = one([[UPDATE businesses SET website_status = 'generated', updated_at = now()
        WHERE id = $1 AND website_status IN ('none', 'generating') RETURNING id]], id)
    if not row then
        return nil, err or "website_status is past 'generated'"
    end
    return row
end

-- contact_status pending -> emailed (a no-op for a business further on).
function _M.emailed(id)
    return wm.db.run([[UPDATE businesses SET contact_status = 'emailed', updated_at = now()
        WHERE id = $1 AND contact_status = 'pending']], id)
end

function _M.opened(id)
    return wm.db.run([[UPDATE businesses SET contact_status = 'opened', updated_at = now()
        WHERE id = $1 AND contact_status = 'emailed']], id)
end

function _M.clicked(id)
    return wm.db.run([[UPDATE businesses SET contact_status = 'clicked', updated_at = now()
        WHERE id = $1 AND contact_status IN ('emailed', 'opened')]], id)
end

-- any -> unsubscribed (a no-op when it already is).
function _M.unsubscribed(id)
    return wm.db.run([[UPDATE businesses SET contact_status = 'unsubscribed', updated_at = now()
        WHERE id = $1 AND contact_status IS DISTINCT FROM 'unsubscribed']], id)
end

-- website_status -> sold and contact_status -> purchased (the first
-- payment for its site). Returns the row {id, coverage_grid_id} only when
-- it changed.
function _M.sold(id, actor)
    local row, err = one([[UPDATE businesses SET website_status = 'sold', contact_status = 'purchased',
        updated_at = now() WHERE id = $1 AND (website_status IS DISTINCT FROM 'sold'
            OR contact_status IS DISTINCT FROM 'purchased')
        RETURNING id, coverage_grid_id]], id)
    if not row then
        return nil, err
    end
    assert(activity.log("business.purchased", "business", id, {}, actor or "system"))
    return row
end

-- website_status sold -> archived (the subscription ended and the site is
-- no longer served).
function _M.archived(id, actor)
    local row, err = one([[UPDATE businesses SET website_status = 'archived', updated_at = now()
        WHERE id = $1 AND website_status = 'sold' RETURNING id]], id)
    if row then
        assert(activity.log("business.archived", "business", id, {}, actor or "system"))
    end
    return row, err
end

return _M
