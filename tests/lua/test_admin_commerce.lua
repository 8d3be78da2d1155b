-- The dashboard's selling pages (customers, payments, webhook events,
-- activity) against a wm HTTP server and job scheduler in this process, with
-- the offline payments provider: customers buy preview sites through the
-- offline checkout (claim page -> /pay -> Svix-signed webhooks to
-- /hooks/recurrente -> apply_webhook), then staff look and act.
--
-- Covered: each page lists what was bought, with filters, totals and keyset
-- pages; hostile customer data shows as text; a viewer sees no edit control
-- and is refused (403, nothing changed) on cancel, refund, replay and the
-- portal link; an admin's cancel, refund and replay go through the provider
-- and the webhook path, leaving the rows the webhooks make and activity rows
-- naming the admin; CSRF missing or wrong -> 403.
local T = {}

local web = dofile(wm.root .. "/tests/lib/web.lua")

local HOSTILE = "<img src=x onerror=alert(1)>"
local PASSWORD = "correct horse battery"

local port
local accounts

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local function setup(t)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    t.config("providers", { payments = "offline", mail = "outbox" })
    t.config("recurrente", { webhook_secret = "" })
    t.config("commerce", { offline_hooks_url = "", setup_fee_cents = 0, monthly_price_cents = 80000, currency = "GTQ" })
    t.config("portal", { link_ttl = 900, session_idle = 3600, session_max = 43200, resend_interval = 300 })
    t.config("admin", { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 50,
                        login_delay = 1, login_delay_max = 900 })
    t.config("jobs", { backoff_base = 0.05 })
    t.config("autopilot", { enabled = false })
    port = web.serve(t, { worker = true })
    accounts = web.accounts(PASSWORD)
end

local function settled(t)
    t.wait_for("jobs to settle", function()
        return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running', 'retryable')
            OR (status = 'scheduled' AND run_at < now() + interval '2 seconds')]]) == 0
    end, 30)
end

-- A staff session: the cookie's token and the CSRF token the pages carry.
local function login(t, role)
    local token, csrf = web.admin_login(t, port, role, PASSWORD, "/admin/customers")
    return { token = token, csrf = csrf }
end

local n = 0
-- A preview site bought through the offline checkout by `name`.
local function buy(t, name)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'generated') RETURNING id]], "gmb-adm-" .. n, "Shop " .. n,
        "owner" .. n .. "@example.com")
    local sub, token = "shop-adm-" .. n, "claimadm" .. n
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, '<!DOCTYPE html><title>x</title>', 'preview', $3) RETURNING id]], b.id, sub, token)
    one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status)
        VALUES ($1, $2, 's', 'b', $3, 'sent') RETURNING id]], b.id, s.id, "owner" .. n .. "@example.com")
    local host = sub .. ".localhost:" .. port
    local page = web.request(port, "/claim/" .. token, { host = host })
    t.eq(page.status, 200)
    local res = web.request(port, "/claim/" .. token, { host = host,
        form = { csrf = web.field(page.body, "csrf"), kind = web.field(page.body, "kind") } })
    t.eq(res.status, 303)
    local pay = res.headers.location:match("(/pay/ch_[%w_]+)$")
    local csrf = web.field(web.request(port, pay).body, "csrf")
    local email = "buyer" .. n .. "@example.com"
    res = web.request(port, pay, { form = { csrf = csrf, action = "pay", email = email, full_name = name } })
    t.eq(res.status, 303, "paid")
    settled(t)
    local c = one("SELECT id FROM customers WHERE email = $1", email)
    return { customer_id = c.id, email = email, subdomain = sub,
             subscription_id = one("SELECT id FROM subscriptions WHERE customer_id = $1", c.id).id,
             payment_id = one("SELECT id FROM payments WHERE customer_id = $1", c.id).id }
end

-- What the mutations may change, to compare before and after a refusal.
local function snapshot()
    return {
        subs = assert(wm.db.query("SELECT id, status FROM subscriptions ORDER BY id")),
        pays = assert(wm.db.query("SELECT id, status FROM payments ORDER BY id")),
        events = assert(wm.db.query("SELECT id, status FROM webhook_events ORDER BY id")),
        links = count("SELECT count(*)::int AS n FROM portal_links"),
        activity = count("SELECT count(*)::int AS n FROM activity_log WHERE action NOT LIKE 'admin_user.log%'"),
    }
end

local function last_activity(action)
    return wm.db.one([[SELECT actor_type, actor_id, entity_id, details FROM activity_log WHERE action = $1
        ORDER BY created_at DESC LIMIT 1]], action)
end

function T.pages_list_what_was_bought_and_show_hostile_data_as_text(t)
    setup(t)
    local s = login(t, "viewer")
    -- Empty states say what to do.
    t.match(web.request(port, "/admin/customers", { admin = s.token }).body, "No customers yet")
    t.match(web.request(port, "/admin/payments", { admin = s.token }).body, "No payments yet")
    t.match(web.request(port, "/admin/subscriptions", { admin = s.token }).body, "No subscriptions yet")
    t.match(web.request(port, "/admin/webhooks", { admin = s.token }).body, "/hooks/recurrente")
    local a = buy(t, HOSTILE)
    local b = buy(t, "Ana </script><script>alert(2)</script>")
    for _, path in ipairs({ "/admin/customers", "/admin/customers/" .. a.customer_id, "/admin/customers/" .. b.customer_id,
                            "/admin/payments", "/admin/subscriptions", "/admin/webhooks", "/admin/activity" }) do
        local res = web.request(port, path, { admin = s.token })
        t.eq(res.status, 200, path)
        t.match(res.headers["content-security-policy"], "default%-src 'none'")
        t.ok(not res.body:find("<img src=x", 1, true), "no raw tag on " .. path)
        t.ok(not res.body:find("<script>alert", 1, true), "no raw script on " .. path)
        -- A viewer finds no edit control: the only POST form is logout.
        local posts = {}
        for action in res.body:gmatch('<form method="post" action="([^"]+)"') do
            posts[#posts + 1] = action
        end
        t.eq(posts, { "/admin/logout" }, "viewer's forms on " .. path)
    end
    local list = web.request(port, "/admin/customers", { admin = s.token }).body
    t.ok(list:find("&lt;img src=x onerror=alert(1)&gt;", 1, true), "escaped name")
    t.ok(list:find(a.subdomain, 1, true) and list:find(b.subdomain, 1, true), "sites listed")
    -- Filters: by status and by a name fragment.
    t.no_match(web.request(port, "/admin/customers?status=churned", { admin = s.token }).body, a.email)
    local found = web.request(port, "/admin/customers?q=Ana", { admin = s.token }).body
    t.ok(found:find(b.email, 1, true) and not found:find(a.email, 1, true), "q filters by name")
    -- Payments: totals over the filter, and the type filter.
    local pays = web.request(port, "/admin/payments?status=succeeded", { admin = s.token }).body
    t.ok(pays:find("1,600.00", 1, true), "received total of two Q800 payments")
    t.no_match(web.request(port, "/admin/payments?type=refund", { admin = s.token }).body, a.email)
    -- Forged filters and cursors are ignored (the first page), not errors.
    local function forged(sort, key, id)
        return wm.crypto.b64url_encode(wm.json.encode { s = sort, k = key, i = id })
    end
    for _, path in ipairs({ "/admin/payments?from=2000-13-99&sort=x';--",
                            "/admin/payments?cursor=" .. forged("-date", "2000-99-99 00:00:00.1", a.payment_id),
                            "/admin/payments?cursor=not-a-cursor!",
                            "/admin/customers?sort=ltv&cursor=" .. forged("-ltv", "99999999999999999999", a.customer_id),
                            "/admin/customers?sort=ltv&cursor=" .. forged("-created", "2026-01-01 00:00:00", a.customer_id),
                            "/admin/activity?cursor=" .. forged("-created", "2026-01-01 25:00:00.0", a.customer_id),
                            "/admin/webhooks?cursor=" .. forged("-id", "99999999999999999999999", "1") }) do
        local res = web.request(port, path, { admin = s.token })
        t.eq(res.status, 200, path)
        t.ok(res.body:find("<tbody>", 1, true), "the first page's rows: " .. path)
    end
    -- Webhook detail: the raw body, escaped (it carries the hostile name).
    local ev = one([[SELECT id FROM webhook_events WHERE body LIKE '%' || $1 || '%' AND status = 'applied'
        ORDER BY id LIMIT 1]], a.email).id
    local detail = web.request(port, "/admin/webhooks/" .. ev, { admin = s.token })
    t.eq(detail.status, 200)
    t.ok(detail.body:find("&lt;img src=x onerror=alert(1)&gt;", 1, true), "escaped body")
    t.match(detail.body, "applied")
    t.eq(web.request(port, "/admin/webhooks/abc", { admin = s.token }).status, 404)
    t.eq(web.request(port, "/admin/customers/not-a-uuid", { admin = s.token }).status, 404)
    -- Activity: by entity id, and by actor kind.
    local act = web.request(port, "/admin/activity?entity_id=" .. a.customer_id, { admin = s.token }).body
    t.match(act, "customer%.created")
    t.no_match(act, "subscription%.started")
    t.match(web.request(port, "/admin/activity?actor=webhook&action=subscription.", { admin = s.token }).body,
        "subscription%.started")
    t.match(web.request(port, "/admin/activity?entity_id=nope", { admin = s.token }).body, "must be a uuid")
end

function T.long_lists_page_by_keyset(t)
    setup(t)
    local s = login(t, "viewer")
    -- 120 activity rows in one second: ties on created_at are broken by id.
    assert(wm.db.query([[INSERT INTO activity_log (action, entity_type, actor_type, created_at)
        SELECT 'test.row', 'test', 'system', '2026-01-01 00:00:00'::timestamp FROM generate_series(1, 120)]]))
    local seen, pages, path = {}, 0, "/admin/activity?action=test.row"
    while path do
        pages = pages + 1
        local body = web.request(port, path, { admin = s.token }).body
        for id in body:gmatch('<tr><td class="nowrap">2026%-01%-01 00:00:00</td>') do
            seen[#seen + 1] = id
        end
        path = body:match('<a class="button alt" href="([^"]+)">More')
        path = path and path:gsub("&amp;", "&")
    end
    t.eq(pages, 2)
    t.eq(#seen, 120, "every row once")
    -- Customers sorted by email, 60 of them: two pages, in order, none twice.
    assert(wm.db.query([[INSERT INTO customers (email, status, lifetime_value_cents)
        SELECT 'c' || lpad(i::text, 3, '0') || '@example.com', 'active', i FROM generate_series(1, 60) i]]))
    local emails = {}
    path = "/admin/customers?sort=email"
    while path do
        local body = web.request(port, path, { admin = s.token }).body
        for e in body:gmatch(">(c%d%d%d@example%.com)<") do
            emails[#emails + 1] = e
        end
        path = body:match('<a class="button alt" href="([^"]+)">More')
        path = path and path:gsub("&amp;", "&")
    end
    t.eq(#emails, 60)
    t.eq(emails[1], "c001@example.com")
    t.eq(emails[60], "c060@example.com")
end

-- The subscriptions list: the next renewal first, pages by keyset, a status
-- filter, and each status's count and monthly amount over the filtered set.
function T.subscriptions_list_renewals_first_with_totals(t)
    setup(t)
    local s = login(t, "viewer")
    local c = one("INSERT INTO customers (email, status) VALUES ('subs@example.com', 'active') RETURNING id").id
    -- 60 active plans renewing on days 1..60 of 2027 (inserted in reverse), and 3 past due.
    assert(wm.db.query([[INSERT INTO subscriptions (customer_id, amount_cents, status, current_period_end, started_at)
        SELECT $1, 80000, 'active', '2027-01-01'::timestamp + ((60 - i) || ' days')::interval, '2026-06-01'
        FROM generate_series(0, 59) i]], c))
    assert(wm.db.query([[INSERT INTO subscriptions (customer_id, amount_cents, status, current_period_end, past_due_at)
        SELECT $1, 80000, 'past_due', '2026-11-01', '2026-11-02' FROM generate_series(1, 3)]], c))
    local ends, pages, path = {}, 0, "/admin/subscriptions?status=active"
    while path do
        pages = pages + 1
        local body = web.request(port, path, { admin = s.token }).body
        for d in body:gmatch('<td class="nowrap">(2027%-%d%d%-%d%d)</td>') do
            ends[#ends + 1] = d
        end
        path = body:match('<a class="button alt" href="([^"]+)">More')
        path = path and path:gsub("&amp;", "&")
    end
    t.eq({ pages, #ends, ends[1], ends[60] }, { 2, 60, "2027-01-02", "2027-03-02" }, "every renewal once, soonest first")
    for i = 2, #ends do
        t.ok(ends[i - 1] < ends[i], "in order at " .. i)
    end
    local all = web.request(port, "/admin/subscriptions", { admin = s.token }).body
    t.match(all, '<span class="pill active">active</span></div><div class="value">60</div><div class="muted">48,000%.00 GTQ a month')
    t.match(all, '<span class="pill past_due">past_due</span></div><div class="value">3</div>')
    local due = web.request(port, "/admin/subscriptions?status=past_due", { admin = s.token }).body
    t.no_match(due, "2027%-")
    t.match(due, "since 2026%-11%-02")
    t.eq(web.request(port, "/admin/subscriptions?status=bogus&sort=nope", { admin = s.token }).status, 200)
end

function T.a_viewer_is_refused_every_mutation_and_nothing_changes(t)
    setup(t)
    local a = buy(t, "Viewer Target")
    local failed = one([[INSERT INTO webhook_events (provider, event_id, event_type, body, status, error)
        VALUES ('recurrente', 'msg_failed_1', 'payment_intent.succeeded', '{}', 'failed', 'boom') RETURNING id]]).id
    local targets = {
        { "/admin/subscriptions/" .. a.subscription_id .. "/cancel" },
        { "/admin/payments/" .. a.payment_id .. "/refund" },
        { "/admin/webhooks/" .. failed .. "/replay" },
        { "/admin/customers/" .. a.customer_id .. "/portal-link" },
    }
    for _, role in ipairs({ "viewer", "editor" }) do
        local s = login(t, role)
        for _, target in ipairs(targets) do
            local before = snapshot()
            local res = web.request(port, target[1], { admin = s.token, form = { csrf = s.csrf } })
            t.eq(res.status, 403, role .. " POST " .. target[1])
            -- The confirmation pages are refused too.
            if target[1]:find("/cancel$") or target[1]:find("/refund$") then
                t.eq(web.request(port, target[1], { admin = s.token }).status, 403, role .. " GET " .. target[1])
            end
            settled(t)
            t.eq(snapshot(), before, "nothing changed: " .. role .. " " .. target[1])
        end
    end
    -- An admin with the CSRF token missing or wrong: 403, nothing changed.
    local s = login(t, "admin")
    local before = snapshot()
    for _, f in ipairs({ "", web.form { csrf = (s.csrf:sub(1, 1) == "x" and "y" or "x") .. s.csrf:sub(2) } }) do
        t.eq(web.request(port, "/admin/subscriptions/" .. a.subscription_id .. "/cancel", { admin = s.token, form = f }).status,
            403)
        t.eq(web.request(port, "/admin/webhooks/" .. failed .. "/replay", { admin = s.token, form = f }).status, 403)
    end
    settled(t)
    t.eq(snapshot(), before)
end

function T.an_admin_cancels_refunds_and_replays_through_the_provider(t)
    setup(t)
    local a = buy(t, "Cancel Me")
    local s = login(t, "admin")
    -- The customer page offers the actions; each has a confirmation page.
    local page = web.request(port, "/admin/customers/" .. a.customer_id, { admin = s.token }).body
    t.ok(page:find("/admin/subscriptions/" .. a.subscription_id .. "/cancel", 1, true), "cancel offered")
    t.ok(page:find("/admin/payments/" .. a.payment_id .. "/refund", 1, true), "refund offered")
    local confirm = web.request(port, "/admin/subscriptions/" .. a.subscription_id .. "/cancel", { admin = s.token })
    t.eq(confirm.status, 200)
    t.match(confirm.body, "Cancel the subscription")
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", a.subscription_id).status, "active",
        "the confirmation page changes nothing")

    -- The provider refuses (a subscription it did not sell): 502, nothing asked, nothing changed.
    assert(wm.db.query([[UPDATE subscriptions SET recurrente_checkout_id = 'elsewhere:' || recurrente_checkout_id
        WHERE id = $1]], a.subscription_id))
    local res = web.request(port, "/admin/subscriptions/" .. a.subscription_id .. "/cancel",
        { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.status, 502)
    t.match(res.body, "The payment provider did not cancel it, so nothing changed: offline: subscription ")
    t.match(res.body, 'href="/admin/customers/' .. a.customer_id:gsub("%p", "%%%0") .. '">Back to the customer')
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'subscription.cancel_requested'"), 0)
    assert(wm.db.query([[UPDATE subscriptions SET recurrente_checkout_id = substr(recurrente_checkout_id, 11)
        WHERE id = $1]], a.subscription_id))

    -- Cancel: the provider's subscription.cancel webhook makes the change.
    res = web.request(port, "/admin/subscriptions/" .. a.subscription_id .. "/cancel",
        { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.status, 303)
    t.eq(res.headers.location, "/admin/customers/" .. a.customer_id .. "?flash=cancel_requested")
    local row = last_activity("subscription.cancel_requested")
    t.eq({ row.actor_type, row.actor_id, row.entity_id }, { "admin", accounts.admin.id, a.subscription_id })
    settled(t)
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", a.subscription_id).status, "cancelled")
    t.eq(one("SELECT status FROM customers WHERE id = $1", a.customer_id).status, "cancelled")
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE event_type = 'subscription.cancel' AND status = 'applied'"), 1)
    -- Cancelled: no second cancel.
    t.eq(web.request(port, "/admin/subscriptions/" .. a.subscription_id .. "/cancel",
        { admin = s.token, form = { csrf = s.csrf } }).status, 409)

    -- Refund: a refund row, the original refunded, the value taken back.
    local ltv = one("SELECT lifetime_value_cents FROM customers WHERE id = $1", a.customer_id).lifetime_value_cents
    t.eq(ltv, 80000)
    res = web.request(port, "/admin/payments/" .. a.payment_id .. "/refund", { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.status, 303)
    row = last_activity("payment.refund_requested")
    t.eq({ row.actor_type, row.actor_id, row.entity_id }, { "admin", accounts.admin.id, a.payment_id })
    settled(t)
    t.eq(one("SELECT status FROM payments WHERE id = $1", a.payment_id).status, "refunded")
    t.eq(one("SELECT amount_cents FROM payments WHERE refund_of = $1", a.payment_id).amount_cents, -80000)
    t.eq(one("SELECT lifetime_value_cents FROM customers WHERE id = $1", a.customer_id).lifetime_value_cents, 0)
    t.eq(web.request(port, "/admin/payments/" .. a.payment_id .. "/refund", { admin = s.token, form = { csrf = s.csrf } }).status,
        409, "a refunded payment is not refunded twice")
    local pays = web.request(port, "/admin/payments", { admin = s.token }).body
    t.match(pays, "refund")

    -- Replay: a failed event is applied again, once; an applied one is left alone.
    local ev = one([[SELECT id FROM webhook_events WHERE event_type = 'payment_intent.succeeded' ORDER BY id LIMIT 1]]).id
    assert(wm.db.query("UPDATE webhook_events SET status = 'failed', error = 'simulated' WHERE id = $1", ev))
    local payments_before = count("SELECT count(*)::int AS n FROM payments")
    local detail = web.request(port, "/admin/webhooks/" .. ev, { admin = s.token }).body
    t.ok(detail:find('action="/admin/webhooks/' .. ev .. '/replay"', 1, true), "replay offered for a failed event")
    res = web.request(port, "/admin/webhooks/" .. ev .. "/replay", { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.status, 303)
    t.eq(res.headers.location, "/admin/webhooks/" .. ev .. "?flash=replayed")
    row = last_activity("webhook.replayed")
    t.eq({ row.actor_type, row.actor_id, row.details.id }, { "admin", accounts.admin.id, ev })
    settled(t)
    t.eq(one("SELECT status FROM webhook_events WHERE id = $1", ev).status, "applied")
    t.eq(count("SELECT count(*)::int AS n FROM payments"), payments_before, "applied once")
    res = web.request(port, "/admin/webhooks/" .. ev .. "/replay", { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.headers.location, "/admin/webhooks/" .. ev .. "?flash=replay_noop")
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'webhook.replayed'"), 1)

    -- A portal link for support: shown once, single use, its hash stored.
    res = web.request(port, "/admin/customers/" .. a.customer_id .. "/portal-link", { admin = s.token, form = { csrf = s.csrf } })
    t.eq(res.status, 200)
    local link = res.body:match("http://127%.0%.0%.1:%d+(/portal/login/[%w_%-]+)")
    t.ok(link, "the link is shown")
    t.eq(count("SELECT count(*)::int AS n FROM portal_links WHERE token_sha256 = $1",
        wm.crypto.sha256_hex(link:match("[^/]+$"))), 1)
    row = last_activity("customer.portal_link_created")
    t.eq({ row.actor_type, row.actor_id, row.entity_id }, { "admin", accounts.admin.id, a.customer_id })
    t.eq(web.request(port, link).status, 200, "the link opens the portal's sign-in page")
    -- The activity page names the admin as the actor.
    local act = web.request(port, "/admin/activity?actor=admin@example.com", { admin = s.token }).body
    t.match(act, "subscription%.cancel_requested")
    t.match(act, "payment%.refund_requested")
    t.match(act, "webhook%.replayed")
end

return T
