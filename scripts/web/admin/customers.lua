-- /admin/customers: the paying customers (status, subscription, site,
-- lifetime value), filtered and sorted, keyset-paginated;
-- /admin/customers/<id>: one customer with subscriptions, sites, payments
-- and activity. For support (admin and above): a fresh portal sign-in link,
-- cancelling a subscription and refunding a payment, each behind a
-- confirmation page. Cancel and refund ask the payments provider (the same
-- calls as the portal's cancel): the local rows change when the provider's
-- webhook is applied (apply_webhook), one path for every change wherever it
-- was made; the request itself is an activity row with the staff member.
local view = require "web.admin.view"
local listing = require "web.admin.listing"
local queries = require "web.admin.queries"
local activity = require "lib.activity"

local PAGE = 50
local STATUSES = { "active", "past_due", "cancelled", "churned" }
local KEYS = { "status", "q", "sort" }

local LIST = [[
<form method="get" action="/admin/customers" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>Name or email <input type="search" name="q" value="{{f.q}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}">
<button type="submit">Filter</button></form>
{{^rows}}<p class="empty">{{#filtered}}No customer matches these filters. <a href="/admin/customers">Show all</a>.{{/filtered}}{{^filtered}}No customers yet. A customer appears when a business pays for its site: the claim link in each outreach email leads to the checkout.{{/filtered}}</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table>]] .. listing.THEAD .. [[<tbody>
{{#rows}}<tr><td><a href="/admin/customers/{{id}}">{{label}}</a>{{#full_name}}<br><span class="muted">{{email}}</span>{{/full_name}}</td>
<td><span class="pill {{status}}">{{status}}</span></td><td>{{#sub_status}}<span class="pill {{sub_status}}">{{sub_status}}</span> {{amount}}/mo{{/sub_status}}{{^sub_status}}–{{/sub_status}}</td>
<td>{{subdomain}}</td><td class="num">{{ltv}}</td><td>{{since}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<p><a class="button alt" href="{{next}}">More customers →</a></p>{{/next}}{{/has_rows}}]]

local SHOW = [[
<p><a href="/admin/customers">← Customers</a></p>
{{#link}}<div class="card" role="status"><p><strong>Portal sign-in link</strong> (single use, valid {{link_minutes}} minutes; shown once, send it to the customer yourself):</p>
<pre>{{link}}</pre></div>{{/link}}
<section class="cards">
<div class="card"><div class="label">Status</div><div class="value small"><span class="pill {{c.status}}">{{c.status}}</span></div></div>
<div class="card"><div class="label">Lifetime value</div><div class="value small">{{ltv}}</div></div>
<div class="card"><div class="label">Customer since</div><div class="value small">{{c.since}}</div></div>
</section>
<p>{{c.email}}{{#c.phone}} · {{c.phone}}{{/c.phone}} <span class="muted">· {{#c.business_id}}business <a href="/admin/leads/{{c.business_id}}">{{c.business_name}}</a> · {{/c.business_id}}provider id {{c.provider_id}}</span></p>
{{#can_admin}}<form method="post" action="/admin/customers/{{c.id}}/portal-link" class="inline"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="alt">Make a portal sign-in link</button></form>{{/can_admin}}
<h2>Subscriptions</h2>
{{^subs}}<p class="empty">No subscription: this customer paid once, or their subscription event has not arrived yet.</p>{{/subs}}
{{#has_subs}}<div class="scroll"><table><thead><tr><th>Site</th><th>Status</th><th class="num">Monthly</th><th>Period ends</th><th>Since</th><th></th></tr></thead><tbody>
{{#subs}}<tr><td>{{#subdomain}}<a href="{{site_url}}" rel="noopener">{{subdomain}}</a> <span class="pill {{site_status}}">{{site_status}}</span>{{/subdomain}}{{^subdomain}}–{{/subdomain}}</td>
<td><span class="pill {{status}}">{{status}}</span>{{#requested}}<br><span class="muted">cancel asked {{requested}}; waiting for the provider</span>{{/requested}}</td>
<td class="num">{{amount}}</td><td>{{period_end}}</td><td>{{started}}</td>
<td class="actions">{{#cancellable}}<a class="button alt" href="/admin/subscriptions/{{id}}/cancel">Cancel…</a>{{/cancellable}}</td></tr>{{/subs}}
</tbody></table></div>{{/has_subs}}
<h2>Payments</h2>
{{^pays}}<p class="empty">No payment recorded.</p>{{/pays}}
{{#has_pays}}<div class="scroll"><table><thead><tr><th>Paid</th><th>Type</th><th>Status</th><th class="num">Amount</th><th class="num">Fee</th><th class="num">Net</th><th>Card</th><th></th></tr></thead><tbody>
{{#pays}}<tr><td class="nowrap">{{paid_at}}</td><td>{{payment_type}}</td><td><span class="pill {{status}}">{{status}}</span></td><td class="num">{{amount}}</td><td class="num">{{fee}}</td><td class="num">{{net}}</td><td>{{card}}</td>
<td class="actions">{{#refundable}}<a class="button alt" href="/admin/payments/{{id}}/refund">Refund…</a>{{/refundable}}</td></tr>{{/pays}}
</tbody></table></div>{{/has_pays}}
<h2>Activity</h2>
{{^activity}}<p class="empty">None.</p>{{/activity}}
{{#has_activity}}<div class="scroll"><table><thead><tr><th>When</th><th>Action</th><th>By</th></tr></thead><tbody>
{{#activity}}<tr><td class="nowrap">{{at}}</td><td><code>{{action}}</code></td><td>{{actor}}</td></tr>{{/activity}}
</tbody></table></div>
<p><a href="/admin/activity?entity_id={{c.id}}">All activity of this customer →</a></p>{{/has_activity}}]]

local CONFIRM_CANCEL = [[
<div class="card narrow">
<p>Cancel the subscription of <strong>{{s.who}}</strong> ({{s.email}}) for <strong>{{s.site}}</strong>, {{amount}} a month?</p>
<p>The payment provider stops charging them. The site stays up until the paid period ends ({{s.period_end}}), then it is archived. The customer is not emailed by us.</p>
<form method="post" action="/admin/subscriptions/{{s.id}}/cancel"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Cancel the subscription</button> <a class="button alt" href="/admin/customers/{{s.customer_id}}">Keep it</a></form>
</div>]]

local CONFIRM_REFUND = [[
<div class="card narrow">
<p>Refund <strong>{{amount}}</strong> paid on {{p.paid_at}} by <strong>{{p.who}}</strong> ({{p.email}})?</p>
<p>The whole payment goes back to their card through the payment provider. This cannot be undone. Their subscription is not cancelled by a refund.</p>
<form method="post" action="/admin/payments/{{p.id}}/refund"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Refund {{amount}}</button> <a class="button alt" href="/admin/customers/{{p.customer_id}}">Do not refund</a></form>
</div>]]

-- The list (web.admin.queries.list): each customer with their newest
-- subscription and its site (else the customer's own).
local LIST_SPEC = {
    select = [[c.id, coalesce(c.full_name, '') AS full_name, c.email, coalesce(c.status, '') AS status,
        coalesce(c.lifetime_value_cents, 0) AS ltv, coalesce(to_char(c.created_at, 'YYYY-MM-DD'), '') AS since,
        coalesce(s.status, '') AS sub_status, s.amount_cents, s.currency, coalesce(g.subdomain, '') AS subdomain]],
    from = [[customers c
        LEFT JOIN LATERAL (SELECT status, amount_cents, currency, site_id FROM subscriptions
                           WHERE customer_id = c.id ORDER BY created_at DESC LIMIT 1) s ON true
        LEFT JOIN generated_sites g ON g.id = coalesce(s.site_id, c.site_id)]],
    id = "c.id", id_type = "uuid",
    filters = {
        status = { "c.status = %s", queries.PARSE.text, "text" },
        q = { "(c.email ILIKE '%%' || %s || '%%' OR c.full_name ILIKE '%%' || %s || '%%')", queries.PARSE.text,
              "text" },
    },
    sorts = {
        created = { "coalesce(c.created_at, '-infinity')", "timestamp" },
        ltv = { "coalesce(c.lifetime_value_cents, 0)", "int8" },
        email = { "lower(c.email)", "text" },
    },
}

-- The page's sorts: the list's sort each one asks for.
local SORTS = { created = "-created", ltv = "-ltv", email = "email" }

local COLUMNS = {
    { label = "Customer", sort = "email", asc = true }, { label = "Status" }, { label = "Subscription" },
    { label = "Site" }, { label = "Lifetime value", sort = "ltv", num = true }, { label = "Since", sort = "created" },
}

local function money(cents, currency)
    return view.money(cents) .. " " .. view.str(currency ~= wm.null and currency or "GTQ")
end

wm.route("GET", "/admin/customers", function(req)
    local q = req.query or {}
    local f = { status = listing.one_of(q.status, STATUSES), q = listing.text(q.q),
                sort = SORTS[q.sort] and q.sort or "created" }
    local rows, next_url = listing.page(LIST_SPEC, { filters = { status = f.status, q = f.q }, sort = SORTS[f.sort],
        cursor = q.cursor, limit = PAGE }, "/admin/customers", f, KEYS)
    for _, r in ipairs(rows) do
        r.label = r.full_name ~= "" and r.full_name or r.email
        r.ltv = view.money(r.ltv)
        r.amount = r.amount_cents ~= wm.null and money(r.amount_cents, r.currency) or ""
    end
    local statuses = {}
    for _, st in ipairs(STATUSES) do
        statuses[#statuses + 1] = { name = st, selected = st == f.status }
    end
    return view.page(req, "Customers", LIST, { rows = rows, has_rows = #rows > 0, next = next_url,
        statuses = statuses, filtered = (f.status or f.q) ~= nil,
        f = { q = f.q or "", sort = f.sort },
        head = listing.headers("/admin/customers", f, KEYS, COLUMNS, f.sort) })
end, { role = "viewer" })

-- Who did it, as the activity pages show it: the staff member's email, or
-- the kind of actor (webhook, system, customer).
local ACTOR_SQL = [[coalesce(u.email, a.actor_type, 'system')]]

local function show(req, id, extra)
    local c = assert(wm.db.query([[SELECT c.id, c.email, coalesce(c.full_name, '') AS full_name,
            coalesce(c.phone, '') AS phone, coalesce(c.status, '') AS status, coalesce(c.lifetime_value_cents, 0) AS ltv,
            coalesce(to_char(c.created_at, 'YYYY-MM-DD'), '') AS since, coalesce(c.recurrente_user_id, '–') AS provider_id,
            c.business_id, coalesce(b.name, '') AS business_name
        FROM customers c LEFT JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], id))[1]
    if not c then
        return view.not_found(req)
    end
    local subs = assert(wm.db.query([[SELECT s.id, coalesce(s.status, '') AS status, s.amount_cents, s.currency,
            coalesce(to_char(s.current_period_end, 'YYYY-MM-DD'), '–') AS period_end,
            coalesce(to_char(s.started_at, 'YYYY-MM-DD'), '–') AS started,
            coalesce(g.subdomain, '') AS subdomain, coalesce(g.status, '') AS site_status,
            (SELECT to_char(max(a.created_at), 'YYYY-MM-DD HH24:MI') FROM activity_log a
             WHERE a.entity_type = 'subscription' AND a.entity_id = s.id
               AND a.action = 'subscription.cancel_requested') AS requested
        FROM subscriptions s LEFT JOIN generated_sites g ON g.id = s.site_id
        WHERE s.customer_id = $1 ORDER BY s.created_at DESC]], id))
    local pays = assert(wm.db.query([[SELECT id, payment_type, coalesce(status, '') AS status, amount_cents, currency,
            fee_cents, net_cents, coalesce(card_network, '') AS card_network, coalesce(card_last4, '') AS card_last4,
            coalesce(to_char(coalesce(paid_at, created_at), 'YYYY-MM-DD HH24:MI'), '') AS paid_at,
            recurrente_payment_id IS NOT NULL AS has_provider_id
        FROM payments WHERE customer_id = $1 ORDER BY coalesce(paid_at, created_at) DESC, id DESC]], id))
    local can_admin = view.can(req, "admin")
    local ids = { id }
    local sites = require "domain.sites"
    for _, s in ipairs(subs) do
        ids[#ids + 1] = s.id
        s.amount = money(s.amount_cents, s.currency)
        s.site_url = s.subdomain ~= "" and sites.url(s.subdomain) or ""
        s.requested = s.status ~= "cancelled" and view.str(s.requested) or ""
        s.cancellable = can_admin and s.status ~= "cancelled"
    end
    for _, p in ipairs(pays) do
        ids[#ids + 1] = p.id
        p.amount = money(p.amount_cents, p.currency)
        p.fee = p.fee_cents ~= wm.null and view.money(p.fee_cents) or "–"
        p.net = p.net_cents ~= wm.null and view.money(p.net_cents) or "–"
        p.card = p.card_last4 ~= "" and (p.card_network .. " ·" .. p.card_last4) or "–"
        p.refundable = can_admin and p.status == "succeeded" and p.payment_type ~= "refund" and p.has_provider_id
    end
    local act = assert(wm.db.query([[SELECT a.action, ]] .. ACTOR_SQL .. [[ AS actor,
            to_char(a.created_at, 'YYYY-MM-DD HH24:MI:SS') AS at
        FROM activity_log a LEFT JOIN admin_users u ON a.actor_type = 'admin' AND u.id = a.actor_id
        WHERE a.entity_id = ANY($1::uuid[]) ORDER BY a.created_at DESC, a.id DESC LIMIT 50]], wm.db.array(ids)))
    c.business_id = c.business_id ~= wm.null and c.business_id or false
    local ctx = { c = c, ltv = view.money(c.ltv), subs = subs, has_subs = #subs > 0, pays = pays,
                  has_pays = #pays > 0, activity = act, has_activity = #act > 0, can_admin = can_admin,
                  link = false, link_minutes = 15 }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    return view.page(req, c.full_name ~= "" and c.full_name or c.email, SHOW, ctx)
end

wm.route("GET", "/admin/customers/:id", function(req)
    if not view.uuid(req.params.id) then
        return view.not_found(req)
    end
    return show(req, req.params.id)
end, { role = "viewer" })

-- A portal link for support to hand over (a customer who lost their email):
-- shown once in the answer, never stored in clear nor put in a URL.
wm.route("POST", "/admin/customers/:id/portal-link", function(req)
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    local url, err = wm.db.tx(function()
        if not wm.db.run_one("SELECT id FROM customers WHERE id = $1", id) then
            return nil, "gone"
        end
        local u = assert(require("web.portal.account").new_link(id))
        assert(activity.log("customer.portal_link_created", "customer", id, {}, req.actor.type, req.actor.id))
        return u
    end)
    if not url then
        if err == "gone" then
            return view.not_found(req)
        end
        error(err)
    end
    local ttl = tonumber((wm.config.portal or {}).link_ttl) or 900
    return show(req, id, { link = url, link_minutes = math.floor(ttl / 60) })
end, { role = "admin" })

-- ---- cancel a subscription ----

local function subscription(id)
    return wm.db.one([[SELECT s.id, s.customer_id, coalesce(s.status, '') AS status, s.recurrente_subscription_id,
            s.amount_cents, s.currency, coalesce(to_char(s.current_period_end, 'YYYY-MM-DD'), 'now') AS period_end,
            coalesce(nullif(c.full_name, ''), c.email) AS who, c.email, coalesce(g.subdomain, 'no site') AS site
        FROM subscriptions s JOIN customers c ON c.id = s.customer_id
        LEFT JOIN generated_sites g ON g.id = s.site_id WHERE s.id = $1]], id)
end

local function refused(req, title, back, msg, status)
    return view.refused(req, title, back, "Back to the customer", msg, status)
end

-- The payments provider did not `verb` ("cancel", "refund") it (its nil,
-- err, info): logged with `fields`, and a page saying that nothing changed,
-- 503 when the provider says to try again, else 502.
local function provider_refused(req, title, back, verb, fields, provider, err, info)
    fields.provider, fields.error = provider, tostring(err)
    wm.log.warn("admin: " .. verb .. " not accepted by the provider", fields)
    local retry = type(info) == "table" and info.retryable
    return refused(req, title, back, ("The payment provider did not %s it, so nothing changed%s: %s"):format(verb,
        retry and "; try again in a minute" or "", tostring(err)), retry and 503 or 502)
end

wm.route("GET", "/admin/subscriptions/:id/cancel", function(req)
    local s = view.uuid(req.params.id) and subscription(req.params.id)
    if not s then
        return view.not_found(req)
    end
    if s.status == "cancelled" then
        return refused(req, "Cancel a subscription", "/admin/customers/" .. s.customer_id,
            "This subscription is already cancelled.", 409)
    end
    return view.page(req, "Cancel a subscription", CONFIRM_CANCEL, { s = s, amount = money(s.amount_cents, s.currency) })
end, { role = "admin" })

wm.route("POST", "/admin/subscriptions/:id/cancel", function(req)
    local s = view.uuid(req.params.id) and subscription(req.params.id)
    if not s then
        return view.not_found(req)
    end
    local back = "/admin/customers/" .. s.customer_id
    if s.status == "cancelled" then
        return refused(req, "Cancel a subscription", back, "This subscription is already cancelled.", 409)
    end
    if s.recurrente_subscription_id == wm.null then
        return refused(req, "Cancel a subscription", back,
            "This subscription has no id at the payment provider; cancel it in the provider's dashboard.", 409)
    end
    local provider, name = require("lib.providers").get("payments")
    local ok, err, info = provider.cancel_subscription(s.recurrente_subscription_id)
    if not ok then
        return provider_refused(req, "Cancel a subscription", back, "cancel", { subscription = s.id }, name, err, info)
    end
    assert(activity.log("subscription.cancel_requested", "subscription", s.id, { provider = name },
        req.actor.type, req.actor.id))
    return view.redirect(back, "cancel_requested")
end, { role = "admin" })

-- ---- refund a payment ----

local function payment(id)
    return wm.db.one([[SELECT p.id, p.customer_id, coalesce(p.status, '') AS status, p.payment_type,
            p.recurrente_payment_id, p.amount_cents, p.currency,
            coalesce(to_char(coalesce(p.paid_at, p.created_at), 'YYYY-MM-DD'), '') AS paid_at,
            coalesce(nullif(c.full_name, ''), c.email) AS who, c.email
        FROM payments p JOIN customers c ON c.id = p.customer_id WHERE p.id = $1]], id)
end

-- Why a payment cannot be refunded, or nil.
local function not_refundable(p)
    if p.payment_type == "refund" then
        return "This row is itself a refund."
    elseif p.status ~= "succeeded" then
        return "Only a succeeded payment can be refunded; this one is " .. p.status .. "."
    elseif p.recurrente_payment_id == wm.null then
        return "This payment has no id at the payment provider; refund it in the provider's dashboard."
    end
    return nil
end

wm.route("GET", "/admin/payments/:id/refund", function(req)
    local p = view.uuid(req.params.id) and payment(req.params.id)
    if not p then
        return view.not_found(req)
    end
    local why = not_refundable(p)
    if why then
        return refused(req, "Refund a payment", "/admin/customers/" .. p.customer_id, why, 409)
    end
    return view.page(req, "Refund a payment", CONFIRM_REFUND, { p = p, amount = money(p.amount_cents, p.currency) })
end, { role = "admin" })

wm.route("POST", "/admin/payments/:id/refund", function(req)
    local p = view.uuid(req.params.id) and payment(req.params.id)
    if not p then
        return view.not_found(req)
    end
    local back = "/admin/customers/" .. p.customer_id
    local why = not_refundable(p)
    if why then
        return refused(req, "Refund a payment", back, why, 409)
    end
    local provider, name = require("lib.providers").get("payments")
    local res, err, info = provider.refund(p.recurrente_payment_id)
    if not res then
        return provider_refused(req, "Refund a payment", back, "refund", { payment = p.id }, name, err, info)
    end
    assert(activity.log("payment.refund_requested", "payment", p.id, { provider = name,
        refund_id = type(res.id) == "string" and res.id or nil, amount_cents = p.amount_cents },
        req.actor.type, req.actor.id))
    return view.redirect(back, "refund_requested")
end, { role = "admin" })
