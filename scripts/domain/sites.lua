-- Site state: the one home of generated_sites.status.
--   draft (built, not yet judged) -> preview (passed the quality gate: may be
--   emailed) | held (failed it quality.max_attempts times: kept for review)
--   draft -> draft (failed it: rebuilt by the architect with the failures)
--   preview (built, emailed as a preview) -> live (sold: the first payment)
--   live -> archived (the cancelled subscription's period ended)
--   live: paused_at set while unpaid beyond the grace period, cleared when paid
local activity = require "lib.activity"

local _M = {}

-- What a site's page is rendered from now, as one SQL expression for
-- generated_sites.rendered_from (migration 034): the stored architect output,
-- the business's creative DNA (null: the concept's) and contact details, the
-- inputs domain.tickets.approve writes and rollback writes back. %s is the
-- business id (a parameter or the row's column). NULL without an architect
-- output. Read in the statement that stores the page, so it is the same
-- transaction's inputs.
local RENDERED_FROM = [[(SELECT jsonb_build_object('content', a.output, 'dna', b.creative_dna,
        'business', jsonb_build_object('phone', b.phone, 'email', b.email, 'address', b.address))
    FROM businesses b JOIN agent_outputs a ON a.business_id = b.id AND a.agent = 'architect'
    WHERE b.id = %s)]]

-- create_draft{business_id=, subdomain=, html=, design_brief=, builder_prompt=, claim_token=}
-- -> {id, subdomain}; the business goes generating -> generated. The site is
-- neither served nor emailed until the quality gate passes it (judge).
function _M.create_draft(s)
    local rows, err = wm.db.run([[INSERT INTO generated_sites (business_id, subdomain, html_content,
            design_brief, builder_prompt, version, status, claim_token, rendered_from)
        VALUES ($1, $2, $3, $4::jsonb, $5, 1, 'draft', $6, ]] .. RENDERED_FROM:format("$1") .. [[)
        RETURNING id, subdomain]],
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

-- A screenshot's address as a path on this host, which pages with a CSP
-- of img-src 'self' (the dashboard, the portal) may show: one under
-- sites.base_url loses that prefix, a path stays; anything else is nil.
function _M.screenshot_path(url)
    if type(url) ~= "string" or url == "" then
        return nil
    end
    if url:sub(1, 1) == "/" and url:sub(2, 2) ~= "/" then
        return url
    end
    local base = (wm.config.sites.base_url or ""):gsub("/+$", "")
    if base ~= "" and url:sub(1, #base + 1) == base .. "/" then
        return url:sub(#base + 1)
    end
    return nil
end

-- draft -> draft with new content: the architect's rebuild after the gate
-- failed it (the page and the prompt that built it).
function _M.rebuild_draft(id, html, builder_prompt)
    local row, err = one([[UPDATE generated_sites SET html_content = $2, builder_prompt = $3, updated_at = now(),
            rendered_from = ]] .. RENDERED_FROM:format("generated_sites.business_id") .. [[
        WHERE id = $1 AND status = 'draft' RETURNING id, business_id]], id, html, builder_prompt)
    if row then
        assert(activity.log("site.rebuilt", "site", id, { bytes = #html }))
    end
    return row, err
end

-- The quality gate, its one home: why a page may not be emailed.
-- check = {bytes = the stored page's size, problems = {...} (what the browser
-- saw: console errors, requests leaving the origin, invalid markup),
-- lighthouse = {category = score 0..100} | nil when it did not run}
-- -> the failures, an array of sentences (empty: it passes).
function _M.quality_failures(check)
    local q = wm.config.quality
    local failures = {}
    if check.bytes > q.max_bytes then
        failures[#failures + 1] = ("the page is %d bytes, over the %d-byte limit"):format(check.bytes, q.max_bytes)
    end
    for _, p in ipairs(check.problems or {}) do
        failures[#failures + 1] = tostring(p)
    end
    local cats = {}
    for k, v in pairs(check.lighthouse or {}) do
        if type(v) == "number" then
            cats[#cats + 1] = k
        end
    end
    table.sort(cats)
    for _, k in ipairs(cats) do
        local v = check.lighthouse[k]
        if v < q.min_lighthouse then
            failures[#failures + 1] = ("Lighthouse %s scored %d, under %d"):format(k, v, q.min_lighthouse)
        end
    end
    return failures
end

local VERDICT_ACTION = { preview = "site.passed_gate", rebuild = "site.gate_failed", held = "site.held" }

-- judge(id, shot), shot = {desktop_url=, mobile_url=, thumb_url=, load_time_ms=,
-- lighthouse_score= | nil, failures = quality_failures(...)}: the verdict on a
-- photographed draft, recorded with its pictures. -> "preview" (it may be
-- emailed) | "rebuild" (still a draft: the architect tries again with the
-- failures) | "held" (failed quality.max_attempts builds: kept for review).
-- A new version of a site already out (new_version: preview, live or sold)
-- is judged too: a preview that fails is held (the operator asked for this
-- page: no rebuild loop); a live or sold site is never taken down, its
-- failures are recorded and its status is the verdict.
-- nil, err when the site is neither.
function _M.judge(id, shot)
    local site, err = one([[SELECT id, status, quality_attempts FROM generated_sites
        WHERE id = $1 AND status IN ('draft', 'preview', 'live', 'sold') FOR UPDATE]], id)
    if not site then
        return nil, err or ("site " .. tostring(id) .. " is not a draft")
    end
    local attempts = site.quality_attempts + 1
    local verdict = "preview"
    if site.status == "live" or site.status == "sold" then
        verdict = site.status
    elseif #shot.failures > 0 then
        verdict = (site.status == "draft" and attempts < wm.config.quality.max_attempts) and "rebuild" or "held"
    end
    local ok
    ok, err = wm.db.run([[UPDATE generated_sites SET screenshot_desktop_url = $2, screenshot_mobile_url = $3,
            screenshot_thumb_url = $4, load_time_ms = $5, lighthouse_score = coalesce($6, lighthouse_score),
            quality_attempts = $7, quality_failures = $8::jsonb, quality_checked_at = now(),
            status = $9, updated_at = now()
        WHERE id = $1]], id, shot.desktop_url, shot.mobile_url, shot.thumb_url, shot.load_time_ms or wm.null,
        shot.lighthouse_score or wm.null, attempts, wm.json.array(shot.failures),
        verdict == "rebuild" and "draft" or verdict)
    if not ok then
        return nil, err
    end
    local action = VERDICT_ACTION[verdict] or (#shot.failures > 0 and "site.gate_failed" or "site.passed_gate")
    assert(activity.log(action, "site", id, { attempt = attempts, failures = wm.json.array(shot.failures) }))
    return verdict
end

-- The seed's "Get sites ready for outreach" query, unchanged (status
-- preview, contact pending, screenshot present): what compose may email.
_M.READY_FOR_OUTREACH = [[
SELECT s.*, b.email, b.name as business_name
FROM generated_sites s
JOIN businesses b ON s.business_id = b.id
WHERE s.status = 'preview'
  AND b.contact_status = 'pending'
  AND s.screenshot_desktop_url IS NOT NULL]]

-- The business's site when that query selects it, else nil.
function _M.ready_for_outreach(business_id)
    return wm.db.one("SELECT * FROM (" .. _M.READY_FOR_OUTREACH .. [[) ready
        WHERE business_id = $1 ORDER BY version DESC LIMIT 1]], business_id)
end

-- held -> preview by a person who looked at it (the editor's decision over
-- the gate's): it may be emailed now (compose is next; the outreach query
-- still wants its screenshot). Joins the caller's transaction.
-- -> {id, business_id} | nil, err
function _M.release(id, actor_type, actor_id)
    local row, err = one([[UPDATE generated_sites SET status = 'preview', updated_at = now()
        WHERE id = $1 AND status = 'held' RETURNING id, business_id, quality_failures]], id)
    if not row then
        return nil, err or "the site is not held"
    end
    assert(activity.log("site.released", "site", id, { failures = row.quality_failures }, actor_type or "user",
                        actor_id))
    assert(require("lib.pipeline").next("compose", row.business_id))
    return { id = row.id, business_id = row.business_id }
end

-- Sites held for review, newest first, with their reasons; held_at: the
-- judgement that held it (a held site is never judged again).
function _M.held(limit)
    return wm.db.query([[SELECT s.id, s.subdomain, b.name AS business_name, s.quality_attempts,
            s.quality_failures, s.quality_checked_at AS held_at, s.screenshot_desktop_url
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        WHERE s.status = 'held' ORDER BY s.quality_checked_at DESC LIMIT $1]], limit or 100)
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

-- The page as it will be when live (no preview banner, claim link or
-- noindex): what the screenshot stage photographs. The stored page when the
-- agent outputs are gone.
function _M.live_html(site)
    local html = render_live(site)
    return html or site.html_content
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
        rendered_from = CASE WHEN $2::text IS NULL THEN rendered_from
            ELSE ]] .. RENDERED_FROM:format("generated_sites.business_id") .. [[ END,
        updated_at = now() WHERE id = $1 RETURNING id, business_id]], id, html or wm.null)
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

-- An operator asks for the site to be built again: the architect runs for
-- its business with {regenerate = id} (a new version with
-- previous_version_id = id). Returns {id, job_id}.
function _M.regenerate(id, actor)
    local site, err = one([[SELECT id, business_id FROM generated_sites WHERE id = $1 AND status <> 'archived'
        AND NOT proposal]], id)
    if not site then
        return nil, err or "no such site, or it is archived, or it is a change request's proposal"
    end
    local job
    job, err = wm.jobs.enqueue("architect", { business_id = site.business_id, regenerate = id },
        { unique_key = "architect:regenerate:" .. id })
    if not job then
        return nil, err
    end
    assert(activity.log("site.regenerate", "site", id, { job_id = job }, actor and actor.type, actor and actor.id))
    return { id = id, job_id = job }
end

-- draft | held | preview | live | sold -> archived by an operator: no longer
-- served, never emailed (a site the quality gate held can be given up too).
-- A change request's proposal is not a site: its request decides it.
function _M.archive_by_operator(id, actor)
    local row, err = one([[UPDATE generated_sites SET status = 'archived', paused_at = NULL, updated_at = now()
        WHERE id = $1 AND status IN ('draft', 'held', 'preview', 'live', 'sold') RETURNING id, business_id]], id)
    if not row then
        return nil, err or "no such site, or it is archived already, or it is a change request's proposal"
    end
    assert(activity.log("site.archived", "site", id, { reason = "operator" }, actor and actor.type, actor and actor.id))
    return row
end

-- Keeps the page site `id` has now as an archived copy (subdomain
-- "<subdomain>--v<n>", never served) with the row's version and its own
-- previous_version_id, so the chain of copies is the site's history.
-- Joins the caller's transaction. -> the copy's id
local function archive_current(id)
    local copy, err = one([[INSERT INTO generated_sites (business_id, subdomain, custom_domain, html_content, css_content,
            js_content, design_brief, builder_prompt, version, previous_version_id, status, screenshot_desktop_url,
            screenshot_mobile_url, screenshot_thumb_url, assets_urls, lighthouse_score, load_time_ms, created_at, deployed_at, sold_at,
            updated_at, rendered_from)
        SELECT business_id, left(subdomain, 80) || '--v' || coalesce(version, 1), NULL, html_content, css_content,
            js_content, design_brief, builder_prompt, version, previous_version_id, 'archived', screenshot_desktop_url,
            screenshot_mobile_url, screenshot_thumb_url, assets_urls, lighthouse_score, load_time_ms, created_at, NULL, NULL, now(),
            rendered_from
        FROM generated_sites WHERE id = $1 RETURNING id]], id)
    if not copy then
        return nil, err
    end
    return copy.id
end

-- A new version of site `id` (the architect's rebuild that an operator
-- asked for): the row keeps its id, subdomain, claim token and status (the
-- address emailed, the checkout and the subscription stay valid) and takes
-- the new page with version + 1; the page it had is kept as an archived
-- copy (subdomain "<subdomain>--v<n>", never served) that previous_version_id
-- points to (built when that version was; deployed and sold only as the
-- row itself, so counts of deployments and sales do not see it twice).
-- The new page goes through the screenshot stage and the quality gate like
-- a new draft (new pictures, attempts from none): a held site becomes a
-- draft again, so it may pass to preview this time.
-- The caller has stored what the page was rendered from (the architect's
-- rebuild its output, an approved request its inputs) first: the version
-- keeps them as rendered_from, for a later rollback to bring back.
-- Joins the caller's transaction. actor_type/actor_id (optional) name who
-- asked (an approved change request) in the site.version activity row.
-- -> {id, version, previous_version_id}
function _M.new_version(id, html, builder_prompt, actor_type, actor_id)
    local site, err = one([[SELECT id, business_id, subdomain, version FROM generated_sites
        WHERE id = $1 AND status <> 'archived' FOR UPDATE]], id)
    if not site then
        return nil, err or "no such site, or it is archived"
    end
    local copy_id
    copy_id, err = archive_current(id)
    if not copy_id then
        return nil, err
    end
    local row
    row, err = one([[UPDATE generated_sites SET html_content = $2, builder_prompt = $3, version = coalesce(version, 1) + 1,
            previous_version_id = $4, screenshot_desktop_url = NULL, screenshot_mobile_url = NULL,
            screenshot_thumb_url = NULL, lighthouse_score = NULL, load_time_ms = NULL, quality_attempts = 0,
            quality_failures = NULL, quality_checked_at = NULL,
            rendered_from = ]] .. RENDERED_FROM:format("generated_sites.business_id") .. [[,
            status = CASE WHEN status = 'held' THEN 'draft' ELSE status END, created_at = now(), updated_at = now()
        WHERE id = $1 RETURNING id, version, previous_version_id]], id, html, builder_prompt, copy_id)
    if not row then
        return nil, err
    end
    local job
    job, err = wm.jobs.enqueue("screenshot", { business_id = site.business_id, site_id = id },
        { unique_key = "screenshot:" .. site.business_id })
    if not job then
        return nil, err
    end
    assert(activity.log("site.version", "site", id, { version = row.version, previous = copy_id, bytes = #html },
        actor_type, actor_id))
    return row
end

-- The chain of versions ending at site `id` (the row itself, then the
-- archived copies previous_version_id leads to), newest first, each with
-- what made it from the activity log: {id, version, status, created_at,
-- bytes, current (the row the site serves), action ('site.generated' (also
-- the first version without its activity row), 'site.version',
-- 'site.rolled_back'), restored (the version a rollback
-- brought back), actor_type, actor_id, actor (an admin's email when known),
-- and for a version an approved change request made: ticket_id, request
-- (the customer's words), changes (ai_changes_made, a line per change)}.
-- Joins the caller's transaction when there is one. An empty list: no such site.
function _M.versions(id)
    return wm.db.run([[WITH RECURSIVE chain AS (
            SELECT id, version, status, created_at, previous_version_id, octet_length(html_content) AS bytes,
                0 AS depth
            FROM generated_sites WHERE id = $1
            UNION ALL
            SELECT g.id, g.version, g.status, g.created_at, g.previous_version_id, octet_length(g.html_content),
                c.depth + 1
            FROM generated_sites g JOIN chain c ON g.id = c.previous_version_id WHERE c.depth < 10000)
        SELECT c.id, coalesce(c.version, 1) AS version, coalesce(c.status, '') AS status,
            to_char(c.created_at, 'YYYY-MM-DD HH24:MI') AS created_at, c.bytes, c.depth = 0 AS current,
            coalesce(a.action, CASE WHEN c.previous_version_id IS NULL THEN 'site.generated' END) AS action,
            (a.details->>'restored')::int AS restored, a.actor_type, a.actor_id, u.email AS actor,
            t.id AS ticket_id, t.request_text AS request, t.ai_changes_made AS changes
        FROM chain c
        LEFT JOIN LATERAL (SELECT action, details, actor_type, actor_id FROM activity_log
            WHERE entity_type = 'site' AND entity_id = $1
              AND ((action IN ('site.version', 'site.rolled_back') AND details->>'version' = coalesce(c.version, 1)::text)
                   OR (action = 'site.generated' AND coalesce(c.version, 1) = 1))
            ORDER BY created_at DESC LIMIT 1) a ON true
        LEFT JOIN admin_users u ON a.actor_type IN ('admin', 'user') AND u.id = a.actor_id
        LEFT JOIN LATERAL (SELECT id, request_text, ai_changes_made FROM support_tickets
            WHERE site_id = $1 AND status = 'completed' AND applied_version = c.version
            ORDER BY resolved_at DESC LIMIT 1) t ON a.action = 'site.version'
        ORDER BY c.depth]], id)
end

-- Restores an earlier version of site `id` in one step: the page it had
-- then becomes what the site serves as a new version on top (version + 1,
-- history never rewritten), the current page archived as new_version
-- keeps it; the site's status, address and paused state stay. The
-- restored version's screenshots and scores come with it (they are of that
-- page). What that version was rendered from (rendered_from) is written
-- back to the stored inputs (the architect's output, the creative DNA, the
-- business's phone, email and address), so the next change request edits
-- the restored page and a re-render (mark_live) shows it. A version kept
-- before those were recorded (migration 034) has none: it rolls back as its
-- page alone, the stored inputs stay the newer version's, and
-- inputs_current says so (the next request's edits go to a person).
-- Joins the caller's transaction (the wm_sites trigger tells the
-- site cache on commit). -> {id, version, restored, previous_version_id,
-- inputs (whether they came back)} | nil, err (a sentence for the person who asked)
function _M.rollback(id, version, actor_type, actor_id)
    version = tonumber(version)
    if not version or version ~= math.floor(version) or version < 1 then
        return nil, "a version is a whole number from 1"
    end
    local site, err = one([[SELECT id, coalesce(version, 1) AS version FROM generated_sites
        WHERE id = $1 AND status <> 'archived' FOR UPDATE]], id)
    if not site then
        return nil, err or "no such site, or it is archived"
    end
    if version == site.version then
        return nil, ("version %d is the one the site shows now"):format(version)
    end
    local chain
    chain, err = _M.versions(id)
    if not chain then
        return nil, err
    end
    local source
    for _, v in ipairs(chain) do
        if v.version == version and not v.current then
            source = v
        end
    end
    if not source then
        return nil, ("this site has no version %d"):format(version)
    end
    -- A copy archived before the sale holds a preview page (banner, claim
    -- link, noindex): mark_live re-rendered only the version current then.
    local before_sale
    before_sale, err = one([[SELECT src.updated_at < g.sold_at AS yes FROM generated_sites src, generated_sites g
        WHERE src.id = $1 AND g.id = $2]], source.id, id)
    if not before_sale then
        return nil, err or "the version is gone"
    end
    if before_sale.yes == true then
        return nil, ("version %d was replaced before the site was sold: it is the preview page, with its banner "
            .. "and claim link"):format(version)
    end
    local copy_id
    copy_id, err = archive_current(id)
    if not copy_id then
        return nil, err
    end
    local row
    row, err = one([[UPDATE generated_sites g SET html_content = src.html_content, css_content = src.css_content,
            js_content = src.js_content, design_brief = src.design_brief, builder_prompt = src.builder_prompt,
            assets_urls = src.assets_urls, screenshot_desktop_url = src.screenshot_desktop_url,
            screenshot_mobile_url = src.screenshot_mobile_url, screenshot_thumb_url = src.screenshot_thumb_url,
            lighthouse_score = src.lighthouse_score, load_time_ms = src.load_time_ms,
            rendered_from = src.rendered_from,
            version = coalesce(g.version, 1) + 1, previous_version_id = $3, created_at = now(), updated_at = now()
        FROM generated_sites src WHERE g.id = $1 AND src.id = $2
        RETURNING g.id, g.version, g.previous_version_id, octet_length(g.html_content) AS bytes,
            g.rendered_from IS NOT NULL AS inputs]], id, source.id, copy_id)
    if not row then
        return nil, err
    end
    if row.inputs then
        -- Exactly the version's values, a missing one included: the page
        -- showed no phone then, and a re-render must not show one now.
        assert(wm.db.run([[UPDATE agent_outputs a SET output = g.rendered_from->'content'
            FROM generated_sites g WHERE g.id = $1 AND a.business_id = g.business_id AND a.agent = 'architect']], id))
        assert(wm.db.run([[UPDATE businesses b SET creative_dna = nullif(g.rendered_from->'dna', 'null'::jsonb),
                phone = g.rendered_from->'business'->>'phone', email = g.rendered_from->'business'->>'email',
                address = g.rendered_from->'business'->>'address', updated_at = now()
            FROM generated_sites g WHERE g.id = $1 AND b.id = g.business_id]], id))
    end
    assert(activity.log("site.rolled_back", "site", id, { version = row.version, restored = version,
                                                          previous = copy_id, bytes = row.bytes, inputs = row.inputs },
        actor_type, actor_id))
    return { id = row.id, version = row.version, restored = version, previous_version_id = row.previous_version_id,
             inputs = row.inputs }
end

-- Whether the stored inputs are what site `id` serves was rendered from:
-- false only when its last version change was a rollback to a version
-- without recorded inputs (see rollback), when an edit of the stored
-- inputs would bring the undone change back. Joins the caller's
-- transaction when there is one. -> bool | nil, err
function _M.inputs_current(id)
    local r, err = one([[SELECT g.rendered_from IS NOT NULL OR last.action IS DISTINCT FROM 'site.rolled_back' AS yes
        FROM generated_sites g
        LEFT JOIN LATERAL (SELECT action FROM activity_log WHERE entity_type = 'site' AND entity_id = g.id
            AND action IN ('site.version', 'site.rolled_back') ORDER BY created_at DESC, id DESC LIMIT 1) last ON true
        WHERE g.id = $1]], id)
    if not r then
        return nil, err or "no such site"
    end
    return r.yes
end

return _M
