-- /admin/sites: the generated sites, filtered by status and name, with
-- their screenshot thumbnails (a neutral placeholder until the screenshot
-- stage took one); /admin/sites/<id>: the site in a sandboxed iframe, its
-- versions with a diff of the visible text between a version and the one
-- before it, regenerate, archive and restoring an earlier version
-- (editors, domain.sites), the quality gate's record (its verdict, failures,
-- Lighthouse, load time, screenshots) with releasing a held site to outreach
-- (editors, domain.sites.release), and filing a change request for a live
-- site's customer (editors, domain.tickets).
-- /admin/sites/<id>/html serves a version's stored page to that iframe
-- with a CSP of its own (no script, sandboxed, framed only by the dashboard).
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"
local sites = require "domain.sites"
local textdiff = require "lib.textdiff"
local tickets = require "domain.tickets"
local text = require "lib.text"

local LIST = [[
<form method="get" action="/admin/sites" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>Business <input type="search" name="q" value="{{f.q}}"></label>
<button type="submit">Filter</button></form>
{{^rows}}<p class="empty">{{#filtered}}No site matches these filters. <a href="/admin/sites">Show all</a>.{{/filtered}}{{^filtered}}No sites yet. The architect builds one for each qualified lead; <code>wm jobs ls</code> shows where the pipeline is.{{/filtered}}</p>{{/rows}}
{{#has_rows}}<ul class="site-grid">
{{#rows}}<li class="card"><a href="/admin/sites/{{id}}" class="thumb">{{#thumb}}<img src="{{thumb}}" alt="Screenshot of {{name}}" width="320" height="200" loading="lazy">{{/thumb}}{{^thumb}}<svg viewBox="0 0 320 200" width="100%" role="img" aria-label="No screenshot yet"><rect width="320" height="200" fill="#f1f5f9"/><rect x="24" y="24" width="272" height="22" rx="4" fill="#e2e8f0"/><rect x="24" y="62" width="180" height="12" rx="3" fill="#e2e8f0"/><rect x="24" y="84" width="220" height="12" rx="3" fill="#e2e8f0"/><rect x="24" y="124" width="120" height="52" rx="4" fill="#e2e8f0"/><rect x="156" y="124" width="140" height="52" rx="4" fill="#e2e8f0"/><text x="160" y="114" text-anchor="middle" font-size="13" fill="#94a3b8">no screenshot yet</text></svg>{{/thumb}}</a>
<div><a href="/admin/sites/{{id}}"><strong>{{name}}</strong></a><br><span class="muted">{{subdomain}} · v{{version}}</span> <span class="pill {{status}}">{{status}}</span>{{#paused}} <span class="pill failed">paused</span>{{/paused}}<br><small class="muted">{{city}} · {{created}}</small></div></li>{{/rows}}
</ul>
{{#next}}<p><a class="button alt" href="{{next}}">Older sites →</a></p>{{/next}}{{/has_rows}}]]

local SHOW = [[
<p><a href="/admin/sites">← Sites</a> · <a href="/admin/leads/{{s.business_id}}">the business</a>{{#public_url}} · <a href="{{public_url}}" rel="noopener">open the site</a>{{/public_url}}</p>
<section class="cards">
<div class="card"><div class="label">Status</div><div class="value small"><span class="pill {{s.status}}">{{s.status}}</span>{{#s.paused}} (page paused){{/s.paused}}</div></div>
<div class="card"><div class="label">Version</div><div class="value small">{{s.version}} of {{latest}}</div></div>
<div class="card"><div class="label">Size</div><div class="value small">{{size}}</div></div>
<div class="card"><div class="label">Built</div><div class="value small">{{s.created}}</div></div>
</section>
{{#can_edit}}<div class="actions">{{#regenerable}}<form method="post" action="/admin/sites/{{s.id}}/regenerate"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" data-confirm="Build this site again with the architect? The current version is kept.">Regenerate</button></form>{{/regenerable}}
{{#archivable}} <form method="post" action="/admin/sites/{{s.id}}/archive"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="alt" data-confirm="Archive this site? It will no longer be served.">Archive</button></form>{{/archivable}}</div>{{/can_edit}}
{{#filing}}<details class="edit"{{#open}} open{{/open}}><summary>File a change request for {{customer}}</summary>
<p class="muted">What the customer asked for by phone or email, in their words: it is read, built and checked like a request from the portal, and waits for their approval there (or yours, on the request's page).</p>
<form method="post" action="/admin/sites/{{s.id}}/request"><input type="hidden" name="csrf" value="{{csrf}}">
<p><label>What to change<br><textarea name="text" rows="4" cols="80" maxlength="5000" required>{{typed}}</textarea></label></p>
<button type="submit">File the request</button></form></details>{{/filing}}
<h2>Quality</h2>
{{^q.checked}}<p class="empty">Not checked yet: the quality gate judges this page once its screenshot is taken.</p>{{/q.checked}}
{{#q.checked}}<p>{{q.state}}</p>
<section class="cards">
<div class="card"><div class="label">Gate</div><div class="value small"><span class="pill {{s.status}}">{{s.status}}</span></div></div>
<div class="card"><div class="label">Builds judged</div><div class="value small">{{q.attempts}}</div></div>
<div class="card"><div class="label">Checked</div><div class="value small">{{q.checked_at}}</div></div>
<div class="card"><div class="label">Lighthouse</div><div class="value small">{{q.lighthouse}}{{#q.categories}}<br><small class="muted">{{q.categories}}</small>{{/q.categories}}</div></div>
<div class="card"><div class="label">Load time</div><div class="value small">{{q.load}}</div></div>
</section>
{{#q.has_failures}}<p class="muted">What the gate found:</p><ul class="failures">{{#q.failures}}<li>{{.}}</li>{{/q.failures}}</ul>{{/q.has_failures}}{{/q.checked}}
{{#q.has_shots}}<p class="shots">{{#q.desktop}}<a href="{{q.desktop}}"><img src="{{q.desktop_img}}" alt="Desktop screenshot" width="160" height="100" loading="lazy"></a> {{/q.desktop}}{{#q.mobile}}<a href="{{q.mobile}}"><img src="{{q.mobile}}" alt="Mobile screenshot" width="46" height="100" loading="lazy"></a>{{/q.mobile}}</p>{{/q.has_shots}}
{{#releasable}}<form method="post" action="/admin/sites/{{s.id}}/release"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" data-confirm="Release this site to outreach over the gate's reasons? It becomes a preview and may be emailed.">Release to outreach</button></form>{{/releasable}}
<iframe class="site-frame" sandbox="" src="/admin/sites/{{s.id}}/html" title="The site, version {{s.version}}" loading="lazy"></iframe>
{{#proposal}}<p class="note">This is a change request's proposed page{{#proposal_ticket}} (<a href="/admin/tickets/{{proposal_ticket}}">the ticket</a>){{/proposal_ticket}}: it is never served; approving the request makes it the site's next version.</p>{{/proposal}}
<h2>Versions</h2>
<div class="scroll"><table><thead><tr><th>Version</th><th>What</th><th>Built</th><th class="num">Size</th><th></th></tr></thead><tbody>
{{#versions}}<tr{{#current}} aria-current="true"{{/current}}><td>v{{version}}{{#serving}} (served){{/serving}}{{^serving}}{{#current}} (shown){{/current}}{{/serving}}</td><td>{{what}}{{#by}} <span class="muted">by {{by}}</span>{{/by}}{{#ticket_id}}<br><small><a href="/admin/tickets/{{ticket_id}}">ticket</a>: {{request}}</small>{{/ticket_id}}{{#has_changes}}<ul class="changes">{{#changes}}<li>{{.}}</li>{{/changes}}</ul>{{/has_changes}}</td><td>{{created}}</td><td class="num">{{size}}</td><td>{{^current}}<a href="/admin/sites/{{id}}">show</a>{{/current}}{{#restorable}} <form method="post" action="/admin/sites/{{head}}/rollback"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}"><button type="submit" class="alt" data-confirm="Serve version {{version}} again? It becomes a new version on top; the current one is kept.">Restore this version</button></form>{{/restorable}}</td></tr>{{/versions}}
</tbody></table></div>
{{#has_proposals}}<h2>Proposed by change requests</h2>
<div class="scroll"><table><thead><tr><th>Proposal</th><th>Request</th><th>Built</th><th></th></tr></thead><tbody>
{{#proposals}}<tr{{#current}} aria-current="true"{{/current}}><td>v{{version}}{{#current}} (shown){{/current}}</td><td>{{#ticket_id}}<a href="/admin/tickets/{{ticket_id}}">{{request}}</a>{{/ticket_id}}{{^ticket_id}}{{request}}{{/ticket_id}}</td><td>{{created}}</td><td>{{^current}}<a href="/admin/sites/{{id}}">show</a>{{/current}}</td></tr>{{/proposals}}
</tbody></table></div>{{/has_proposals}}
<h2>What changed{{#prev}} <small>v{{prev.version}} → v{{s.version}}, visible text</small>{{/prev}}</h2>
{{^prev}}<p class="empty">This is the first version: there is nothing earlier to compare with. Regenerate to make a new one.</p>{{/prev}}
{{#prev}}{{^hunks}}<p class="empty">The visible text is the same as in v{{prev.version}} (the design may differ).</p>{{/hunks}}
{{#has_hunks}}<p class="muted">{{stats.added}} lines added, {{stats.removed}} removed.</p>
{{#hunks}}<pre class="diff">{{#lines}}<span class="{{cls}}">{{mark}} {{text}}</span>{{/lines}}</pre>{{/hunks}}{{/has_hunks}}{{/prev}}]]

local STATUSES = { "draft", "held", "preview", "live", "archived", "sold" }
local PAGE = 48

-- The list (web.admin.queries.list): the newest version of each business's
-- site (older ones are on its page), newest first.
local LIST_SPEC = {
    select = [[s.id, s.subdomain, s.version, coalesce(s.status, '') AS status, s.paused_at IS NOT NULL AS paused,
        s.screenshot_desktop_url, b.name, coalesce(b.city, '') AS city,
        to_char(s.created_at, 'YYYY-MM-DD HH24:MI') AS created]],
    from = "generated_sites s JOIN businesses b ON b.id = s.business_id",
    where = "NOT s.proposal AND NOT EXISTS (SELECT 1 FROM generated_sites n WHERE n.previous_version_id = s.id AND NOT n.proposal)",
    id = "s.id", id_type = "uuid",
    filters = {
        status = { "s.status = %s", queries.PARSE.text, "text" },
        q = { "b.name ILIKE '%%' || %s || '%%'", queries.PARSE.text, "text" },
    },
    sorts = { created = { "coalesce(s.created_at, '-infinity')", "timestamp" } },
}

-- A screenshot URL the dashboard's CSP lets it show (img-src 'self'), or
-- nil: not shown.
local thumb = sites.screenshot_path

local function kb(n)
    return ("%.1f KB"):format((tonumber(n) or 0) / 1024)
end

wm.route("GET", "/admin/sites", function(req)
    local q = req.query or {}
    local f = { status = listing.text(q.status), q = listing.text(q.q) }
    local rows, next_url = listing.page(LIST_SPEC, { filters = f, sort = "-created", cursor = q.cursor, limit = PAGE },
        "/admin/sites", f, { "status", "q" })
    for _, r in ipairs(rows) do
        r.thumb = thumb(r.screenshot_desktop_url)
    end
    local statuses = {}
    for _, s in ipairs(STATUSES) do
        statuses[#statuses + 1] = { name = s, selected = s == f.status }
    end
    return view.page(req, "Sites", LIST, { rows = rows, has_rows = #rows > 0, next = next_url, statuses = statuses,
        filtered = (f.status or f.q) and true or nil, f = { q = f.q or "" } })
end, { role = "viewer" })

local function load(id)
    if not view.uuid(id) then
        return nil
    end
    return assert(wm.db.query([[SELECT s.id, s.business_id, s.subdomain, s.version, coalesce(s.status, '') AS status,
            s.paused_at IS NOT NULL AS paused, s.previous_version_id, s.html_content, b.name, s.proposal,
            (SELECT t.id FROM support_tickets t WHERE t.proposed_site_id = s.id LIMIT 1) AS ticket_id,
            to_char(s.created_at, 'YYYY-MM-DD HH24:MI') AS created
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id WHERE s.id = $1]], id))[1]
end

local WHAT = { ["site.generated"] = "first build", ["site.version"] = "new version",
               ["site.rolled_back"] = "restored v%d" }

-- For the page of row `s`: the versions of the site it belongs to (the row
-- its address serves, found forward from an archived copy or back from a
-- proposal), newest first, with what made each and who
-- (domain.sites.versions), and the change requests' proposals waiting for it.
local function history(s, req)
    local top = assert(wm.db.query([[WITH RECURSIVE up AS (
            SELECT id, status, 0 AS depth FROM generated_sites WHERE id = $1 AND NOT proposal
            UNION ALL
            SELECT n.id, n.status, up.depth + 1 FROM generated_sites n JOIN up ON n.previous_version_id = up.id
            WHERE NOT n.proposal AND up.depth < 10000)
        SELECT id, status FROM up ORDER BY depth DESC LIMIT 1]],
        s.proposal and s.previous_version_id or s.id))[1] or { id = s.id, status = s.status }
    local head = top.id
    local editable = view.can(req, "editor") and top.status ~= "archived"
    local versions = {}
    for i, v in ipairs(assert(sites.versions(head))) do
        local what = v.action ~= wm.null and WHAT[v.action] or "—"
        if v.action == "site.rolled_back" then
            what = what:format(v.restored)
        end
        local changes = tickets.changes { ai_changes_made = v.changes } or {}
        versions[i] = {
            id = v.id, head = head, version = v.version, created = v.created_at, size = kb(v.bytes),
            serving = v.current, current = v.id == s.id, what = what,
            by = v.actor ~= wm.null and v.actor or (v.actor_type ~= wm.null and v.actor_type) or nil,
            ticket_id = v.ticket_id ~= wm.null and v.ticket_id or nil,
            request = v.request ~= wm.null and text.clip(text.squish(v.request), 200, "…") or nil,
            changes = changes, has_changes = #changes > 0,
            restorable = editable and not v.current or nil,
        }
    end
    local proposals = assert(wm.db.query([[SELECT g.id, g.version, to_char(g.created_at, 'YYYY-MM-DD HH24:MI') AS created,
            t.id AS ticket_id, left(t.request_text, 400) AS request
        FROM generated_sites g LEFT JOIN support_tickets t ON t.proposed_site_id = g.id
        WHERE g.previous_version_id = $1 AND g.proposal AND g.status = 'proposed'
        ORDER BY g.created_at DESC]], head))
    for _, p in ipairs(proposals) do
        p.current = p.id == s.id
        p.request = p.request ~= wm.null and text.clip(text.squish(p.request), 200, "…") or "(no ticket)"
        p.ticket_id = p.ticket_id ~= wm.null and p.ticket_id or nil
    end
    return versions, proposals
end

-- The quality gate's record of row `s` (domain.sites.judge) for its page:
-- the verdict in words, the builds judged, when, the failures (sentences,
-- shown as text), Lighthouse (the lowest category, and the four of the
-- latest recorded run, lighthouse_runs), the load time and the screenshots
-- the dashboard's CSP lets it show (sites.screenshot_path).
local CATEGORIES = { { "performance", "Performance" }, { "accessibility", "Accessibility" },
                     { "best_practices", "Best practices" }, { "seo", "SEO" } }

local function quality(s)
    local r = assert(wm.db.query([[SELECT quality_attempts, quality_failures, lighthouse_score, load_time_ms,
            screenshot_desktop_url, screenshot_mobile_url, screenshot_thumb_url,
            to_char(quality_checked_at, 'YYYY-MM-DD HH24:MI') AS checked_at
        FROM generated_sites WHERE id = $1]], s.id))[1]
    local run = assert(wm.db.query([[SELECT performance, accessibility, best_practices, seo FROM lighthouse_runs
        WHERE site_id = $1 AND score IS NOT NULL ORDER BY created_at DESC LIMIT 1]], s.id))[1]
    local failures = {}
    if type(r.quality_failures) == "table" then
        for _, f in ipairs(r.quality_failures) do
            failures[#failures + 1] = tostring(f)
        end
    end
    local n = #failures
    local state
    if s.status == "held" then
        state = ("Held for review: the gate failed it on %d build%s. It is not emailed until an editor releases it.")
            :format(r.quality_attempts, r.quality_attempts == 1 and "" or "s")
    elseif s.status == "draft" then
        state = n > 0 and "A draft the gate failed: the architect builds it again with these reasons."
            or "A draft: waiting for the gate."
    elseif s.status == "preview" then
        state = n > 0 and "Released to outreach by a person over the gate's reasons below: it may be emailed."
            or "Passed the gate: it may be emailed."
    elseif s.status == "live" or s.status == "sold" then
        state = n > 0 and "Live: the latest check found the problems below (a live site is never taken down for them)."
            or "Live: the latest check passed."
    else
        state = ("The gate's latest check (the site is %s now)."):format(s.status)
    end
    local cats
    if run then
        local parts = {}
        for _, c in ipairs(CATEGORIES) do
            local v = run[c[1]]
            parts[#parts + 1] = ("%s %s"):format(c[2], v ~= wm.null and tostring(v) or "–")
        end
        cats = table.concat(parts, " · ")
    end
    local desktop = thumb(r.screenshot_desktop_url)
    local mobile = thumb(r.screenshot_mobile_url)
    return {
        checked = r.checked_at ~= wm.null or nil, checked_at = view.str(r.checked_at), state = state,
        attempts = r.quality_attempts, failures = failures, has_failures = n > 0 or nil,
        lighthouse = r.lighthouse_score ~= wm.null and tostring(r.lighthouse_score) or "not run",
        categories = cats,
        load = r.load_time_ms ~= wm.null and (view.thousands(r.load_time_ms) .. " ms") or "–",
        desktop = desktop, desktop_img = thumb(r.screenshot_thumb_url) or desktop, mobile = mobile,
        has_shots = (desktop or mobile) and true or nil,
    }
end

-- The customer a live site's change request would be filed for (the newest
-- subscription's, as domain.tickets.create picks it), or nil.
local function customer_of(s)
    if s.status ~= "live" and s.status ~= "sold" then
        return nil
    end
    local c = assert(wm.db.query([[SELECT coalesce(c.email, c.id::text) AS who FROM subscriptions sub
        JOIN customers c ON c.id = sub.customer_id WHERE sub.site_id = $1 ORDER BY sub.created_at DESC LIMIT 1]], s.id))[1]
    return c and c.who
end

-- The site's page; refused = {error=, typed=, status=} shows a refused
-- change request again with what was typed.
local function show(req, s, refused)
    local versions, proposals = history(s, req)
    local latest = versions[1] and versions[1].version or s.version
    local prev, hunks, stats
    if s.previous_version_id ~= wm.null then
        prev = assert(wm.db.query("SELECT id, version, html_content FROM generated_sites WHERE id = $1",
            s.previous_version_id))[1]
    end
    if prev then
        local ops
        ops, stats = textdiff.diff(textdiff.visible_text(prev.html_content), textdiff.visible_text(s.html_content))
        hunks = {}
        for _, h in ipairs(textdiff.hunks(ops, 2)) do
            local lines = {}
            for _, o in ipairs(h) do
                lines[#lines + 1] = { text = o.text, mark = o.op == "=" and " " or o.op,
                                      cls = o.op == "+" and "add" or o.op == "-" and "del" or "same" }
            end
            hunks[#hunks + 1] = { lines = lines }
        end
        prev.html_content = nil
    end
    local can_edit = view.can(req, "editor")
    local customer = can_edit and not s.proposal and customer_of(s)
    local live = s.status == "preview" or s.status == "live" or s.status == "sold"
    -- The page frames its own /html route: frame-src 'self' on top of the layout's CSP.
    local csp = view.CSP .. "; frame-src 'self'"
    return view.page(req, s.name, SHOW, {
        s = s, latest = latest, size = kb(#s.html_content), versions = versions, prev = prev,
        proposals = proposals, has_proposals = #proposals > 0,
        proposal = s.proposal or nil, proposal_ticket = s.proposal and s.ticket_id ~= wm.null and s.ticket_id or nil,
        hunks = hunks, has_hunks = hunks and #hunks > 0, stats = stats,
        public_url = live and sites.url(s.subdomain) or nil,
        can_edit = can_edit, regenerable = s.status ~= "archived" and not s.proposal,
        archivable = s.status ~= "archived" and not s.proposal,
        q = quality(s), releasable = can_edit and s.status == "held" or nil,
        filing = customer and { customer = customer, open = refused ~= nil, typed = refused and refused.typed or "" }
            or nil,
        error = refused and refused.error or nil,
    }, refused and refused.status or 200, { ["Content-Security-Policy"] = csp })
end

wm.route("GET", "/admin/sites/:id", function(req)
    local s = load(req.params.id)
    if not s then
        return view.not_found(req)
    end
    return show(req, s)
end, { role = "viewer" })

-- POST /admin/sites/:id/request: staff file a change request for the
-- site's customer (domain.tickets.create, as the portal does; no daily
-- limit for staff). A refusal shows the page again with the text as typed.
local REFUSED = { invalid = 422 }

wm.route("POST", "/admin/sites/:id/request", function(req)
    local s = load(req.params.id)
    if not s then
        return view.not_found(req)
    end
    local form = view.form(req)
    local actor = req.actor or {}
    local out, err = wm.db.tx(function()
        local row, why, kind = tickets.create { site_id = s.id, text = form.text, actor_type = actor.type or "admin",
                                                actor_id = actor.id }
        return { row = row, why = why, kind = kind }
    end)
    if not out then
        error(err, 0)
    end
    if not out.row then
        if out.kind == nil then
            error(out.why, 0)
        end
        local typed = type(form.text) == "string" and text.clip(form.text, 5000) or ""
        return show(req, s, { error = "Not filed: " .. tostring(out.why), typed = typed,
                              status = REFUSED[out.kind] or 409 })
    end
    return view.redirect("/admin/tickets/" .. out.row.id, "ticket_filed")
end, { role = "editor" })

-- The stored page, for the dashboard's iframe only: no script runs
-- (sandbox, script-src absent), only this origin may frame it.
local FRAME_CSP = require("sites.render").csp():gsub("frame%-ancestors 'none'", "frame-ancestors 'self'")
    .. "; sandbox"

wm.route("GET", "/admin/sites/:id/html", function(req)
    local s = load(req.params.id)
    if not s then
        return view.not_found(req)
    end
    return { status = 200, body = s.html_content, headers = {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Security-Policy"] = FRAME_CSP,
        ["X-Frame-Options"] = "SAMEORIGIN",
        ["X-Content-Type-Options"] = "nosniff",
        ["Cache-Control"] = "no-store",
        ["Referrer-Policy"] = "no-referrer",
    } }
end, { role = "viewer" })

-- POST /admin/sites/:id/<action>: one domain.sites function in a
-- transaction, then back to the site.
local function action(flash, call)
    return view.action { title = "Sites", flash = flash, call = call, label = "Back to the site",
                         back = function(id) return "/admin/sites/" .. id end }
end

wm.route("POST", "/admin/sites/:id/regenerate", action("site_regenerating", function(id, _, actor)
    return sites.regenerate(id, actor)
end), { role = "editor" })
wm.route("POST", "/admin/sites/:id/archive", action("site_archived", function(id, _, actor)
    return sites.archive_by_operator(id, actor)
end), { role = "editor" })
-- A held site goes to preview (and may be emailed) when an editor decides
-- over the gate's reasons (domain.sites.release); a site not held: 409.
wm.route("POST", "/admin/sites/:id/release", action(nil, function(id, _, actor)
    return sites.release(id, actor and actor.type, actor and actor.id)
end), { role = "editor" })
wm.route("POST", "/admin/sites/:id/rollback", action("site_rolled_back", function(id, form, actor)
    return sites.rollback(id, form.version, actor and actor.type, actor and actor.id)
end), { role = "editor" })
