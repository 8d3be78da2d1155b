-- /admin/activity: the audit trail (activity_log), filtered by entity type
-- and id, actor (a staff member's email, or webhook / system / customer /
-- user), action (its beginning: "payment." for every payment change) and
-- date, newest or oldest first, keyset-paginated on (created_at, id).
local view = require "web.admin.view"
local listing = require "web.admin.listing"

local PAGE = 100
local KEYS = { "entity_type", "entity_id", "actor", "action", "from", "to", "sort" }
local ACTOR_TYPES = { "admin", "webhook", "system", "customer", "user" }

local TEMPLATE = [[
<form method="get" action="/admin/activity" class="filters">
<label>Entity <select name="entity_type"><option value="">any</option>{{#types}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/types}}</select></label>
<label>Entity id <input type="text" name="entity_id" value="{{f.entity_id}}" placeholder="uuid"></label>
<label>Actor <input type="search" name="actor" value="{{f.actor}}" list="actor-kinds" placeholder="email or webhook, system…"></label>
<datalist id="actor-kinds">{{#actor_types}}<option value="{{.}}">{{/actor_types}}</datalist>
<label>Action <input type="search" name="action" value="{{f.action}}" placeholder="payment."></label>
<label>From <input type="date" name="from" value="{{f.from}}"></label>
<label>To <input type="date" name="to" value="{{f.to}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}">
<button type="submit">Filter</button></form>
{{#bad_id}}<p class="flash err" role="alert">The entity id must be a uuid like 0f8e…-…; it was ignored.</p>{{/bad_id}}
{{^rows}}<p class="empty">{{#filtered}}Nothing matches these filters. <a href="/admin/activity">Show all</a>.{{/filtered}}{{^filtered}}No activity yet. Every change of state (a lead qualified, a site built, an email sent, a payment, a staff action) is recorded here.{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table>]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td class="nowrap">{{at}}</td><td><a href="{{action_href}}"><code>{{action}}</code></a></td>
<td>{{#entity_href}}<a href="{{entity_href}}">{{entity_type}}</a>{{/entity_href}}{{^entity_href}}{{entity_type}}{{/entity_href}}{{#entity_id}} <a class="muted" href="/admin/activity?entity_id={{entity_id}}" title="{{entity_id}}">{{short_id}}</a>{{/entity_id}}</td>
<td><a href="{{actor_href}}">{{actor}}</a></td>
<td>{{#details}}<details><summary>{{summary}}</summary><pre>{{details}}</pre></details>{{/details}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More →</a></p>{{/next}}{{/has_rows}}]]

local SORTS = {
    newest = { after = "($7::timestamp IS NULL OR (a.created_at, a.id) < ($7::timestamp, $8::uuid))",
               order = "a.created_at DESC, a.id DESC" },
    oldest = { after = "($7::timestamp IS NULL OR (a.created_at, a.id) > ($7::timestamp, $8::uuid))",
               order = "a.created_at, a.id" },
}

-- The columns; "When" links to the other order (it is the only sort).
local function columns(sort)
    local other = sort == "newest" and "oldest" or "newest"
    return {
        { label = sort == "newest" and "When ▾" or "When ▴", sort = other }, { label = "Action" }, { label = "Entity" },
        { label = "By" }, { label = "Details" },
    }
end

-- Where an entity has a page of its own.
local PAGES = { business = "/admin/leads/", customer = "/admin/customers/" }

local function compact(details)
    if details == nil or details == wm.null or (type(details) == "table" and next(details) == nil) then
        return nil
    end
    return wm.json.encode(details)
end

wm.route("GET", "/admin/activity", function(req)
    local q = req.query or {}
    local types = {}
    for _, r in ipairs(assert(wm.db.query([[SELECT DISTINCT entity_type FROM activity_log ORDER BY 1 LIMIT 100]]))) do
        types[#types + 1] = r.entity_type
    end
    local raw_id = listing.text(q.entity_id)
    local f = { entity_type = listing.one_of(q.entity_type, types),
                entity_id = raw_id and view.uuid(raw_id:lower()) and raw_id:lower() or nil,
                actor = listing.text(q.actor), action = listing.text(q.action), from = listing.date(q.from),
                to = listing.date(q.to), sort = SORTS[q.sort] and q.sort or "newest" }
    -- The actor is a kind of actor, or a staff member by email.
    local actor_type = listing.one_of(f.actor, ACTOR_TYPES)
    local actor_email = not actor_type and f.actor or nil
    local after_t, after_id = listing.cursor(q.after, "timestamp")
    local s = SORTS[f.sort]
    local rows = assert(wm.db.query(([[SELECT a.id, a.action, a.entity_type, a.entity_id, a.details,
            coalesce(u.email, a.actor_type, 'system') AS actor,
            to_char(a.created_at, 'YYYY-MM-DD HH24:MI:SS') AS at,
            to_char(a.created_at, 'YYYY-MM-DD HH24:MI:SS.US') AS cursor_t
        FROM activity_log a LEFT JOIN admin_users u ON a.actor_type = 'admin' AND u.id = a.actor_id
        WHERE ($1::text IS NULL OR a.entity_type = $1) AND ($2::uuid IS NULL OR a.entity_id = $2)
          AND ($3::text IS NULL OR a.actor_type = $3)
          AND ($4::text IS NULL OR a.actor_id = (SELECT id FROM admin_users WHERE lower(email) = lower($4)))
          AND ($5::text IS NULL OR left(a.action, length($5)) = $5)
          AND ($6::date IS NULL OR a.created_at >= $6::date)
          AND ($9::date IS NULL OR a.created_at < $9::date + 1)
          AND %s
        ORDER BY %s LIMIT $10]]):format(s.after, s.order),
        f.entity_type, f.entity_id, actor_type, actor_email, f.action, f.from, after_t, after_id, f.to, PAGE + 1))
    local next_url = listing.next_page(rows, PAGE, "/admin/activity", f, KEYS, function(r)
        return r.cursor_t .. "|" .. r.id
    end)
    for _, r in ipairs(rows) do
        r.entity_id = view.str(r.entity_id)
        r.short_id = r.entity_id:sub(1, 8)
        r.entity_href = r.entity_id ~= "" and PAGES[r.entity_type] and (PAGES[r.entity_type] .. r.entity_id) or false
        r.action_href = listing.url("/admin/activity", { action = r.action }, { "action" })
        r.actor_href = listing.url("/admin/activity", { actor = r.actor }, { "actor" })
        r.details = compact(r.details) or false
        r.summary = r.details and (r.details:sub(1, 60) .. (#r.details > 60 and "…" or "")) or ""
    end
    local type_opts = {}
    for _, t in ipairs(types) do
        type_opts[#type_opts + 1] = { name = t, selected = t == f.entity_type }
    end
    return view.page(req, "Activity", TEMPLATE, {
        rows = rows, has_rows = #rows > 0, next = next_url, types = type_opts, actor_types = ACTOR_TYPES,
        bad_id = raw_id ~= nil and f.entity_id == nil,
        filtered = (f.entity_type or f.entity_id or f.actor or f.action or f.from or f.to) ~= nil,
        f = { entity_id = f.entity_id or raw_id or "", actor = f.actor or "", action = f.action or "",
              from = f.from or "", to = f.to or "", sort = f.sort },
        head = listing.headers("/admin/activity", f, KEYS, columns(f.sort)) })
end, { role = "viewer" })
