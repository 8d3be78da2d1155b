-- /admin/leads: the businesses, filtered (lead status, city, category,
-- minimum rating, has email, name search) and sorted newest first, keyset-paginated
-- (web.admin.queries, which the JSON API shares); /admin/leads/<id>: one business with its raw place,
-- website evidence, score reasons, LLM calls, sites, campaigns and activity.
local view = require "web.admin.view"
local queries = require "web.admin.queries"
local listing = require "web.admin.listing"

local LIST = [[
<form method="get" action="/admin/leads" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>City <input type="text" name="city" value="{{f.city}}"></label>
<label>Category <input type="text" name="category" value="{{f.category}}"></label>
<label>Min rating <input type="number" name="min_rating" min="0" max="5" step="0.1" value="{{f.min_rating}}"></label>
<label>Name <input type="search" name="q" value="{{f.q}}"></label>
<label class="check"><input type="checkbox" name="email" value="1"{{#f.email}} checked{{/f.email}}> has email</label>
<button type="submit">Filter</button></form>
{{^rows}}<p class="empty">No lead matches. Leads arrive as the autopilot scrapes its grid cells (<code>wm grid ls</code>).</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table class="leads"><thead><tr><th>Name</th><th>City</th><th>Category</th><th class="num">Rating</th><th class="num">Reviews</th><th class="num">Score</th><th>Status</th><th>Email</th></tr></thead><tbody>
{{#rows}}<tr><td><a href="/admin/leads/{{id}}">{{name}}</a></td><td>{{city}}</td><td>{{category}}</td><td class="num">{{rating}}</td><td class="num">{{review_count}}</td><td class="num">{{score}}</td><td><span class="pill {{lead_status}}">{{lead_status}}</span></td><td>{{#email}}yes{{/email}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">Older leads →</a></p>{{/next}}{{/has_rows}}]]

local SHOW = [[
<p><a href="/admin/leads">← Leads</a></p>
<section class="cards">
<div class="card"><div class="label">Status</div><div class="value small">{{b.lead_status}}</div></div>
<div class="card"><div class="label">City</div><div class="value small">{{b.city}}, {{b.state}}</div></div>
<div class="card"><div class="label">Rating</div><div class="value small">{{b.rating}} ({{b.review_count}})</div></div>
<div class="card"><div class="label">Email</div><div class="value small">{{b.email}}</div></div>
</section>
<h2>Score and reasons</h2>{{^reasons}}<p class="empty">Not qualified yet.</p>{{/reasons}}{{#reasons}}<p>Score {{b.qualification_score}}</p><pre>{{reasons}}</pre>{{/reasons}}
<h2>Website evidence</h2>{{^evidence}}<p class="empty">Not checked yet.</p>{{/evidence}}{{#evidence}}<pre>{{evidence}}</pre>{{/evidence}}
<h2>Sites</h2>{{^sites}}<p class="empty">No site yet.</p>{{/sites}}
{{#sites}}<p><a href="/admin/sites/{{id}}">{{subdomain}}</a> · version {{version}}{{#proposal}} · a change request's proposal{{/proposal}} · <span class="pill {{status}}">{{status}}</span> · {{created}}</p>{{/sites}}
<h2>Campaigns</h2>{{^campaigns}}<p class="empty">No campaign yet.</p>{{/campaigns}}
{{#campaigns}}<p>{{subject_line}} · <span class="pill {{status}}">{{status}}</span> · sent {{sent}} · opened {{opened}} · clicked {{clicked}}</p>{{/campaigns}}
<h2>LLM calls</h2>{{^calls}}<p class="empty">None.</p>{{/calls}}
{{#has_calls}}<div class="scroll"><table><thead><tr><th>Agent</th><th>Model</th><th class="num">In</th><th class="num">Out</th><th class="num">Cost $</th><th>OK</th><th>When</th></tr></thead><tbody>
{{#calls}}<tr><td>{{agent}}</td><td>{{model}}</td><td class="num">{{input_tokens}}</td><td class="num">{{output_tokens}}</td><td class="num">{{cost}}</td><td>{{#ok}}yes{{/ok}}{{^ok}}no{{/ok}}</td><td>{{at}}</td></tr>{{/calls}}
</tbody></table></div>{{/has_calls}}
<h2>Activity</h2>{{^activity}}<p class="empty">None.</p>{{/activity}}
{{#activity}}<p><code>{{action}}</code> · {{actor_type}} · {{at}}</p>{{/activity}}
<h2>Raw place</h2><pre>{{raw_place}}</pre>]]

local STATUSES = { "new", "has_website", "no_website", "unverifiable", "qualified", "disqualified" }
local PAGE = 50

local KEYS = { "status", "city", "category", "min_rating", "q", "email" }

wm.route("GET", "/admin/leads", function(req)
    local q = req.query or {}
    local text = listing.text
    local f = { status = text(q.status), city = text(q.city), category = text(q.category), q = text(q.q),
                min_rating = text(q.min_rating), email = q.email == "1" }
    local rows, next_cursor = queries.list("businesses", {
        filters = { status = f.status, city = f.city, industry = f.category, q = f.q, min_rating = f.min_rating,
                    has_email = f.email and "true" or nil },
        cursor = type(q.cursor) == "string" and q.cursor ~= "" and q.cursor or nil, limit = PAGE })
    if not rows then
        -- A stale or edited link: start again from the first page.
        return view.redirect("/admin/leads")
    end
    local next_url = next_cursor and listing.url("/admin/leads", f, KEYS, { { "cursor", next_cursor } })
    for _, r in ipairs(rows) do
        for _, k in ipairs({ "city", "category", "review_count", "score" }) do
            r[k] = view.str(r[k])
        end
        r.rating = type(r.rating) == "number" and ("%.1f"):format(r.rating) or ""
        r.email = r.has_email
    end
    local statuses = {}
    for _, s in ipairs(STATUSES) do
        statuses[#statuses + 1] = { name = s, selected = s == f.status }
    end
    -- The form shows what was asked ("" for a filter left empty).
    local shown = { city = f.city or "", category = f.category or "", min_rating = f.min_rating or "", q = f.q or "",
                    email = f.email }
    return view.page(req, "Leads", LIST, { rows = rows, has_rows = #rows > 0, f = shown, statuses = statuses,
        next = next_url })
end, { role = "viewer" })

local function pretty(v)
    if v == nil or v == wm.null then
        return nil
    end
    return wm.json.encode(v, { pretty = true })
end

wm.route("GET", "/admin/leads/:id", function(req)
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    local b = queries.business(id)
    if not b then
        return view.not_found(req)
    end
    -- Timestamps as the database writes them ("YYYY-MM-DD HH:MI:SS..."),
    -- cut to what a person reads; "–" for none.
    local function at(v, from, to)
        return (type(v) == "string" and v ~= "") and v:sub(from, to) or "–"
    end
    local sites = queries.business_sites(id)
    for _, r in ipairs(sites) do
        r.subdomain, r.status, r.created = view.str(r.subdomain), view.str(r.status), at(r.created_at, 1, 16)
    end
    local campaigns = queries.business_campaigns(id)
    for _, r in ipairs(campaigns) do
        r.subject_line, r.status = view.str(r.subject_line), view.str(r.status)
        r.sent, r.opened, r.clicked = at(r.sent_at, 6, 16), at(r.opened_at, 6, 16), at(r.clicked_at, 6, 16)
    end
    local calls = queries.business_llm_calls(id)
    for _, r in ipairs(calls) do
        r.cost, r.at = ("%.4f"):format(r.cost_micro_usd / 1e6), at(r.created_at, 6, 19)
    end
    local activity = queries.business_activity(id)
    for _, r in ipairs(activity) do
        r.actor_type, r.at = view.str(r.actor_type), at(r.created_at, 1, 19)
    end
    for _, k in ipairs({ "lead_status", "city", "state", "review_count", "email", "qualification_score" }) do
        b[k] = view.str(b[k])
    end
    b.rating = type(b.rating) == "number" and ("%.1f"):format(b.rating) or ""
    return view.page(req, b.name, SHOW, { b = b, reasons = pretty(b.qualification_reasons) or "",
        evidence = pretty(b.website_evidence) or "", raw_place = pretty(b.raw_place) or "–", sites = sites,
        campaigns = campaigns, calls = calls, has_calls = #calls > 0, activity = activity })
end, { role = "viewer" })
