-- The claim page as a checkout: through a real wm HTTP server on
-- 127.0.0.1, against tests/fakes/recurrente.py (Recurrente's shapes, its
-- 401 body, 422s, scripted 5xx and stalls) and through the offline
-- provider's /pay page, whose Svix-signed webhooks the fake checks
-- independently (Python's hmac, not lib.svix).
local T = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start = dofile(here .. "/../fakes/start.lua")
local web = dofile(wm.root .. "/tests/lib/web.lua")

local PK, SK = "pk_test_" .. wm.crypto.random_token(6), "sk_test_" .. wm.crypto.random_token(6)
local WHSEC = "whsec_" .. wm.crypto.b64_encode(wm.crypto.random_bytes(24))

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local fake
local function fake_url()
    if fake and wm.http.post(fake .. "/_fake/reset", "{}") then
        return fake
    end
    fake = start("recurrente.py", "5", PK, SK, WHSEC)
    return fake
end

local function fake_json(path)
    return wm.json.decode(assert(wm.http.get(fake .. path)).body)
end

local function queue(item, n)
    for _ = 1, n or 1 do
        assert(wm.http.post(fake .. "/_fake/queue", wm.json.encode(item)))
    end
end


local port
-- A fresh schema, the fake, and wm's own HTTP server with scripts/web.
local function setup(t, provider, commerce)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    local url = fake_url()
    port = web.serve(t)
    t.config("providers", { payments = provider })
    t.config("recurrente", { public_key = PK, secret_key = SK, base_url = url, timeout = 5, retries = 1,
                           webhook_secret = WHSEC })
    local c = { monthly_price_cents = 80000, setup_fee_cents = 0, currency = "GTQ", plan_name = "WebMagic website",
                success_path = "/?checkout=success", cancel_path = "/?checkout=cancelled", checkout_expiry = 86400,
                offline_fail_after = 60, offline_hooks_url = url .. "/hooks/recurrente" }
    for k, v in pairs(commerce or {}) do
        c[k] = v
    end
    t.config("commerce", c)
    return url
end

local n = 0
-- A business with a preview site and its campaign.
local function site(name)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'generated') RETURNING id]], "gmb-ck-" .. n, name or ("Shop " .. n),
        "owner" .. n .. "@example.com")
    local sub = "shop-ck-" .. n
    local token = "claim" .. n .. wm.crypto.random_token(6):gsub("[^%w]", "x")
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, '<!DOCTYPE html><title>x</title>', 'preview', $3) RETURNING id]], b.id, sub, token)
    local c = one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status)
        VALUES ($1, $2, 's', 'b', 'owner@example.com', 'sent') RETURNING id]], b.id, s.id)
    return { id = s.id, business_id = b.id, campaign_id = c.id, sub = sub, token = token,
             host = sub .. ".localhost:" .. port, claim = "/claim/" .. token }
end

-- Opens the claim page and presses its button: the response to the POST.
local function claim(s, extra_headers)
    local page = web.request(port, s.claim, { host = s.host })
    assert(page.status == 200, "claim page: " .. page.status)
    return web.request(port, s.claim, { host = s.host, headers = extra_headers,
        form = { csrf = web.field(page.body, "csrf"), kind = web.field(page.body, "kind") } }), page
end

local function checkout_posts()
    local out = {}
    for _, r in ipairs(fake_json("/_fake/requests")) do
        if r.method == "POST" and r.path == "/api/checkouts" then
            out[#out + 1] = r
        end
    end
    return out
end

function T.recurrente_checkout_has_the_right_headers_and_body(t)
    setup(t, "recurrente")
    local s = site("Café \"Rivera\" <b>")
    local res, page = claim(s)
    t.match(page.body, "Q800%.00 per month")
    t.match(page.body, "Cancel any time")
    t.match(page.body, "Café &quot;Rivera&quot; &lt;b&gt;", "the name is escaped")
    t.match(page.headers["content-security-policy"], "form%-action 'self' http://127%.0%.0%.1:%d+")
    t.eq(res.status, 303)
    local posts = checkout_posts()
    t.eq(#posts, 1)
    local r = posts[1]
    t.eq(r.headers["x-public-key"], PK)
    t.eq(r.headers["x-secret-key"], SK)
    t.match(r.headers["content-type"], "^application/json")
    local item = r.body.items[1]
    t.eq(#r.body.items, 1)
    t.eq(item.charge_type, "recurring")
    t.eq(item.billing_interval, "month")
    t.eq(item.billing_interval_count, 1)
    t.eq(item.amount_in_cents, 80000)
    t.eq(item.currency, "GTQ")
    t.eq(item.name, "WebMagic website")
    local site_url = "http://" .. s.host .. "/"
    t.eq(r.body.success_url, site_url .. "?checkout=success")
    t.eq(r.body.cancel_url, site_url .. "?checkout=cancelled")
    t.eq(r.body.metadata, { site_id = s.id, business_id = s.business_id, campaign_id = s.campaign_id,
                            checkout_kind = "subscription", success_url = r.body.success_url,
                            cancel_url = r.body.cancel_url })
    t.match(r.body.expires_at, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$")
    local row = one("SELECT * FROM checkouts WHERE site_id = $1", s.id)
    t.eq(res.headers.location, row.checkout_url)
    t.match(row.provider_checkout_id, "^ch_")
    t.eq(row.checkout_url, fake .. "/checkout-session/" .. row.provider_checkout_id)
    t.eq({ row.provider, row.status, row.kind, row.amount_cents, row.currency, row.business_id, row.campaign_id },
         { "recurrente", "open", "subscription", 80000, "GTQ", s.business_id, s.campaign_id })
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'checkout.created' AND entity_id = $1",
               row.id), 1)
end

function T.an_open_checkout_is_reused_until_it_expires(t)
    setup(t, "recurrente")
    local s = site()
    local first = claim(s)
    local again = claim(s)
    t.eq(again.status, 303)
    t.eq(again.headers.location, first.headers.location, "the open checkout again")
    t.eq(#checkout_posts(), 1, "the provider was asked once")
    -- Within five minutes of its end it is not handed out: a new one.
    assert(wm.db.query("UPDATE checkouts SET expires_at = now() + interval '2 minutes' WHERE site_id = $1", s.id))
    local fresh = claim(s)
    t.eq(fresh.status, 303)
    t.ne(fresh.headers.location, first.headers.location)
    t.eq(#checkout_posts(), 2)
    local rows = assert(wm.db.query("SELECT status, checkout_url FROM checkouts WHERE site_id = $1 ORDER BY created_at", s.id))
    t.eq({ rows[1].status, rows[2].status }, { "expired", "open" })
    t.eq(rows[2].checkout_url, fresh.headers.location)
    -- The daily snapshot counts both.
    local today = one("SELECT (now() AT TIME ZONE 'UTC')::date::text AS d").d
    t.ok(require("stages.analytics_snapshot").run({ payload = { date = today } }))
    t.eq(one("SELECT checkouts_created FROM analytics_snapshots WHERE snapshot_date = $1::date", today)
        .checkouts_created, 2)
end

local function no_row_and_try_again(t, s, res, status)
    t.eq(res.status, status)
    t.match(res.body, "try again")
    t.match(res.body, "Nothing was charged")
    t.eq(count("SELECT count(*)::int AS n FROM checkouts WHERE site_id = $1", s.id), 0, "no checkouts row")
end

function T.provider_errors_leave_no_row_and_ask_to_try_again(t)
    setup(t, "recurrente")
    local s = site()
    -- 401: wrong keys. The fake answers its documented body.
    t.config("recurrente", { secret_key = "sk_test_wrong" })
    local res = claim(s)
    no_row_and_try_again(t, s, res, 502)
    local p = require "providers.payments.recurrente"
    local ok, err, info = p.create_checkout { name = "x", currency = "GTQ", amount_cents = 80000, recurring = true }
    t.eq(ok, nil)
    t.match(err, "HTTP 401: Autenticación Errónea")
    t.eq(info, { retryable = false, status = 401 })
    t.config("recurrente", { secret_key = SK })
    -- 422: an amount under Recurrente's minimum.
    t.config("commerce", { monthly_price_cents = 100 })
    no_row_and_try_again(t, s, claim(s), 502)
    t.config("commerce", { monthly_price_cents = 80000 })
    -- 5xx twice: the call and its retry fail.
    fake_url()
    queue({ status = 503, body = { error = "maintenance" } }, 2)
    res = claim(s)
    no_row_and_try_again(t, s, res, 503)
    t.eq(res.headers["retry-after"], "60")
    t.eq(#checkout_posts(), 2, "tried again once")
    -- A timeout (the fake stalls past recurrente.timeout), twice.
    t.config("recurrente", { timeout = 1 })
    queue({ stall = 2 }, 2)
    no_row_and_try_again(t, s, claim(s), 503)
    t.config("recurrente", { timeout = 5 })
    -- One 5xx: the retry makes it.
    fake_url()
    queue({ status = 502 })
    res = claim(s)
    t.eq(res.status, 303)
    t.eq(count("SELECT count(*)::int AS n FROM checkouts WHERE site_id = $1", s.id), 1)
end

function T.the_form_is_same_site_only(t)
    setup(t, "recurrente")
    local s = site()
    local page = web.request(port, s.claim, { host = s.host })
    local res = web.request(port, s.claim, { host = s.host, form = { kind = "subscription" } })
    t.eq(res.status, 403, "no csrf field")
    res = web.request(port, s.claim, { host = s.host, form = { csrf = web.field(page.body, "csrf"), kind = "subscription" },
                                     headers = { Origin = "http://evil.example" } })
    t.eq(res.status, 403, "another origin")
    local other = site()
    res = web.request(port, other.claim, { host = other.host, form = { csrf = web.field(page.body, "csrf"),
                                                                                kind = "subscription" } })
    t.eq(res.status, 403, "another site's token")
    t.eq(web.request(port, "/claim/nope", { host = s.host }).status, 404)
    t.eq(#checkout_posts(), 0)
end

function T.a_setup_fee_is_a_second_checkout_after_the_plan(t)
    setup(t, "recurrente", { setup_fee_cents = 15000 })
    local s = site()
    local res, page = claim(s)
    t.match(page.body, "one%-time setup fee of Q150%.00")
    t.eq(res.status, 303)
    local plan = one("SELECT id FROM checkouts WHERE site_id = $1", s.id)
    t.eq(checkout_posts()[1].body.success_url, "http://" .. s.host .. s.claim .. "?paid=1",
         "after the plan the buyer comes back for the fee")
    -- Back before the payment was applied: a notice, no button.
    local back = web.request(port, s.claim .. "?paid=1", { host = s.host })
    t.match(back.body, "confirming your payment")
    t.eq(web.field(back.body, "kind"), nil)
    -- The payment's webhook marks the plan paid (what /hooks/recurrente's job does).
    t.ok(wm.db.tx(function() return require("domain.checkouts").paid(plan.id) end))
    res, page = claim(s)
    t.match(page.body, "One more step")
    t.eq(web.field(page.body, "kind"), "setup_fee")
    t.eq(res.status, 303)
    local posts = checkout_posts()
    t.eq(#posts, 2)
    local item = posts[2].body.items[1]
    t.eq({ item.charge_type, item.amount_in_cents, item.billing_interval }, { "one_time", 15000, nil })
    t.eq(posts[2].body.success_url, "http://" .. s.host .. "/?checkout=success")
    local fee = one("SELECT * FROM checkouts WHERE site_id = $1 AND kind = 'setup_fee'", s.id)
    t.eq(fee.parent_checkout_id, plan.id)
    t.eq(fee.amount_cents, 15000)
    t.ok(wm.db.tx(function() return require("domain.checkouts").paid(fee.id) end))
    page = web.request(port, s.claim, { host = s.host })
    t.match(page.body, "This site is yours")
    t.eq(web.field(page.body, "kind"), nil, "nothing left to pay")
end

local function hooks()
    return fake_json("/_fake/hooks")
end

function T.offline_checkout_pays_with_signed_recurrente_webhooks(t)
    setup(t, "offline")
    local s = site("Rivera & Sons")
    local res = claim(s)
    t.eq(res.status, 303)
    local path = res.headers.location:match("^http://127%.0%.0%.1:%d+(/pay/ch_[%w_]+)$")
    t.ok(path, "to this host's /pay page: " .. tostring(res.headers.location))
    local k = one("SELECT * FROM checkouts WHERE site_id = $1", s.id)
    t.eq(k.provider, "offline")
    local host = "127.0.0.1:" .. port
    local page = web.request(port, path, { host = host })
    t.eq(page.status, 200)
    t.match(page.body, "Q800%.00 per month")
    t.match(page.body, "Rivera &amp; Sons")
    t.match(page.body, "Pay with test card")
    local csrf = web.field(page.body, "csrf")
    t.eq(web.request(port, path, { host = host, form = { action = "pay", email = "a@b.co", full_name = "A" } })
        .status, 403, "no csrf")
    -- Declined: payment_intent.failed, the page again.
    local declined = web.request(port, path, { host = host, form = { csrf = csrf, action = "decline",
        email = "ana@example.com", full_name = "Ana Rivera" } })
    t.eq(declined.status, 200)
    t.match(declined.body, "declined")
    local h = hooks()
    t.eq(#h, 1)
    t.ok(h[1].verified, tostring(h[1].reason))
    t.eq(h[1].body.event_type, "payment_intent.failed")
    -- Paid: payment_intent.succeeded and subscription.create, then back to the site.
    local paid = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = "Ana Rivera" } })
    t.eq(paid.status, 303)
    t.eq(paid.headers.location, "http://" .. s.host .. "/?checkout=success")
    h = hooks()
    t.eq(#h, 3)
    local ev, sub = h[2], h[3]
    t.ok(ev.verified and sub.verified, "signed with the endpoint's secret")
    t.match(ev.headers["svix-id"], "^msg_")
    t.eq(ev.body.event_type, "payment_intent.succeeded")
    t.match(ev.body.id, "^pa_")
    t.eq(ev.body.amount_in_cents, 80000)
    t.eq(ev.body.currency, "GTQ")
    t.eq(ev.body.checkout.id, k.provider_checkout_id)
    t.eq(ev.body.checkout.metadata.site_id, s.id)
    t.eq(ev.body.checkout.metadata.business_id, s.business_id)
    t.eq(ev.body.checkout.metadata.campaign_id, s.campaign_id)
    t.eq(ev.body.customer.email, "ana@example.com")
    t.eq(ev.body.customer.full_name, "Ana Rivera")
    t.match(ev.body.customer.id, "^us_")
    t.eq(ev.body.payment.paymentable.type, "Subscription")
    t.eq(sub.body.event_type, "subscription.create")
    t.eq(sub.body.id, ev.body.payment.paymentable.id)
    t.eq(sub.body.customer_email, "ana@example.com")
    -- Paying twice sends the same events (the same svix-id): applied once.
    t.eq(web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = "Ana Rivera" } }).status, 303)
    h = hooks()
    t.eq(h[4].headers["svix-id"], ev.headers["svix-id"])
    t.eq(h[5].headers["svix-id"], sub.headers["svix-id"])
    -- A receiver with another secret refuses: the buyer is told, not sent on.
    t.config("recurrente", { webhook_secret = "whsec_" .. wm.crypto.b64_encode("another secret, 24 bytes") })
    local refused = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = "Ana Rivera" } })
    t.eq(refused.status, 502)
    t.match(refused.body, "answered 401")
    -- Once the checkout is paid, the page says so.
    t.config("recurrente", { webhook_secret = WHSEC })
    t.ok(wm.db.tx(function() return require("domain.checkouts").paid(k.id) end))
    t.match(web.request(port, path, { host = host }).body, "has been paid")
end

-- Whether every lead byte of s has all its continuation bytes.
local function utf8_whole(s)
    local i = 1
    while i <= #s do
        local c = s:byte(i)
        local more = c < 0x80 and 0 or c >= 0xF0 and 3 or c >= 0xE0 and 2 or c >= 0xC0 and 1 or -1
        if more < 0 then
            return false
        end
        for j = 1, more do
            local d = s:byte(i + j)
            if not d or d < 0x80 or d > 0xBF then
                return false
            end
        end
        i = i + more + 1
    end
    return true
end

-- A keyword-stuffed listing name (as leads carry: 250 characters with stars)
-- prefills the name field shortened to what the form accepts, so the
-- prefilled form pays; a name typed longer is refused and sends nothing.
function T.offline_checkout_prefills_a_name_the_form_accepts(t)
    setup(t, "offline")
    local stuffed = "Hometown Electric \226\128\148 " .. ("Best Service in Town \226\152\133 "):rep(10)
    local s = site(stuffed)
    local path = claim(s).headers.location:match("(/pay/ch_[%w_]+)$")
    local host = "127.0.0.1:" .. port
    local page = web.request(port, path, { host = host })
    t.eq(page.status, 200)
    local name = web.field(page.body, "full_name")
    t.ok(name and #name > 0 and #name <= 200, "prefilled within 200: " .. tostring(name and #name))
    t.eq(stuffed:sub(1, #name), name, "a prefix of the business's name")
    t.ok(utf8_whole(name), "cut between characters: " .. name)
    t.match(page.body, 'maxlength="200"')
    local csrf = web.field(page.body, "csrf")
    local long = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = ("\195\177"):rep(201) } })
    t.eq(long.status, 422)
    t.match(long.body, "shorter name")
    t.eq(#hooks(), 0, "nothing sent for a refused form")
    local bad = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "not an address", full_name = name } })
    t.eq(bad.status, 422)
    t.match(bad.body, "Enter an email address")
    local ok = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = ("\195\177"):rep(200) } })
    t.eq(ok.status, 303, "200 two-byte characters are 200 characters")
    local paid = web.request(port, path, { host = host, form = { csrf = csrf, action = "pay",
        email = "ana@example.com", full_name = name } })
    t.eq(paid.status, 303, "the prefilled form pays")
end

function T.offline_fail_later_schedules_past_due_and_cancel(t)
    setup(t, "offline", { offline_fail_after = 120 })
    local s = site()
    local path = claim(s).headers.location:match("(/pay/ch_[%w_]+)$")
    local host = "127.0.0.1:" .. port
    local csrf = web.field(web.request(port, path, { host = host }).body, "csrf")
    local res = web.request(port, path, { host = host, form = { csrf = csrf, action = "fail_later",
        email = "ana@example.com", full_name = "Ana" } })
    t.eq(res.status, 303, "paid first")
    t.eq(#hooks(), 2)
    local jobs = assert(wm.db.query([[SELECT payload, extract(epoch FROM run_at - now())::float8 AS wait
        FROM jobs WHERE kind = 'offline_payment_event' ORDER BY run_at]]))
    t.eq(#jobs, 2)
    t.eq({ jobs[1].payload.event, jobs[2].payload.event }, { "past_due", "cancelled" })
    t.near(jobs[1].wait, 120, 10)
    t.near(jobs[2].wait, 240, 10)
    -- What the job sends when it runs.
    local stage = require "stages.offline_payment_event"
    local o = stage.run({ payload = jobs[1].payload })
    t.eq(o.outcome, require("wm.core.jobs").COMPLETED, tostring(o))
    local h = hooks()
    t.eq(#h, 3)
    t.ok(h[3].verified)
    t.eq(h[3].body.event_type, "subscription.past_due")
    t.eq(h[3].body.id, h[2].body.id, "the subscription that was created")
end

function T.recurrente_cancels_subscriptions_and_refunds(t)
    setup(t, "recurrente")
    local p = require "providers.payments.recurrente"
    t.eq(p.cancel_subscription("su_abc123"), true)
    local r = p.refund("pa_abc123")
    t.match(r.id, "^re_")
    t.eq(r.status, "succeeded")
    local ok, err, info = p.refund("nope")
    t.eq(ok, nil)
    t.match(err, "HTTP 422: payment_intent_id")
    t.eq(info.retryable, false)
    local reqs = fake_json("/_fake/requests")
    t.eq({ reqs[1].method, reqs[1].path }, { "DELETE", "/api/subscriptions/su_abc123" })
    t.eq({ reqs[2].method, reqs[2].path, reqs[2].body }, { "POST", "/api/refunds", { payment_intent_id = "pa_abc123" } })
    t.eq({ reqs[2].headers["x-public-key"], reqs[2].headers["x-secret-key"] }, { PK, SK })
end

return T
