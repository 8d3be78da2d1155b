-- Site state: the one home of generated_sites.status.
--   preview (built, emailed as a preview) -> live (sold: the first payment)
--   live -> archived (the cancelled subscription's period ended)
--   live: paused_at set while unpaid beyond the grace period, cleared when paid
local activity = require "lib.activity"

local _M = {}

-- create_preview{business_id=, subdomain=, html=, design_brief=, builder_prompt=, claim_token=}
-- -> {id, subdomain}; the business goes generating -> generated.
function _M.create_preview(s)
    local rows, err = wm.db.run([[INSERT INTO generated_sites (business_id, subdomain, html_content,
            design_brief, builder_prompt, version, status, claim_token)
        VALUES ($1, $2, $3, $4::jsonb, $5, 1, 'preview', $6) RETURNING id, subdomain]],
        s.business_id, s.subdomain, s.html, s.design_brief or wm.null, s.builder_prompt, s.claim_token)
    if not rows then
        return nil, err
    end
    local site = rows[1]
    assert(require("domain.businesses").site_generated(s.business_id))
    assert(activity.log("site.generated", "site", site.id, { subdomain = site.subdomain, bytes = #s.html }))
    return site
end

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

-- A site's address from its subdomain (sites.site_url_pattern: configured,
-- or derived from the address wm serve listens on), with its trailing slash.
function _M.url(subdomain)
    return wm.config.sites.site_url_pattern:format(subdomain)
end

-- The page a sold site shows: the preview's content rendered again without
-- the preview banner, the claim link and noindex, from the same stored
-- agent outputs. nil when they are gone (then the stored page stays).
-- (Its queries join the caller's transaction: a connection pinned by it must
-- not wait for a second one from the pool.)
local function render_live(site)
    local b = one("SELECT * FROM businesses WHERE id = $1", site.business_id)
    local rows = b and wm.db.run([[SELECT agent, output FROM agent_outputs WHERE business_id = $1
        AND agent IN ('concept', 'director', 'architect')]], b.id)
    local out = {}
    for _, r in ipairs(rows or {}) do
        out[r.agent] = r.output
    end
    if not out.architect then
        return nil, "no stored architect output"
    end
    return require("sites.render").render {
        url = _M.url(site.subdomain),
        business = b,
        dna = b.creative_dna ~= wm.null and b.creative_dna or out.concept,
        brief = out.director,
        content = out.architect,
    }
end

-- preview | archived -> live (sold): deployed_at and sold_at are set (kept
-- when already set), the page is rendered again as the customer's own.
-- Returns the row only when it changed.
function _M.mark_live(id, actor)
    local site, err = one([[SELECT id, business_id, subdomain, status FROM generated_sites
        WHERE id = $1 AND status IN ('preview', 'archived') FOR UPDATE]], id)
    if not site then
        return nil, err
    end
    local html, rerr = render_live(site)
    if not html then
        wm.log.warn("sold site keeps its preview page", { site = id, error = tostring(rerr) })
    end
    local row
    row, err = one([[UPDATE generated_sites SET status = 'live', deployed_at = coalesce(deployed_at, now()),
        sold_at = coalesce(sold_at, now()), paused_at = NULL, html_content = coalesce($2, html_content),
        updated_at = now() WHERE id = $1 RETURNING id, business_id]], id, html)
    if not row then
        return nil, err
    end
    assert(activity.log("site.live", "site", id, { from = site.status, rerendered = html ~= nil }, actor or "system"))
    return row
end

-- live -> paused page (the subscription is past due beyond its grace, or
-- paused). Returns the row only when it changed.
function _M.pause(id, reason, actor)
    local row, err = one([[UPDATE generated_sites SET paused_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'live' AND paused_at IS NULL RETURNING id]], id)
    if row then
        assert(activity.log("site.paused", "site", id, { reason = reason }, actor or "system"))
    end
    return row, err
end

-- paused page -> live content (paid again, or unpaused).
function _M.restore(id, actor)
    local row, err = one([[UPDATE generated_sites SET paused_at = NULL, updated_at = now()
        WHERE id = $1 AND paused_at IS NOT NULL RETURNING id]], id)
    if row then
        assert(activity.log("site.restored", "site", id, {}, actor or "system"))
    end
    return row, err
end

-- live -> archived (the cancelled subscription's paid period ended): no
-- longer served.
function _M.archive(id, reason, actor)
    local row, err = one([[UPDATE generated_sites SET status = 'archived', paused_at = NULL, updated_at = now()
        WHERE id = $1 AND status = 'live' RETURNING id, business_id]], id)
    if row then
        assert(activity.log("site.archived", "site", id, { reason = reason }, actor or "system"))
    end
    return row, err
end

-- What the site route shows for a site row it found ({id, status,
-- html_content}): its own page, or the "paused" page while its subscription
-- is past due beyond the grace period or paused. A site being served is
-- never answered with an error because of this check: on a failed query
-- the page is shown.
function _M.public_html(site)
    if site.status == "preview" then
        return site.html_content
    end
    local row = wm.db.one([[SELECT s.paused_at, b.name FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        WHERE s.id = $1]], site.id)
    if row and row.paused_at ~= wm.null then
        return require("sites.paused").page(row.name)
    end
    return site.html_content
end

return _M
