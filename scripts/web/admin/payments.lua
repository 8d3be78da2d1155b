-- /admin/payments: every payment and refund recorded from the provider's
-- webhooks, filtered by status, type and date (paid, else recorded), with
-- the totals of the whole filtered set per currency, sorted by date or
-- amount and keyset-paginated. Refunds are made from the customer's page.
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"

local PAGE = 50
local STATUSES = { "pending", "succeeded", "failed", "refunded" }
local TYPES = { "subscription", "one_time", "refund" }
local KEYS = { "status", "type", "from", "to", "q", "sort" }

local TEMPLATE = [[
<form method="get" action="/admin/payments" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>Type <select name="type"><option value="">any</option>{{#types}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/types}}</select></label>
<label>From <input type="date" name="from" value="{{f.from}}"></label>
<label>To <input type="date" name="to" value="{{f.to}}"></label>
<label>Customer email <input type="search" name="q" value="{{f.q}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}">
<button type="submit">Filter</button></form>
{{#has_totals}}<section class="cards">{{#totals}}
<div class="card metric"><div class="label">Payments ({{currency}})</div><div class="value">{{n}}</div></div>
<div class="card metric"><div class="label">Received</div><div class="value">{{received}}</div></div>
<div class="card metric"><div class="label">Refunded</div><div class="value">{{refunded}}</div></div>
<div class="card metric"><div class="label">Fees</div><div class="value">{{fees}}</div></div>
<div class="card metric"><div class="label">Net</div><div class="value">{{net}}</div></div>{{/totals}}
</section>{{/has_totals}}
{{^rows}}<p class="empty">{{#filtered}}No payment matches these filters. <a href="/admin/payments">Show all</a>.{{/filtered}}{{^filtered}}No payments yet. They are recorded when the payment provider's webhooks arrive at <code>/hooks/recurrente</code> (see Webhooks).{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table>]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td class="nowrap">{{at}}</td><td><a href="/admin/customers/{{customer_id}}">{{email}}</a></td><td>{{payment_type}}</td>
<td><span class="pill {{status}}">{{status}}</span></td><td class="num">{{amount}}</td><td class="num">{{fee}}</td><td class="num">{{net}}</td><td>{{card}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More payments →</a></p>{{/next}}{{/has_rows}}]]

local WHEN = "coalesce(p.paid_at, p.created_at)"

-- The list (web.admin.queries.list); its filters are also the totals'.
local LIST_SPEC = {
    select = [[p.id, p.customer_id, c.email, p.payment_type, coalesce(p.status, '') AS status, p.amount_cents,
        p.currency, p.fee_cents, p.net_cents, coalesce(p.card_network, '') AS card_network,
        coalesce(p.card_last4, '') AS card_last4, to_char(]] .. WHEN .. [[, 'YYYY-MM-DD HH24:MI') AS at]],
    from = "payments p JOIN customers c ON c.id = p.customer_id",
    id = "p.id", id_type = "uuid",
    filters = {
        status = { "p.status = %s", queries.PARSE.text, "text" },
        type = { "p.payment_type = %s", queries.PARSE.text, "text" },
        from = { WHEN .. " >= %s", queries.PARSE.text, "date" },
        to = { WHEN .. " < %s + 1", queries.PARSE.text, "date" },
        q = { "c.email ILIKE '%%' || %s || '%%'", queries.PARSE.text, "text" },
    },
    sorts = {
        date = { "coalesce(p.paid_at, p.created_at, '-infinity')", "timestamp" },
        amount = { "p.amount_cents", "int8" },
    },
}

-- The page's sorts: the list's sort each one asks for.
local SORTS = { date = "-date", amount = "-amount" }

local COLUMNS = {
    { label = "When", sort = "date" }, { label = "Customer" }, { label = "Type" }, { label = "Status" },
    { label = "Amount", sort = "amount", num = true }, { label = "Fee", num = true }, { label = "Net", num = true },
    { label = "Card" },
}

local options = listing.options

wm.route("GET", "/admin/payments", function(req)
    local q = req.query or {}
    local f = { status = listing.one_of(q.status, STATUSES), type = listing.one_of(q.type, TYPES),
                from = listing.date(q.from), to = listing.date(q.to), q = listing.text(q.q),
                sort = SORTS[q.sort] and q.sort or "date" }
    local filters = { status = f.status, type = f.type, from = f.from, to = f.to, q = f.q }
    local rows, next_url = listing.page(LIST_SPEC, { filters = filters, sort = SORTS[f.sort], cursor = q.cursor,
        limit = PAGE }, "/admin/payments", f, KEYS)
    local where, args = assert(queries.where(LIST_SPEC, filters))
    local totals = assert(wm.db.query([[SELECT coalesce(p.currency, 'GTQ') AS currency, count(*)::int AS n,
            coalesce(sum(p.amount_cents) FILTER (WHERE p.payment_type <> 'refund' AND p.status IN ('succeeded', 'refunded')), 0)::bigint AS received,
            coalesce(-sum(p.amount_cents) FILTER (WHERE p.payment_type = 'refund'), 0)::bigint AS refunded,
            coalesce(sum(p.fee_cents) FILTER (WHERE p.status IN ('succeeded', 'refunded')), 0)::bigint AS fees,
            coalesce(sum(coalesce(p.net_cents, p.amount_cents - coalesce(p.fee_cents, 0)))
                FILTER (WHERE p.status IN ('succeeded', 'refunded')), 0)::bigint AS net
        FROM ]] .. LIST_SPEC.from .. where .. [[ GROUP BY 1 ORDER BY 2 DESC]], unpack(args, 1, #args)))
    for _, t in ipairs(totals) do
        t.n = view.thousands(t.n)
        for _, k in ipairs({ "received", "refunded", "fees", "net" }) do
            t[k] = view.money(t[k])
        end
    end
    for _, r in ipairs(rows) do
        r.amount = view.money(r.amount_cents) .. " " .. view.str(r.currency)
        r.fee = r.fee_cents ~= wm.null and view.money(r.fee_cents) or "–"
        r.net = r.net_cents ~= wm.null and view.money(r.net_cents) or "–"
        r.card = r.card_last4 ~= "" and (r.card_network .. " ·" .. r.card_last4) or "–"
        r.at = view.str(r.at)
    end
    return view.page(req, "Payments", TEMPLATE, {
        rows = rows, has_rows = #rows > 0, next = next_url, totals = totals, has_totals = #totals > 0,
        statuses = options(STATUSES, f.status), types = options(TYPES, f.type),
        filtered = (f.status or f.type or f.from or f.to or f.q) ~= nil,
        f = { from = f.from or "", to = f.to or "", q = f.q or "", sort = f.sort },
        head = listing.headers("/admin/payments", f, KEYS, COLUMNS, f.sort) })
end, { role = "viewer" })
