-- /admin/activity: the audit trail (activity_log), filtered by entity type
-- and id, actor (a staff member's email, or webhook / system / customer /
-- user), action (its beginning: "payment." for every payment change) and
-- date, newest or oldest first, keyset-paginated on (created_at, id).
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"

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

-- The list (web.admin.queries.list), on (created_at, id) as migration
-- 016's indexes have it.
local LIST_SPEC = {
    select = [[a.id, a.action, a.entity_type, a.entity_id, a.details,
        coalesce(u.email, a.actor_type, 'system') AS actor, to_char(a.created_at, 'YYYY-MM-DD HH24:MI:SS') AS at]],
    from = "activity_log a LEFT JOIN admin_users u ON a.actor_type = 'admin' AND u.id = a.actor_id",
    id = "a.id", id_type = "uuid",
    filters = {
        entity_type = { "a.entity_type = %s", queries.PARSE.text, "text" },
        entity_id = { "a.entity_id = %s", queries.PARSE.uuid, "uuid" },
        actor_type = { "a.actor_type = %s", queries.PARSE.text, "text" },
        actor_email = { "a.actor_id = (SELECT id FROM admin_users WHERE lower(email) = lower(%s))",
                        queries.PARSE.text, "text" },
        action = { "left(a.action, length(%s)) = %s", queries.PARSE.text, "text" },
        from = { "a.created_at >= %s", queries.PARSE.text, "date" },
        to = { "a.created_at < %s + 1", queries.PARSE.text, "date" },
    },
    sorts = { created = { "a.created_at", "timestamp" } },
}

-- The page's sorts: the list's sort each one asks for.
local SORTS = { newest = "-created", oldest = "created" }

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
    local rows, next_url = listing.page(LIST_SPEC, {
        filters = { entity_type = f.entity_type, entity_id = f.entity_id, actor_type = actor_type,
                    actor_email = actor_email, action = f.action, from = f.from, to = f.to },
        sort = SORTS[f.sort], cursor = q.cursor, limit = PAGE }, "/admin/activity", f, KEYS)
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
