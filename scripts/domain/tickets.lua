-- Support tickets: the one home of support_tickets.status.
--
--   open -> in_progress            the interpret_ticket job took it
--   in_progress -> awaiting_approval   a proposed version is built (propose)
--   in_progress -> needs_person    the request is not one code can do safely
--   awaiting_approval -> completed the customer or staff approved: it is live
--   awaiting_approval -> in_progress   approved, but the live version moved
--                                  on since the proposal was built: rebuilt
--                                  on the current one, to approve again
--   awaiting_approval -> awaiting_approval  staff saved their own edit of
--                                  the proposal as a new one (edit); its
--                                  approval is then resolved_by 'human'
--   open | awaiting_approval | needs_person -> rejected
--   needs_person -> completed      staff made the change by hand (resolve)
--
-- Every transition names its from-states in its UPDATE, so two hosts (or a
-- customer and staff) deciding at once cannot both win; each writes an
-- activity row in the same transaction. A proposed version is a
-- generated_sites row with status 'proposed' (never served); approval makes
-- its page the site's next version through domain.sites.new_version and
-- writes what it was rendered from to the site's stored inputs (the
-- architect's output, the palette, the business's contact details), so a
-- later re-render (sites.mark_live) keeps the change. changes,
-- shown_operations and text_diff are what a person reads about a ticket.
local activity = require "lib.activity"
local sites = require "domain.sites"

local one, run = wm.db.run_one, wm.db.run

local _M = {}

_M.STATUSES = { "open", "in_progress", "awaiting_approval", "needs_person", "completed", "rejected" }

local MAX_TEXT = 5000

local function cfg()
    return wm.config.tickets or {}
end

-- create{site_id=, text=[, customer_id=][, pictures={url...}][, actor_type="customer"|"user", actor_id=]}
-- -> ticket row | nil, reason (in words for the person filing it), kind | nil, err.
-- kind says which refusal: "invalid" (the text), "absent" (no such site
-- for this customer), "not_live", "limit". customer_id, when given, must
-- hold a subscription for the site (the portal); staff filing for a
-- customer give only the site. The customer's own requests are limited to
-- tickets.per_customer_per_day. pictures: the addresses of what came with
-- it (support_tickets.screenshot_urls). Joins the caller's transaction
-- (the interpretation job and the acknowledgement email are enqueued in it).
function _M.create(t)
    local text = type(t.text) == "string" and wm.text.utf8_clean(t.text):gsub("^%s+", ""):gsub("%s+$", "") or ""
    if text == "" then
        return nil, "Say what you would like changed.", "invalid"
    end
    if #text > MAX_TEXT then
        return nil, ("Please keep the request under %d characters."):format(MAX_TEXT), "invalid"
    end
    local site, err = one([[SELECT g.id, g.status, s.customer_id FROM generated_sites g
        JOIN subscriptions s ON s.site_id = g.id
        WHERE g.id = $1 AND ($2::uuid IS NULL OR s.customer_id = $2::uuid)
        ORDER BY s.created_at DESC LIMIT 1]], t.site_id, t.customer_id or wm.null)
    if not site then
        return nil, err or "There is no such website on this account.", not err and "absent" or nil
    end
    if site.status ~= "live" and site.status ~= "sold" then
        return nil, "This website is not live, so it cannot be changed.", "not_live"
    end
    local actor_type = t.actor_type or "customer"
    if actor_type == "customer" then
        local limit = cfg().per_customer_per_day or 10
        local n
        n, err = one([[SELECT count(*)::int AS n FROM support_tickets
            WHERE customer_id = $1 AND created_by_type = 'customer' AND created_at > now() - interval '1 day']],
            site.customer_id)
        if not n then
            return nil, err
        end
        if n.n >= limit then
            return nil, ("You have sent %d requests in the last day, our limit. Please wait a little before "
                .. "sending another, or reply to our last email."):format(n.n), "limit"
        end
    end
    local row
    row, err = one([[INSERT INTO support_tickets (customer_id, site_id, request_text, status, created_by_type, created_by,
            screenshot_urls)
        VALUES ($1, $2, $3, 'open', $4, $5, $6::jsonb) RETURNING *]], site.customer_id, site.id, text, actor_type,
        t.actor_id or wm.null, wm.json.array(t.pictures or {}))
    if not row then
        return nil, err
    end
    assert(activity.log("ticket.opened", "ticket", row.id, { site = site.id, bytes = #text }, actor_type, t.actor_id))
    assert(wm.jobs.enqueue("interpret_ticket", { id = row.id }, { unique_key = "interpret_ticket:" .. row.id }))
    assert(wm.jobs.enqueue("ticket_email", { id = row.id, kind = "received" },
        { unique_key = "ticket_email:received:" .. row.id }))
    return row
end

function _M.get(id)
    return wm.db.one("SELECT * FROM support_tickets WHERE id = $1", id)
end

-- A ticket of this customer's, or nil: another customer's is as absent as none.
function _M.for_customer(customer_id, id)
    return wm.db.one("SELECT * FROM support_tickets WHERE id = $1 AND customer_id = $2", id, customer_id)
end

-- list{customer_id=, site_id=, status=, limit=} newest first, with the
-- site's address, the business's name and the assignee's email.
function _M.list(f)
    f = f or {}
    return wm.db.query([[SELECT t.id, t.status, t.request_text, t.ai_interpretation, t.created_at, t.updated_at,
            t.resolved_at, t.customer_id, t.site_id, g.subdomain, b.name AS business, c.email AS customer_email,
            extract(epoch FROM now() - t.created_at)::int AS age_s, t.assigned_to, u.email AS assignee
        FROM support_tickets t JOIN generated_sites g ON g.id = t.site_id JOIN businesses b ON b.id = g.business_id
        JOIN customers c ON c.id = t.customer_id LEFT JOIN admin_users u ON u.id = t.assigned_to
        WHERE ($1::uuid IS NULL OR t.customer_id = $1::uuid) AND ($2::uuid IS NULL OR t.site_id = $2::uuid)
          AND ($3::text IS NULL OR t.status = $3::text)
        ORDER BY t.created_at DESC LIMIT $4]], f.customer_id or wm.null, f.site_id or wm.null, f.status or wm.null,
        f.limit or 100)
end

-- open | in_progress -> in_progress (the job took it; a retried job takes it again).
function _M.start(id)
    local row, err = one([[UPDATE support_tickets SET status = 'in_progress', updated_at = now()
        WHERE id = $1 AND status IN ('open', 'in_progress') RETURNING *]], id)
    if row then
        assert(activity.log("ticket.in_progress", "ticket", id, {}))
    end
    return row, err
end

-- in_progress -> needs_person, with what was understood and why.
function _M.needs_person(id, interpretation, operations, reason)
    local row, err = one([[UPDATE support_tickets SET status = 'needs_person', ai_interpretation = coalesce($2, ai_interpretation),
            operations = coalesce($3::jsonb, operations), needs_person_reason = $4, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' RETURNING *]], id, interpretation or wm.null,
        operations and wm.json.array(operations) or wm.null, reason)
    if row then
        assert(activity.log("ticket.needs_person", "ticket", id, { reason = reason }))
    end
    return row, err
end

-- A proposed version (never served) of the locked live row `site`, built
-- on its current version; shot: the quality gate's pictures, when taken.
-- -> {id, version} | nil, err
local function insert_proposal(site, html, builder_prompt, shot)
    shot = shot or {}
    return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, design_brief, builder_prompt,
            version, previous_version_id, status, screenshot_desktop_url, screenshot_mobile_url, screenshot_thumb_url,
            load_time_ms, quality_checked_at, proposal)
        SELECT business_id, left(subdomain, 70) || '--t' || left(md5(random()::text), 12), $2, design_brief, $3,
            $4, id, 'proposed', $5, $6, $7, $8, CASE WHEN $5::text IS NULL THEN NULL ELSE now() END, true
        FROM generated_sites WHERE id = $1 RETURNING id, version]], site.id, html, builder_prompt or wm.null,
        site.version + 1, shot.desktop_url or wm.null, shot.mobile_url or wm.null, shot.thumb_url or wm.null,
        shot.load_time_ms or wm.null)
end

-- A proposal's pictures are stages/screenshot.lua's files under
-- paths.var/screenshots/<the live site's id>/, named by their content's
-- hash: the live version's (or another proposal's) picture of the same
-- page is the same file. discard_shots(site_id, urls) removes those of
-- `urls` in that site's folder that no generated_sites row names (a
-- proposal that will never be shown: it failed the gate, or was rejected
-- or replaced). -> number removed | nil, err
function _M.discard_shots(site_id, urls)
    if type(site_id) ~= "string" or not site_id:match("^[%x-]+$") then
        return 0
    end
    local removed = 0
    for _, url in ipairs(urls or {}) do
        local path = type(url) == "string" and url:match("(/screenshots/[%x-]+/%x+%-%a+%.png)$")
        if path and path:find("/screenshots/" .. site_id .. "/", 1, true) == 1 then
            local shown, err = wm.db.query([[SELECT 1 FROM generated_sites
                WHERE right(screenshot_desktop_url, length($1)) = $1 OR right(screenshot_mobile_url, length($1)) = $1
                   OR right(screenshot_thumb_url, length($1)) = $1 LIMIT 1]], path)
            if not shown then
                return nil, err
            end
            if #shown == 0 and os.remove(wm.config.paths.var .. path) then
                removed = removed + 1
            end
        end
    end
    return removed
end

-- proposed -> archived. discard: the proposal will never be shown (its
-- ticket was rejected or its proposal replaced): its pictures are taken
-- off the row and their files removed by the discard_shots job once this
-- transaction has committed (if it rolls back, the row still shows them).
local function archive_proposal(proposal_id, discard)
    if not proposal_id or proposal_id == wm.null then
        return
    end
    if not discard then
        assert(run([[UPDATE generated_sites SET status = 'archived', updated_at = now()
            WHERE id = $1 AND status = 'proposed']], proposal_id))
        return
    end
    local old = assert(run([[UPDATE generated_sites g SET status = 'archived', updated_at = now(),
            screenshot_desktop_url = NULL, screenshot_mobile_url = NULL, screenshot_thumb_url = NULL
        FROM (SELECT id, previous_version_id, screenshot_desktop_url, screenshot_mobile_url, screenshot_thumb_url
              FROM generated_sites WHERE id = $1 AND status = 'proposed' FOR UPDATE) old
        WHERE g.id = old.id
        RETURNING old.previous_version_id AS site_id, old.screenshot_desktop_url AS desktop,
            old.screenshot_mobile_url AS mobile, old.screenshot_thumb_url AS thumb]], proposal_id))[1]
    local urls = {}
    for _, view in ipairs { "desktop", "mobile", "thumb" } do
        if old and old[view] ~= wm.null then
            urls[#urls + 1] = old[view]
        end
    end
    if #urls > 0 then
        assert(wm.jobs.enqueue("discard_shots", { site_id = old.site_id, urls = urls }))
    end
end

-- The ticket in `status` and its live site, both locked for the caller's
-- transaction (ticket first, as every transition takes them) -> t, site |
-- nil, reason (`absent` when the ticket is not in that status).
local function lock_with_site(id, status, absent)
    local t, err = one("SELECT * FROM support_tickets WHERE id = $1 AND status = $2 FOR UPDATE", id, status)
    if not t then
        return nil, err or absent
    end
    local site
    site, err = one([[SELECT id, business_id, subdomain, coalesce(version, 1) AS version FROM generated_sites
        WHERE id = $1 AND status IN ('live', 'sold') FOR UPDATE]], t.site_id)
    if not site then
        return nil, err or "the site is not live"
    end
    return t, site
end

-- propose(id, p): in_progress -> awaiting_approval with a proposed version.
-- p = {base_version=, html=, builder_prompt=, interpretation=, operations=,
-- changes = {sentence...}, inputs = {content=, dna=, dna_changed=,
-- business_changed=}[, shot = {desktop_url=, mobile_url=, thumb_url=,
-- load_time_ms=} (the quality gate's pictures, when taken)]}. The site row
-- is locked: when its version is no longer p.base_version, nothing is
-- written and the answer is nil, "stale" (the caller builds again on the
-- current version). A staff edit of an earlier proposal is not carried
-- over (code built this one): edited_by is cleared. Joins the caller's
-- transaction.
function _M.propose(id, p)
    local t, site = lock_with_site(id, "in_progress", "the ticket is not in progress")
    if not t then
        return nil, site
    end
    local err
    if site.version ~= p.base_version then
        return nil, "stale"
    end
    archive_proposal(t.proposed_site_id, true)
    local proposal
    proposal, err = insert_proposal(site, p.html, p.builder_prompt, p.shot)
    if not proposal then
        return nil, err
    end
    local inputs = { content = p.inputs.content, dna = p.inputs.dna_changed and p.inputs.dna or nil,
                     business = p.inputs.business_changed }
    local row
    row, err = one([[UPDATE support_tickets SET status = 'awaiting_approval', ai_interpretation = $2,
            operations = $3::jsonb, ai_changes_made = $4, proposed_site_id = $5, base_version = $6,
            proposed_inputs = $7::jsonb, needs_person_reason = NULL, edited_by = NULL, edited_at = NULL,
            updated_at = now()
        WHERE id = $1 RETURNING *]], id, p.interpretation, wm.json.array(p.operations),
        table.concat(p.changes, "\n"), proposal.id, site.version, inputs)
    if not row then
        return nil, err
    end
    assert(activity.log("ticket.proposed", "ticket", id, { proposal = proposal.id, version = proposal.version,
                                                           changes = wm.json.array(p.changes) }))
    assert(wm.jobs.enqueue("ticket_email", { id = id, kind = "ready", version = proposal.version, proposal = proposal.id },
        { unique_key = "ticket_email:ready:" .. id .. ":" .. proposal.id }))
    return row
end

-- Writes what the approved page was rendered from to the site's stored
-- inputs, in the caller's transaction.
local function store_inputs(site, inputs)
    if type(inputs) ~= "table" then
        return
    end
    if inputs.content then
        assert(run([[UPDATE agent_outputs SET output = $3::jsonb WHERE business_id = $1 AND agent = $2]],
            site.business_id, "architect", inputs.content))
    end
    if inputs.dna then
        assert(run("UPDATE businesses SET creative_dna = $2::jsonb, updated_at = now() WHERE id = $1",
            site.business_id, inputs.dna))
    end
    local b = inputs.business
    if type(b) == "table" then
        assert(run([[UPDATE businesses SET phone = coalesce($2, phone), email = coalesce($3, email),
                address = coalesce($4, address), updated_at = now() WHERE id = $1]], site.business_id,
            b.phone or wm.null, b.email or wm.null, b.address or wm.null))
    end
end

-- approve(id, actor_type, actor_id[, note]): awaiting_approval -> completed,
-- the proposed page live as the site's next version (the old one archived
-- by sites.new_version); resolved_by 'ai', or 'human' when the proposal is
-- staff's edit. When the live version is no longer the one the
-- proposal was built on, the ticket goes back to in_progress and is
-- rebuilt: -> nil, "stale" (the customer approves the rebuilt one).
-- -> {ticket = row, version = n} | nil, reason. Joins the caller's transaction.
function _M.approve(id, actor_type, actor_id, note)
    local t, site = lock_with_site(id, "awaiting_approval", "the ticket is not waiting for approval")
    if not t then
        return nil, site
    end
    local err
    if site.version ~= t.base_version then
        assert(run([[UPDATE support_tickets SET status = 'in_progress', rebuilds = rebuilds + 1, updated_at = now()
            WHERE id = $1]], id))
        archive_proposal(t.proposed_site_id, true)
        assert(activity.log("ticket.rebuild", "ticket", id, { base = t.base_version, live = site.version },
            actor_type, actor_id))
        assert(wm.jobs.enqueue("interpret_ticket", { id = id, rebuild = true },
            { unique_key = "interpret_ticket:" .. id }))
        return nil, "stale"
    end
    local proposal
    proposal, err = one("SELECT id, html_content, builder_prompt FROM generated_sites WHERE id = $1 AND status = 'proposed'",
        t.proposed_site_id)
    if not proposal then
        return nil, err or "the proposed version is gone"
    end
    store_inputs(site, t.proposed_inputs ~= wm.null and t.proposed_inputs or nil)
    local v
    v, err = sites.new_version(site.id, proposal.html_content,
        proposal.builder_prompt ~= wm.null and proposal.builder_prompt or nil, actor_type, actor_id)
    if not v then
        return nil, err
    end
    archive_proposal(proposal.id)
    local row
    row, err = one([[UPDATE support_tickets SET status = 'completed',
            resolved_by = CASE WHEN edited_at IS NULL THEN 'ai' ELSE 'human' END, resolved_at = now(),
            approval_note = $2, decided_by_type = $3, decided_by = $4, decided_at = now(), applied_version = $5,
            updated_at = now()
        WHERE id = $1 RETURNING *]], id, note or wm.null, actor_type, actor_id or wm.null, v.version)
    if not row then
        return nil, err
    end
    assert(activity.log("ticket.approved", "ticket", id, { version = v.version, note = note }, actor_type, actor_id))
    return { ticket = row, version = v.version }
end

-- reject(id, actor_type, actor_id[, note]): open | awaiting_approval |
-- needs_person -> rejected; the site is unchanged. Joins the caller's transaction.
function _M.reject(id, actor_type, actor_id, note)
    local row, err = one([[UPDATE support_tickets SET status = 'rejected', approval_note = $2, decided_by_type = $3,
            decided_by = $4, decided_at = now(), resolved_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('open', 'awaiting_approval', 'needs_person') RETURNING *]], id,
        note or wm.null, actor_type, actor_id or wm.null)
    if not row then
        return nil, err or "the ticket is not open, waiting for approval or with a person"
    end
    archive_proposal(row.proposed_site_id, true)
    assert(activity.log("ticket.rejected", "ticket", id, { note = note }, actor_type, actor_id))
    return row
end

-- resolve(id, actor_type, actor_id, note): needs_person -> completed by
-- staff, who made the change themselves (resolved_by human).
function _M.resolve(id, actor_type, actor_id, note)
    local row, err = one([[UPDATE support_tickets SET status = 'completed', resolved_by = 'human', resolution_notes = $2,
            decided_by_type = $3, decided_by = $4, decided_at = now(), resolved_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'needs_person' RETURNING *]], id, note or wm.null, actor_type, actor_id or wm.null)
    if not row then
        return nil, err or "the ticket is not with a person"
    end
    assert(activity.log("ticket.resolved", "ticket", id, { note = note }, actor_type, actor_id))
    return row
end

-- ---- staff's edit of a proposal, and the assignee ---------------------------------------
--
-- Staff edit the proposed page's words, not its HTML: the page is some
-- 20 KB of inline style, SVG art and JSON-LD a support person should not
-- have to read or could break, and editing the content it is rendered from
-- keeps what approval stores in step with the page (so the next request
-- and a re-render keep the edit). The renderer escapes every text and
-- sanitises the one html section, as for every site.

local EDIT_TOP = {
    { "title", "Page title" }, { "meta_description", "Search description" }, { "hero.headline", "Headline" },
    { "hero.subheadline", "Subheadline", true }, { "hero.cta_label", "Button" },
}
local SECTION_LABEL = { services = "Services", about = "About", process = "How it works", faq = "FAQ",
                        contact = "Contact", html = "Extra section (HTML: p, ul, ol, li, strong, em, h3)" }
-- The lists a section has and their fields (field, long text). Reviews are
-- not offered: they are quoted from real reviews, and staff do not write a
-- reviewer's words.
local SECTION_LISTS = {
    services = { "items", { { "name" }, { "description", true } } },
    process = { "steps", { { "title" }, { "description", true } } },
    faq = { "items", { { "question" }, { "answer", true } } },
}
-- A new html section, when the page has none.
local NEW_HTML = "new_html"

local function nz_table(v)
    return type(v) == "table" and v or nil
end

-- The value at a schema path ("sections[2].items[1].description").
local function path_keys(path)
    local keys = {}
    for k in (path:gsub("%[(%d+)%]", ".%1")):gmatch("[^.]+") do
        keys[#keys + 1] = tonumber(k) or k
    end
    return keys
end

local function path_set(t, path, v)
    local keys = path_keys(path)
    for i = 1, #keys - 1 do
        t = t[keys[i]]
    end
    t[keys[#keys]] = v
end

-- The fields staff may edit in `content` (an architect output), in page
-- order: {name (its schema path), label, value, long (a textarea)}.
function _M.editable(content)
    local out = {}
    local function add(name, label, value, long)
        if type(value) == "string" then
            out[#out + 1] = { name = name, label = label, value = value, long = long or false }
        end
    end
    local function at(path)
        local v = content
        for _, k in ipairs(path_keys(path)) do
            v = type(v) == "table" and v[k] or nil
        end
        return v
    end
    for _, f in ipairs(EDIT_TOP) do
        add(f[1], f[2], at(f[1]), f[3])
    end
    local has_html = false
    for i, s in ipairs(nz_table(content.sections) or {}) do
        local label, base = SECTION_LABEL[s.kind], ("sections[%d]"):format(i)
        if label then
            has_html = has_html or s.kind == "html"
            add(base .. ".heading", label .. ": heading", s.heading)
            add(base .. ".body", label .. ": text", s.body, true)
            add(base .. ".html", label, s.html, true)
            local list = SECTION_LISTS[s.kind]
            for j, item in ipairs(list and nz_table(s[list[1]]) or {}) do
                for _, f in ipairs(list[2]) do
                    add(("%s.%s[%d].%s"):format(base, list[1], j, f[1]), ("%s %d: %s"):format(label, j, f[1]),
                        item[f[1]], f[2])
                end
            end
        end
    end
    add("footer_note", "Footer note", content.footer_note)
    if not has_html then
        add(NEW_HTML, SECTION_LABEL.html .. ", new", "", true)
    end
    return out
end

-- What ticket `t`'s proposal is rendered from: the live site's stored
-- inputs with the proposal's own (its content, palette, contact details)
-- over them. -> {content, dna, brief, business} | nil, err
function _M.proposal_inputs(t, site)
    local inputs, err = require("lib.site_edit").inputs(site)
    if not inputs then
        return nil, err
    end
    local p = nz_table(t.proposed_inputs) or {}
    inputs.content = nz_table(p.content) or inputs.content
    inputs.dna = nz_table(p.dna) or inputs.dna
    for k, v in pairs(nz_table(p.business) or {}) do
        inputs.business[k] = v
    end
    return inputs
end

local function edited_text(v)
    v = wm.text.utf8_clean(v):gsub("\r\n?", "\n")
    return require("lib.text").trim(v)
end

-- edit(id, values, actor_type, actor_id): staff's own version of an
-- awaiting_approval ticket's proposal. values: the form, field name (from
-- _M.editable) -> new text; fields left out stay. The edited content is
-- checked by the architect's schema (its length limits) and rendered like
-- every site (texts escaped, the html section sanitised, with no links
-- like a customer's: site_edit.clean_fragment), within the renderer's size
-- budget with no section left out and the quality gate's size limit. It
-- becomes a NEW proposal (the old one archived), with what it is rendered
-- from as the ticket's proposed_inputs; the ticket stays awaiting_approval
-- and remembers the edit (edited_by, edited_at), so its approval is
-- resolved_by 'human'. Nothing is written when it is refused.
-- -> ticket row | nil, reason (a sentence for the person editing), kind:
-- "invalid" when the edit itself is refused (nothing changed, over a
-- limit), nil when the request or its site is not as it was. Joins the
-- caller's transaction.
function _M.edit(id, values, actor_type, actor_id)
    local site_edit = require "lib.site_edit"
    local t, site = lock_with_site(id, "awaiting_approval", "the request is not waiting for approval")
    if not t then
        return nil, site
    end
    local err
    if site.version ~= t.base_version then
        return nil, "the live site changed since this was proposed; approving prepares it again on the live version, "
            .. "and that can be edited"
    end
    local inputs
    inputs, err = _M.proposal_inputs(t, site)
    if not inputs then
        return nil, err
    end
    local content = wm.json.decode(wm.json.encode(inputs.content))
    local fields, labels, changed = _M.editable(content), {}, {}
    for _, f in ipairs(fields) do
        labels[f.name] = f.label
        local v = values[f.name]
        if type(v) == "string" then
            v = edited_text(v)
            -- A form sends every field: only what differs is a change.
            if v ~= edited_text(f.value) then
                if f.name:find("%.html$") or f.name == NEW_HTML then
                    v = v ~= "" and site_edit.clean_fragment(v) or ""
                end
                if f.name == NEW_HTML then
                    content.sections[#content.sections + 1] = { kind = "html", html = v }
                else
                    path_set(content, f.name, v)
                end
                changed[#changed + 1] = f.label
            end
        end
    end
    if #changed == 0 then
        return nil, "nothing was changed", "invalid"
    end
    -- An html section emptied (or a new one left empty) is taken out.
    for i = #content.sections, 1, -1 do
        local s = content.sections[i]
        if s.kind == "html" and (s.html or "") == "" then
            table.remove(content.sections, i)
        end
    end
    local ok, why = require("lib.schema").validate(require("agents.architect").schema, content)
    if not ok then
        why = tostring(why):gsub("([%w_.%[%]]+):", function(path) return (labels[path] or path) .. ":" end)
        return nil, "the edit does not fit the page: " .. why, "invalid"
    end
    local edited = { content = content, dna = inputs.dna, brief = inputs.brief, business = inputs.business }
    local html, info = site_edit.render(site, edited)
    if not html then
        return nil, "the edited page is too large (" .. tostring(info) .. "): shorten the texts", "invalid"
    end
    -- The renderer keeps a page within its budget by leaving sections out:
    -- an edit may not lose any the proposal shows.
    local _, before = site_edit.render(site, inputs)
    local was = {}
    for _, kind in ipairs(type(before) == "table" and before.dropped or {}) do
        was[kind] = true
    end
    local lost = {}
    for _, kind in ipairs(info.dropped or {}) do
        if not was[kind] then
            lost[#lost + 1] = kind
        end
    end
    if #lost > 0 then
        return nil, ("the edited page is over its %d-byte budget: the %s section would be left out; shorten the texts")
            :format(require("sites.render").MAX_BYTES, table.concat(lost, ", ")), "invalid"
    end
    local failures = sites.quality_failures { bytes = #html }
    if #failures > 0 then
        return nil, "the edited page fails the quality gate: " .. failures[1], "invalid"
    end
    archive_proposal(t.proposed_site_id, true)
    local proposal
    proposal, err = insert_proposal(site, html, "staff edit of support ticket " .. id)
    if not proposal then
        return nil, err
    end
    local prior = nz_table(t.proposed_inputs) or {}
    local changes = _M.changes(t) or {}
    changes[#changes + 1] = "edited by our staff: " .. table.concat(changed, ", ")
    local row
    row, err = one([[UPDATE support_tickets SET proposed_site_id = $2, proposed_inputs = $3::jsonb,
            ai_changes_made = $4, edited_by = $5, edited_at = now(), updated_at = now()
        WHERE id = $1 RETURNING *]], id, proposal.id,
        { content = content, dna = prior.dna, business = prior.business }, table.concat(changes, "\n"),
        (actor_type == "admin" or actor_type == "user") and actor_id or wm.null)
    if not row then
        return nil, err
    end
    assert(activity.log("ticket.edited", "ticket", id, { proposal = proposal.id, version = proposal.version,
                                                         fields = wm.json.array(changed) }, actor_type, actor_id))
    -- The customer approves what staff made: tell them, once for a run of
    -- edits (the first edit's job, still waiting, stands for the later ones).
    assert(wm.jobs.enqueue("ticket_email", { id = id, kind = "ready", edited = true },
        { unique_key = "ticket_email:edited:" .. id, delay = cfg().edited_email_delay or 120 }))
    return row
end

-- The emails of ticket `t`'s staff: {assignee =, editor = (edited_by),
-- filer = (created_by, when staff filed it)}, each nil when nobody (or the
-- account was removed). -> table | nil, err
function _M.staff(t)
    local function id(v)
        return v ~= nil and v ~= wm.null and v or wm.null
    end
    local filer = t.created_by_type ~= "customer" and id(t.created_by) or wm.null
    local row, err = wm.db.one([[SELECT (SELECT email FROM admin_users WHERE id = $1::uuid) AS assignee,
            (SELECT email FROM admin_users WHERE id = $2::uuid) AS editor,
            (SELECT email FROM admin_users WHERE id = $3::uuid) AS filer]], id(t.assigned_to), id(t.edited_by), filer)
    if not row then
        return nil, err
    end
    return { assignee = row.assignee ~= wm.null and row.assignee or nil,
             editor = row.editor ~= wm.null and row.editor or nil,
             filer = row.filer ~= wm.null and row.filer or nil }
end

-- What happened to request `id`, oldest first, in words, from its activity
-- rows: {at = "YYYY-MM-DD HH:MM", what = sentence, who = "the customer" |
-- a staff email | "WebMagic" (the system's own steps)} | nil, err. The
-- notes are the customer's or staff's words (the caller escapes them).
local HISTORY = {
    ["ticket.opened"] = function() return "Filed" end,
    ["ticket.in_progress"] = function() return "Being read and prepared" end,
    ["ticket.needs_person"] = function(d) return "Handed to a person: " .. tostring(d.reason or "") end,
    ["ticket.proposed"] = function(d) return ("Version %s proposed"):format(tostring(d.version or "?")) end,
    ["ticket.edited"] = function(d)
        local fields = type(d.fields) == "table" and table.concat(d.fields, ", ") or ""
        return ("Proposal edited by staff (version %s): %s"):format(tostring(d.version or "?"), fields)
    end,
    ["ticket.rebuild"] = function(d)
        return ("The site changed (version %s is live, not %s): prepared again"):format(tostring(d.live or "?"),
            tostring(d.base or "?"))
    end,
    ["ticket.email_sent"] = function(d)
        return d.kind == "ready" and "Emailed the customer: ready to review" or "Emailed the customer: received"
    end,
    ["ticket.approved"] = function(d)
        return ("Approved: version %s is live"):format(tostring(d.version or "?")) .. (d.note and (". Note: " .. d.note) or "")
    end,
    ["ticket.rejected"] = function(d) return "Rejected" .. (d.note and (". Note: " .. d.note) or "") end,
    ["ticket.resolved"] = function(d) return "Resolved by hand" .. (d.note and (". Note: " .. d.note) or "") end,
    ["ticket.assigned"] = function(d) return "Assigned to " .. tostring(d.email or "nobody") end,
}

function _M.history(id)
    local rows, err = wm.db.query([[SELECT a.action, a.details, a.actor_type, to_char(a.created_at, 'YYYY-MM-DD HH24:MI') AS at,
            u.email AS staff
        FROM activity_log a LEFT JOIN admin_users u ON a.actor_type IN ('admin', 'user') AND u.id = a.actor_id
        WHERE a.entity_type = 'ticket' AND a.entity_id = $1 ORDER BY a.created_at, a.id]], id)
    if not rows then
        return nil, err
    end
    local out = {}
    for _, r in ipairs(rows) do
        local say = HISTORY[r.action]
        if say then
            local d = type(r.details) == "table" and r.details or {}
            for k, v in pairs(d) do
                if v == wm.null then
                    d[k] = nil
                end
            end
            local who = r.actor_type == "customer" and "the customer"
                or (r.staff ~= wm.null and r.staff)
                or ((r.actor_type == "admin" or r.actor_type == "user") and "staff")
                or "WebMagic"
            out[#out + 1] = { at = r.at, what = say(d), who = who }
        end
    end
    return out
end

-- The staff a request may be assigned to: the active dashboard users.
function _M.assignees()
    return wm.db.query("SELECT id, email FROM admin_users WHERE is_active ORDER BY email")
end

-- assign(id, user_id | nil, actor_type, actor_id): who looks after the
-- request (nil: nobody), an active user. Joins the caller's transaction.
-- -> ticket row | nil, reason
function _M.assign(id, user_id, actor_type, actor_id)
    local t, err = one("SELECT id, assigned_to FROM support_tickets WHERE id = $1 FOR UPDATE", id)
    if not t then
        return nil, err or "there is no such request"
    end
    local email
    if user_id then
        local u
        u, err = one("SELECT id, email FROM admin_users WHERE id = $1 AND is_active", user_id)
        if not u then
            return nil, err or "there is no such active user"
        end
        email = u.email
    end
    local row
    row, err = one("UPDATE support_tickets SET assigned_to = $2, updated_at = now() WHERE id = $1 RETURNING *", id,
        user_id or wm.null)
    if not row then
        return nil, err
    end
    if (t.assigned_to ~= wm.null and t.assigned_to or nil) ~= user_id then
        assert(activity.log("ticket.assigned", "ticket", id, { to = user_id, email = email }, actor_type, actor_id))
    end
    return row
end

-- The page before and the page proposed (or applied), for the before/after
-- view: {before =, after =, before_shot =, after_shot =} (html and
-- screenshot addresses, the latter wm.null when not taken) | nil.
function _M.pages(t)
    if t.proposed_site_id == wm.null or t.base_version == wm.null then
        return nil
    end
    local p = wm.db.one([[SELECT p.html_content AS after, p.screenshot_desktop_url AS after_shot, s.business_id,
            coalesce(s.version, 1) AS version, s.html_content AS before, s.screenshot_desktop_url AS before_shot
        FROM generated_sites p JOIN generated_sites s ON s.id = p.previous_version_id WHERE p.id = $1]],
        t.proposed_site_id)
    if p and p.version ~= t.base_version then
        -- The live row moved on (this or a later ticket): the base is the
        -- archived copy sites.new_version kept of it.
        local b = wm.db.one([[SELECT html_content, screenshot_desktop_url FROM generated_sites
            WHERE business_id = $1 AND status = 'archived' AND version = $2 AND subdomain LIKE '%--v%'
            ORDER BY updated_at DESC LIMIT 1]], p.business_id, t.base_version)
        if b then
            p.before, p.before_shot = b.html_content, b.screenshot_desktop_url
        end
    end
    return p
end

-- What a person reads about a ticket (the portal, the dashboard, the CLI):
-- the sentences of what changes (ai_changes_made, a line each) | nil.
function _M.changes(t)
    if t.ai_changes_made == nil or t.ai_changes_made == wm.null then
        return nil
    end
    local list = {}
    for l in tostring(t.ai_changes_made):gmatch("[^\n]+") do
        list[#list + 1] = l
    end
    return list
end

-- The operations, each as JSON, a written section shown as "(written)".
function _M.shown_operations(t)
    local out = {}
    for i, op in ipairs(t.operations ~= wm.null and t.operations or {}) do
        local copy = {}
        for k, x in pairs(op) do
            copy[k] = k == "section" and "(written)" or x
        end
        out[i] = wm.json.encode(copy)
    end
    return out
end

-- The page's visible text before and after (_M.pages) as lib.textdiff
-- hunks, `context` (1) unchanged lines around each change, and the pages
-- | nil (nothing proposed yet).
function _M.text_diff(t, context)
    local p = _M.pages(t)
    if not p then
        return nil
    end
    local textdiff = require "lib.textdiff"
    local ops = textdiff.diff(textdiff.visible_text(p.before), textdiff.visible_text(p.after))
    return textdiff.hunks(ops, context or 1), p
end

return _M
