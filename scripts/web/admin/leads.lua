-- /admin/leads: the businesses, filtered (lead status, city, category,
-- minimum rating, minimum score, has email, name search) and sorted by a
-- column (newest first unless asked: ?sort=score ascending, ?sort=-score
-- descending; the sorts web.admin.queries' businesses list has),
-- keyset-paginated (web.admin.queries, which the JSON API shares; a cursor
-- belongs to its sort); /admin/leads/<id>: one business with its raw place,
-- website evidence, score reasons, every agent's output, LLM calls, sites,
-- campaigns, their tracking events and the replies they received, and activity.
local view = require "web.admin.view"
local queries = require "web.admin.queries"
local listing = require "web.admin.listing"

local LIST = [[
<form method="get" action="/admin/leads" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>City <input type="text" name="city" value="{{f.city}}"></label>
<label>Category <input type="text" name="category" value="{{f.category}}"></label>
<label>Min rating <input type="number" name="min_rating" min="0" max="5" step="0.1" value="{{f.min_rating}}"></label>
<label>Min score <input type="number" name="min_score" min="0" max="100" step="1" value="{{f.min_score}}"></label>
<label>Name <input type="search" name="q" value="{{f.q}}"></label>
<label class="check"><input type="checkbox" name="email" value="1"{{#f.email}} checked{{/f.email}}> has email</label>
{{#f.sorted}}<input type="hidden" name="sort" value="{{f.sort}}">{{/f.sorted}}
<button type="submit">Filter</button></form>
{{^rows}}<p class="empty">{{#filtered}}No lead matches these filters. <a href="/admin/leads">Show all leads</a>.{{/filtered}}{{^filtered}}No leads yet. Leads arrive as the autopilot scrapes its grid cells (<code>wm grid ls</code>).{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table class="leads">]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td><a href="/admin/leads/{{id}}">{{name}}</a></td><td>{{city}}</td><td>{{category}}</td><td class="num">{{rating}}</td><td class="num">{{review_count}}</td><td class="num">{{score}}</td><td><span class="pill {{lead_status}}">{{lead_status}}</span></td><td>{{#email}}yes{{/email}}</td><td class="nowrap">{{added}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More leads →</a></p>{{/next}}{{/has_rows}}]]

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
<h2>Agent outputs</h2>{{^outputs}}<p class="empty">No agent has worked on this business yet.</p>{{/outputs}}
{{#outputs}}<details class="output"><summary><code>{{agent}}</code> · {{at}}</summary><pre>{{json}}</pre>{{#cut}}<p class="muted">Shown up to its first {{cut}} bytes.</p>{{/cut}}</details>{{/outputs}}
<h2>Sites</h2>{{^sites}}<p class="empty">No site yet.</p>{{/sites}}
{{#sites}}<p><a href="/admin/sites/{{id}}">{{subdomain}}</a> · version {{version}}{{#proposal}} · a change request's proposal{{/proposal}} · <span class="pill {{status}}">{{status}}</span> · {{created}}</p>{{/sites}}
<h2>Campaigns</h2>{{^campaigns}}<p class="empty">No campaign yet.</p>{{/campaigns}}
{{#campaigns}}<p>{{subject_line}} · <span class="pill {{status}}">{{status}}</span> · sent {{sent}} · opened {{opened}} · clicked {{clicked}}</p>{{/campaigns}}
<h2>Tracking events</h2>{{^events}}<p class="empty">No open, click or unsubscribe recorded for this business's emails.</p>{{/events}}
{{#has_events}}<div class="scroll"><table><thead><tr><th>When</th><th>Event</th><th>Link</th><th>User agent</th></tr></thead><tbody>
{{#events}}<tr><td class="nowrap">{{at}}</td><td><span class="pill {{kind}}">{{kind}}</span></td><td class="err">{{url}}</td><td class="err">{{user_agent}}</td></tr>{{/events}}
</tbody></table></div>{{#events_capped}}<p class="muted">The newest 100 events.</p>{{/events_capped}}{{/has_events}}
<h2>Replies</h2>{{^replies}}<p class="empty">No reply received to this business's emails.</p>{{/replies}}
{{#has_replies}}<div class="scroll"><table><thead><tr><th>Received</th><th>Kind</th><th>From</th><th>Subject</th><th>Text</th></tr></thead><tbody>
{{#replies}}<tr><td class="nowrap">{{at}}</td><td><span class="pill {{kind}}">{{kind}}</span></td><td>{{from}}</td><td>{{subject}}<br><span class="muted">to: {{campaign}}</span></td>
<td class="reply">{{^text}}<span class="muted">(no text)</span>{{/text}}{{#text}}<div class="reply-text">{{short}}{{#cut}}…{{/cut}}</div>{{#cut}}<details><summary>Full text</summary><pre>{{text}}</pre></details>{{/cut}}{{/text}}</td></tr>{{/replies}}
</tbody></table></div>{{/has_replies}}
<h2>LLM calls</h2>{{^calls}}<p class="empty">None.</p>{{/calls}}
{{#has_calls}}<div class="scroll"><table><thead><tr><th>Agent</th><th>Model</th><th class="num">In</th><th class="num">Out</th><th class="num">Cost $</th><th>OK</th><th>When</th></tr></thead><tbody>
{{#calls}}<tr><td>{{agent}}</td><td>{{model}}</td><td class="num">{{input_tokens}}</td><td class="num">{{output_tokens}}</td><td class="num">{{cost}}</td><td>{{#ok}}yes{{/ok}}{{^ok}}no{{/ok}}</td><td>{{at}}</td></tr>{{/calls}}
</tbody></table></div>{{/has_calls}}
<h2>Activity</h2>{{^activity}}<p class="empty">None.</p>{{/activity}}
{{#activity}}<p><code>{{action}}</code> · {{actor_type}} · {{at}}</p>{{/activity}}
<h2>Raw place</h2><pre>{{raw_place}}</pre>]]

local STATUSES = { "new", "has_website", "no_website", "unverifiable", "qualified", "disqualified" }
local PAGE = 50

local KEYS = { "status", "city", "category", "min_rating", "min_score", "q", "email", "sort" }

-- The sorts the page offers (web.admin.queries' businesses list has them)
-- and the direction a column sorts in when first clicked: names A to Z,
-- the rest highest (newest) first.
local FIRST = { name = "", rating = "-", score = "-", reviews = "-", created = "-" }
local DEFAULT_SORT = "-created"

local COLUMNS = {
    { label = "Name", sort = "name" }, { label = "City" }, { label = "Category" },
    { label = "Rating", sort = "rating", num = true }, { label = "Reviews", sort = "reviews", num = true },
    { label = "Score", sort = "score", num = true }, { label = "Status" }, { label = "Email" },
    { label = "Added", sort = "created" },
}

-- "score", "-score" when it names one of the sorts, else nil.
local function sort_of(v)
    local desc, name = (type(v) == "string" and v or ""):match("^(%-?)(%a+)$")
    return name and FIRST[name] and (desc .. name) or nil
end

-- A finite number's text, else nil (what a number input may send).
local function number(v)
    v = listing.text(v)
    local n = v and tonumber(v)
    return (n and n == n and n ~= math.huge and n ~= -math.huge) and v or nil
end

-- The header cells (listing.THEAD): a sortable column links to its first
-- direction, the current one to the other direction; links keep the
-- filters and start from the first page.
local function head(f, sort)
    local desc, current = sort:match("^(%-?)(%a+)$")
    local out = {}
    for _, c in ipairs(COLUMNS) do
        local h = { label = c.label, num = c.num or false, current = false, href = false,
                    dir = desc == "-" and "descending" or "ascending", arrow = desc == "-" and "▾" or "▴" }
        if c.sort then
            local g = {}
            for k, v in pairs(f) do
                g[k] = v
            end
            if c.sort == current then
                h.current = true
                g.sort = (desc == "-" and "" or "-") .. c.sort
            else
                g.sort = FIRST[c.sort] .. c.sort
            end
            h.href = listing.url("/admin/leads", g, KEYS)
        end
        out[#out + 1] = h
    end
    return out
end

wm.route("GET", "/admin/leads", function(req)
    local q = req.query or {}
    local text = listing.text
    local f = { status = text(q.status), city = text(q.city), category = text(q.category), q = text(q.q),
                min_rating = number(q.min_rating), min_score = number(q.min_score), email = q.email == "1",
                sort = sort_of(q.sort) }
    local sort = f.sort or DEFAULT_SORT
    local params = {
        filters = { status = f.status, city = f.city, industry = f.category, q = f.q, min_rating = f.min_rating,
                    min_score = f.min_score, has_email = f.email and "true" or nil },
        sort = sort, cursor = type(q.cursor) == "string" and q.cursor ~= "" and q.cursor or nil, limit = PAGE }
    local rows, next_cursor = queries.list("businesses", params)
    if not rows and next_cursor == "bad_cursor" then
        -- A stale or edited link (or one of another sort): its first page.
        params.cursor = nil
        rows, next_cursor = queries.list("businesses", params)
    end
    if not rows then
        return view.redirect("/admin/leads")
    end
    local next_url = next_cursor and listing.url("/admin/leads", f, KEYS, { { "cursor", next_cursor } })
    for _, r in ipairs(rows) do
        for _, k in ipairs({ "city", "category", "review_count", "score" }) do
            r[k] = view.str(r[k])
        end
        r.rating = type(r.rating) == "number" and ("%.1f"):format(r.rating) or ""
        r.email = r.has_email
        r.added = view.str(r.created_at):sub(1, 10)
    end
    local statuses = {}
    for _, s in ipairs(STATUSES) do
        statuses[#statuses + 1] = { name = s, selected = s == f.status }
    end
    -- The form shows what was asked ("" for a filter left empty).
    local shown = { city = f.city or "", category = f.category or "", min_rating = f.min_rating or "",
                    min_score = f.min_score or "", q = f.q or "", email = f.email, sort = f.sort or "",
                    sorted = f.sort ~= nil }
    local filtered = (f.status or f.city or f.category or f.q or f.min_rating or f.min_score) ~= nil or f.email
    return view.page(req, "Leads", LIST, { rows = rows, has_rows = #rows > 0, f = shown, statuses = statuses,
        next = next_url, filtered = filtered, head = head(f, sort) })
end, { role = "viewer" })

local function pretty(v)
    if v == nil or v == wm.null then
        return nil
    end
    return wm.json.encode(v, { pretty = true })
end

-- At most `n` bytes of `s`, not cutting a UTF-8 character, and whether it was cut.
local function cut(s, n)
    if #s <= n then
        return s, false
    end
    local i = n
    -- Back off the continuation bytes of a character the cut would split.
    while i > 0 and s:byte(i + 1) and s:byte(i + 1) >= 0x80 and s:byte(i + 1) < 0xC0 do
        i = i - 1
    end
    return s:sub(1, i), true
end

local OUTPUT_MAX = 100000
local REPLY_SHORT = 280

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
    local outputs = queries.business_agent_outputs(id)
    for _, r in ipairs(outputs) do
        local json, was_cut = cut(pretty(r.output) or "null", OUTPUT_MAX)
        r.agent, r.at, r.json, r.cut = view.str(r.agent), at(r.created_at, 1, 16), json, was_cut and OUTPUT_MAX
    end
    local events = queries.business_tracking_events(id)
    for _, r in ipairs(events) do
        r.kind, r.url, r.user_agent, r.at = view.str(r.kind), view.str(r.url), view.str(r.user_agent),
            at(r.created_at, 1, 19)
    end
    local replies = queries.business_replies(id)
    for _, r in ipairs(replies) do
        r.kind, r.from, r.subject, r.campaign = view.str(r.kind), view.str(r.from_email), view.str(r.subject),
            view.str(r.campaign_subject)
        r.text, r.at = view.str(r.body_text), at(r.received_at, 1, 16)
        r.short, r.cut = cut(r.text, REPLY_SHORT)
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
        campaigns = campaigns, calls = calls, has_calls = #calls > 0, activity = activity, outputs = outputs,
        events = events, has_events = #events > 0, events_capped = #events >= 100, replies = replies,
        has_replies = #replies > 0 })
end, { role = "viewer" })
