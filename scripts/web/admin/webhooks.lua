-- /admin/webhooks: the payment provider's webhook deliveries as stored by
-- POST /hooks/recurrente (status, type, attempts, error), filtered and
-- keyset-paginated on id; /admin/webhooks/<id>: one event with its raw body
-- (shown as text), error and times. Replay (admin and above) is
-- domain.webhook_events.replay, the function behind `wm hooks replay`: a
-- failed or pending event is applied again, an applied one is left alone.
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"

local PAGE = 50
local STATUSES = { "received", "pending", "applied", "ignored", "failed" }
local KEYS = { "status", "type", "q", "sort" }

local LIST = [[
<form method="get" action="/admin/webhooks" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>Type <select name="type"><option value="">any</option>{{#types}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/types}}</select></label>
<label>Event id <input type="search" name="q" value="{{f.q}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}">
<button type="submit">Filter</button></form>
{{#has_counts}}<p class="muted">{{#counts}}<a href="/admin/webhooks?status={{status}}"><span class="pill {{status}}">{{status}} {{n}}</span></a> {{/counts}}</p>{{/has_counts}}
{{^rows}}<p class="empty">{{#filtered}}No event matches these filters. <a href="/admin/webhooks">Show all</a>.{{/filtered}}{{^filtered}}No webhook events yet. Point the payment provider's webhook at <code>{{hook_url}}</code> (with the offline provider, paying a checkout sends them).{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table>]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td><a href="/admin/webhooks/{{id}}">#{{id}}</a></td><td class="nowrap">{{received_at}}</td><td><code>{{event_type}}</code></td>
<td><span class="pill {{status}}">{{status}}</span></td><td class="num">{{attempts}}</td><td class="err">{{error}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More events →</a></p>{{/next}}{{/has_rows}}]]

local SHOW = [[
<p><a href="/admin/webhooks">← Webhook events</a></p>
<section class="cards">
<div class="card"><div class="label">Status</div><div class="value small"><span class="pill {{e.status}}">{{e.status}}</span></div></div>
<div class="card"><div class="label">Received</div><div class="value small">{{e.received_at}}</div></div>
<div class="card"><div class="label">Processed</div><div class="value small">{{e.processed_at}}</div></div>
<div class="card"><div class="label">Attempts</div><div class="value small">{{e.attempts}}</div></div>
</section>
<p><code>{{e.event_type}}</code> <span class="muted">from {{e.provider}}, event <code>{{e.event_id}}</code></span>{{#e.waiting_for}} · waiting for <code>{{e.waiting_for}}</code>{{/e.waiting_for}}</p>
{{#e.error}}<h2>Error</h2><pre>{{e.error}}</pre>{{/e.error}}
{{#can_replay}}<form method="post" action="/admin/webhooks/{{e.id}}/replay"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" data-confirm="Apply this event again?">Replay</button> <span class="muted">applies a failed or pending event again; an applied event is never applied twice</span></form>{{/can_replay}}
<h2>Body <small class="muted">as received</small></h2><pre>{{e.body}}</pre>
{{#pretty}}<details><summary>Formatted</summary><pre>{{pretty}}</pre></details>{{/pretty}}]]

-- The list (web.admin.queries.list), in the order received (id).
local LIST_SPEC = {
    select = [[id, event_type, status, attempts, to_char(received_at, 'YYYY-MM-DD HH24:MI:SS') AS received_at,
        left(regexp_replace(coalesce(error, ''), '\s+', ' ', 'g'), 120) AS error]],
    from = "webhook_events",
    id = "id", id_type = "int8",
    filters = {
        status = { "status = %s", queries.PARSE.text, "text" },
        type = { "event_type = %s", queries.PARSE.text, "text" },
        q = { "event_id = %s", queries.PARSE.text, "text" },
    },
    sorts = { id = { "id", "int8" } },
}

-- The page's sorts: the list's sort each one asks for.
local SORTS = { newest = "-id", oldest = "id" }

local COLUMNS = {
    { label = "Event", sort = "newest" }, { label = "Received", sort = "oldest", asc = true }, { label = "Type" },
    { label = "Status" }, { label = "Tries", num = true }, { label = "Error" },
}

local options = listing.options

wm.route("GET", "/admin/webhooks", function(req)
    local q = req.query or {}
    local types = {}
    for _, r in ipairs(assert(wm.db.query([[SELECT DISTINCT event_type FROM webhook_events
        WHERE event_type IS NOT NULL ORDER BY 1 LIMIT 100]]))) do
        types[#types + 1] = r.event_type
    end
    local f = { status = listing.one_of(q.status, STATUSES), type = listing.one_of(q.type, types),
                q = listing.text(q.q), sort = SORTS[q.sort] and q.sort or "newest" }
    local rows, next_url = listing.page(LIST_SPEC, { filters = { status = f.status, type = f.type, q = f.q },
        sort = SORTS[f.sort], cursor = q.cursor, limit = PAGE }, "/admin/webhooks", f, KEYS)
    for _, r in ipairs(rows) do
        r.event_type = view.str(r.event_type)
    end
    local counts = assert(wm.db.query([[SELECT status, count(*)::int AS n FROM webhook_events
        GROUP BY 1 ORDER BY 1]]))
    local base = (((wm.config.sites or {}).base_url or ""):gsub("/+$", ""))
    return view.page(req, "Webhook events", LIST, {
        rows = rows, has_rows = #rows > 0, next = next_url, counts = counts, has_counts = #counts > 0,
        statuses = options(STATUSES, f.status), types = options(types, f.type),
        filtered = (f.status or f.type or f.q) ~= nil, hook_url = base .. "/hooks/recurrente",
        f = { q = f.q or "", sort = f.sort },
        head = listing.headers("/admin/webhooks", f, KEYS, COLUMNS, f.sort) })
end, { role = "viewer" })

-- The body re-indented when it is JSON (keys in the decoder's order, so the
-- page shows the raw body too), else nil.
local function formatted(body)
    local doc = wm.json.decode(body)
    if type(doc) == "table" then
        return wm.json.encode(doc, { pretty = true })
    end
    return nil
end

local function id_of(req)
    local id = req.params.id
    return type(id) == "string" and id:match("^%d+$") and #id <= 18 and tonumber(id) or nil
end

wm.route("GET", "/admin/webhooks/:id", function(req)
    local id = id_of(req)
    local e = id and assert(wm.db.query([[SELECT id, provider, event_id, coalesce(event_type, '') AS event_type,
            status, coalesce(error, '') AS error, attempts, coalesce(waiting_for, '') AS waiting_for, body,
            to_char(received_at, 'YYYY-MM-DD HH24:MI:SS') AS received_at,
            coalesce(to_char(processed_at, 'YYYY-MM-DD HH24:MI:SS'), '–') AS processed_at
        FROM webhook_events WHERE id = $1]], id))[1]
    if not e then
        return view.not_found(req)
    end
    return view.page(req, "Webhook event #" .. e.id, SHOW, { e = e, pretty = formatted(e.body) or false,
        can_replay = view.can(req, "admin") and (e.status == "failed" or e.status == "pending") })
end, { role = "viewer" })

wm.route("POST", "/admin/webhooks/:id/replay", function(req)
    local id = id_of(req)
    if not id then
        return view.not_found(req)
    end
    local res, err = require("domain.webhook_events").replay(id, req.actor)
    if not res then
        if tostring(err):find("^no webhook event") then
            return view.not_found(req)
        end
        error(err)
    end
    return view.redirect("/admin/webhooks/" .. id, res == "enqueued" and "replayed" or "replay_noop")
end, { role = "admin" })
