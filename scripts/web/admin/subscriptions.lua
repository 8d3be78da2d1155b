-- /admin/subscriptions: every monthly plan (domain/subscriptions.lua keeps
-- their states from the provider's webhooks), filtered by status and the
-- customer's email, sorted by the end of the current period (the next
-- renewal) or the start, keyset-paginated, with the count and monthly
-- amount of each status over the whole filtered set. Cancelling is on the
-- customer's page (admins).
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"

local PAGE = 50
local STATUSES = { "active", "past_due", "paused", "cancelled" }
local KEYS = { "status", "q", "sort" }

local TEMPLATE = [[
<form method="get" action="/admin/subscriptions" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>Customer email <input type="search" name="q" value="{{f.q}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}">
<button type="submit">Filter</button></form>
{{#has_totals}}<section class="cards">{{#totals}}
<div class="card metric"><div class="label"><span class="pill {{status}}">{{status}}</span></div><div class="value">{{n}}</div><div class="muted">{{monthly}} a month</div></div>{{/totals}}
</section>{{/has_totals}}
{{^rows}}<p class="empty">{{#filtered}}No subscription matches these filters. <a href="/admin/subscriptions">Show all</a>.{{/filtered}}{{^filtered}}No subscriptions yet. One starts when a business pays for its site (the claim link in each outreach email leads to the checkout) and the provider's webhook arrives.{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table>]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td><a href="/admin/customers/{{customer_id}}">{{email}}</a></td><td>{{#subdomain}}<a href="/admin/sites/{{site_id}}">{{subdomain}}</a>{{/subdomain}}{{^subdomain}}–{{/subdomain}}</td>
<td><span class="pill {{status}}">{{status}}</span>{{#past_due}}<br><span class="muted">since {{past_due}}</span>{{/past_due}}</td>
<td class="num">{{amount}}</td><td class="nowrap">{{period_end}}</td><td class="nowrap">{{started}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More subscriptions →</a></p>{{/next}}{{/has_rows}}]]

local LIST_SPEC = {
    select = [[s.id, s.customer_id, c.email, s.site_id, g.subdomain, coalesce(s.status, '') AS status, s.amount_cents,
        s.currency, to_char(s.current_period_end, 'YYYY-MM-DD') AS period_end,
        to_char(coalesce(s.started_at, s.created_at), 'YYYY-MM-DD') AS started,
        to_char(s.past_due_at, 'YYYY-MM-DD') AS past_due]],
    from = [[subscriptions s JOIN customers c ON c.id = s.customer_id
        LEFT JOIN generated_sites g ON g.id = s.site_id]],
    id = "s.id", id_type = "uuid",
    filters = {
        status = { "s.status = %s", queries.PARSE.text, "text" },
        q = { "c.email ILIKE '%%' || %s || '%%'", queries.PARSE.text, "text" },
    },
    sorts = {
        renewal = { "coalesce(s.current_period_end, 'infinity')", "timestamp" },
        started = { "coalesce(s.started_at, s.created_at, '-infinity')", "timestamp" },
    },
}

-- The page's sorts: the next renewal first, or the newest first.
local SORTS = { renewal = "renewal", started = "-started" }

local COLUMNS = {
    { label = "Customer" }, { label = "Site" }, { label = "Status" }, { label = "Monthly", num = true },
    { label = "Period ends", sort = "renewal", asc = true }, { label = "Since", sort = "started" },
}

local options = listing.options

wm.route("GET", "/admin/subscriptions", function(req)
    local q = req.query or {}
    local f = { status = listing.one_of(q.status, STATUSES), q = listing.text(q.q),
                sort = SORTS[q.sort] and q.sort or "renewal" }
    local filters = { status = f.status, q = f.q }
    local rows, next_url = listing.page(LIST_SPEC, { filters = filters, sort = SORTS[f.sort], cursor = q.cursor,
        limit = PAGE }, "/admin/subscriptions", f, KEYS)
    local where, args = assert(queries.where(LIST_SPEC, filters))
    local totals = assert(wm.db.query([[SELECT coalesce(s.status, '') AS status, count(*)::int AS n,
            coalesce(sum(s.amount_cents), 0)::bigint AS monthly, min(coalesce(s.currency, 'GTQ')) AS currency
        FROM ]] .. LIST_SPEC.from .. where .. [[ GROUP BY 1 ORDER BY 2 DESC]], unpack(args, 1, #args)))
    for _, t in ipairs(totals) do
        t.n = view.thousands(t.n)
        t.monthly = view.money(t.monthly) .. " " .. view.str(t.currency)
    end
    for _, r in ipairs(rows) do
        r.amount = r.amount_cents ~= wm.null and (view.money(r.amount_cents) .. " " .. view.str(r.currency)) or "–"
        r.period_end = r.period_end ~= wm.null and r.period_end or "–"
        r.started = r.started ~= wm.null and r.started or "–"
        r.past_due = r.status == "past_due" and r.past_due ~= wm.null and r.past_due or nil
        r.subdomain = r.subdomain ~= wm.null and r.subdomain or nil
    end
    return view.page(req, "Subscriptions", TEMPLATE, {
        rows = rows, has_rows = #rows > 0, next = next_url, totals = totals, has_totals = #totals > 0,
        statuses = options(STATUSES, f.status), filtered = (f.status or f.q) ~= nil,
        f = { q = f.q or "", sort = f.sort },
        head = listing.headers("/admin/subscriptions", f, KEYS, COLUMNS, f.sort) })
end, { role = "viewer" })
