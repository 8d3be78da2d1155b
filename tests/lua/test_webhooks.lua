-- POST /hooks/recurrente against a server running in this process (real
-- HTTP, the real job scheduler), with preview sites made by the real
-- pipeline (simulated leads, offline LLM). Events are built in Recurrente's
-- documented shapes (providers.md 1.6) and signed here with wm.crypto, not
-- with lib.svix: Svix's algorithm written out again, so a mistake in the
-- verifier cannot be mirrored by the signer.
--
-- Covered: Svix's published example; forgeries (wrong secret, missing
-- headers, tampered body, old and future timestamps) refused with nothing
-- stored; a purchase and every row it writes; the same event five times in a
-- row and five times at once; malformed and unknown events; out-of-order
-- delivery; past due -> grace -> paused page -> paid again; cancel -> period
-- end -> archived; refunds; matching by checkout id; hostile names; the
-- daily snapshot; wm hooks replay.
local T = {}

local SECRET_KEY = "webmagic-test-webhook-key-32byte"      -- 32 raw bytes
local SECRET = "whsec_" .. wm.crypto.b64_encode(SECRET_KEY)
local AMOUNT = 80000

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

-- ---- signing, independently of lib.svix ----

local function sign_with(key, id, ts, body)
    return "v1," .. wm.crypto.b64_encode(wm.crypto.hmac_sha256(key, id .. "." .. ts .. "." .. body))
end

local function new_id(prefix)
    return prefix .. wm.crypto.random_token(12):gsub("[^%w]", "x")
end

local function iso(epoch)
    return os.date("!%Y-%m-%dT%H:%M:%S.000Z", math.floor(epoch or wm.now()))
end

-- ---- payloads in Recurrente's shapes ----

-- A flat payment_intent.succeeded (or another intent event) for `site`.
local function payment_event(site, o)
    o = o or {}
    local recurring = o.one_time ~= true
    local paymentable = recurring and { type = "Subscription", id = o.sub_id }
        or { type = "OneTimePayment", id = new_id("op_") }
    return {
        id = o.pa_id or new_id("pa_"),
        event_type = o.type or "payment_intent.succeeded",
        api_version = "2024-04-24",
        checkout = {
            id = o.checkout_id or new_id("ch_"),
            status = "paid",
            payment = { id = new_id("py_"), paymentable = paymentable },
            payment_method = { id = new_id("pm_"), type = "card", card = { last4 = "4242", network = "visa" } },
            transfer_setups = wm.json.array({}),
            metadata = o.metadata or { site_id = site.id, business_id = site.business_id },
        },
        created_at = iso(o.at),
        failure_reason = o.failure_reason or wm.null,
        amount_in_cents = o.amount or AMOUNT,
        currency = "GTQ",
        fee = o.fee or 3600,
        vat_withheld = 0,
        vat_withheld_currency = "GTQ",
        customer = { email = o.email or site.email, full_name = o.name or "Ana López", id = o.user_id or site.user_id },
        payment = { id = new_id("py_"), paymentable = paymentable },
        product = { id = "prod_test" },
        invoice = { id = new_id("in_"), tax_invoice_url = wm.null },
    }
end

local function subscription_event(site, event_type, sub_id, at)
    return {
        id = sub_id,
        event_type = event_type,
        api_version = "2024-04-24",
        created_at = iso(at),
        customer_id = site.user_id,
        customer_email = site.email,
        customer_name = "Ana López",
        payment = { id = new_id("py_"), paymentable = { type = "Subscription", id = sub_id } },
        product = { id = "prod_test", prices = { { id = "price_test", amount_in_cents = AMOUNT, currency = "GTQ",
            charge_type = "recurring", billing_interval = "month", billing_interval_count = 1 } } },
    }
end

local function refund_event(pa_id, amount)
    return { id = new_id("re_"), event_type = "refund.create", api_version = "2024-04-24", created_at = iso(),
             status = "succeeded", amount_in_cents = amount or AMOUNT, currency = "GTQ",
             payment_intent = { id = pa_id } }
end

-- ---- the world: sites from the pipeline, a server, the scheduler ----

local world

local function build_sites()
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    require("lib.prompts").invalidate()
    assert(require("lib.prompts").sync())
    wm.config.autopilot.enabled = false
    wm.config.jobs.backoff_base = 0.05
    -- About four sites per cell; a test takes one of its own.
    for _, city in ipairs({ "Austin", "Dallas", "Houston", "El Paso" }) do
        local cell = one([[INSERT INTO coverage_grid (state, city, industry, industry_category, population)
            VALUES ('TX', $1, 'plumber', 'Services', 960000) RETURNING id]], city)
        assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }))
    end
    assert(wm.jobs.start_worker { cron = false })
    local deadline = wm.monotonic() + 180
    while wm.monotonic() < deadline do
        if count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running')
            OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '5 seconds')]]) == 0 then
            break
        end
        wm.sleep(0.1)
    end
    wm.jobs.stop_worker(5)
    local sites = assert(wm.db.query([[SELECT s.id, s.business_id, s.subdomain, b.email, b.coverage_grid_id
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        JOIN campaigns c ON c.site_id = s.id AND c.status = 'sent'
        WHERE s.status = 'preview' ORDER BY s.subdomain]]))
    assert(#sites >= 12, "the pipeline made too few sites: " .. #sites)
    return { sites = sites, next = 1 }
end

-- setup(t) -> site (a fresh preview site, its campaign sent), post(event[, opts]), url
local function setup(t)
    wm.config.paths.var = wm.config.paths.var or "var"
    if not world then
        world = build_sites()
    end
    wm.config.recurrente.webhook_secret = SECRET
    wm.config.commerce = wm.config.commerce or {}
    wm.config.commerce.grace_days = 7
    local site = assert(world.sites[world.next], "out of test sites")
    world.next = world.next + 1
    site.user_id = new_id("us_")
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    t.defer(function() http_server.stop(0) end)
    assert(wm.jobs.start_worker { cron = false })
    t.defer(function() wm.jobs.stop_worker(5) end)
    local _, port = srv:address()
    local base = "http://127.0.0.1:" .. port
    return site, base
end

-- post(base, event|string body[, o]) -> response; o = {msg_id=, ts=, key=, headers=, prefix=}
local function post(base, ev, o)
    o = o or {}
    local body = type(ev) == "string" and ev or wm.json.encode(ev)
    local id = o.msg_id or new_id("msg_")
    local ts = tostring(o.ts or math.floor(wm.now()))
    local p = o.prefix or "svix"
    local headers = { ["Content-Type"] = "application/json" }
    headers[p .. "-id"] = id
    headers[p .. "-timestamp"] = ts
    headers[p .. "-signature"] = o.signature or sign_with(o.key or SECRET_KEY, id, ts, o.signed_body or body)
    for k, v in pairs(o.headers or {}) do
        headers[k] = v ~= false and v or nil
    end
    return assert(wm.http.request { method = "POST", url = base .. "/hooks/recurrente", headers = headers,
                                    body = body, timeout = 20 })
end

local function settled(t)
    t.wait_for("webhook events to settle", function()
        return count([[SELECT count(*)::int AS n FROM webhook_events WHERE status = 'received']]) == 0
            and count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_webhook'
                AND status IN ('available', 'running', 'retryable', 'scheduled')]]) == 0
    end, 30)
end

local function get_site(base, site, path)
    return assert(wm.http.request { url = base .. (path or "/"), headers = { Host = site.subdomain .. ".localhost" },
                                    timeout = 10 })
end

local function sweep()
    assert(require("stages.billing_sweep").run({ payload = {} }))
end

-- Every row a first purchase writes, checked once.
local function check_purchase(t, site, pa_id, sub_id, base)
    local c = one("SELECT * FROM customers WHERE recurrente_user_id = $1", site.user_id)
    t.eq(c.email, site.email)
    t.eq(c.status, "active")
    t.eq(c.lifetime_value_cents, AMOUNT)
    t.eq(c.site_id, site.id)
    local s = one("SELECT * FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id)
    t.eq(s.customer_id, c.id)
    t.eq(s.site_id, site.id)
    t.eq(s.status, "active")
    t.eq(s.amount_cents, AMOUNT)
    t.ok(s.current_period_end ~= wm.null and s.current_period_end > s.current_period_start, "a period")
    local p = one("SELECT * FROM payments WHERE recurrente_payment_id = $1", pa_id)
    t.eq(p.subscription_id, s.id)
    t.eq(p.amount_cents, AMOUNT)
    t.eq(p.fee_cents, 3600)
    t.eq(p.net_cents, AMOUNT - 3600)
    t.eq(p.payment_type, "subscription")
    t.eq(p.status, "succeeded")
    t.eq(p.payment_method, "card")
    t.eq(p.card_last4, "4242")
    t.eq(p.card_network, "visa")
    t.ok(p.paid_at ~= wm.null)
    t.eq(count("SELECT count(*)::int AS n FROM payments WHERE customer_id = $1", c.id), 1, "one payment")
    local g = one("SELECT * FROM generated_sites WHERE id = $1", site.id)
    t.eq(g.status, "live")
    t.ok(g.deployed_at ~= wm.null and g.sold_at ~= wm.null)
    t.no_match(g.html_content, 'class="wm%-preview"', "the preview banner is gone")
    t.no_match(g.html_content, "/claim/", "and its claim link")
    t.no_match(g.html_content, "noindex")
    t.match(g.html_content, "<h1", "the site's own content")
    local b = one("SELECT * FROM businesses WHERE id = $1", site.business_id)
    t.eq(b.website_status, "sold")
    t.eq(b.contact_status, "purchased")
    local camp = one("SELECT * FROM campaigns WHERE site_id = $1", site.id)
    t.eq(camp.status, "converted")
    t.ok(camp.converted_at ~= wm.null)
    t.ok(one("SELECT conversion_count FROM coverage_grid WHERE id = $1", site.coverage_grid_id).conversion_count >= 1)
    t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE actor_type = 'webhook' AND action = 'site.live'
        AND entity_id = $1]], site.id), 1, "one site.live activity row by the webhook")
    t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE actor_type = 'webhook'
        AND action IN ('customer.created', 'subscription.started', 'payment.succeeded', 'business.purchased',
                       'campaign.converted')
        AND entity_id IN ($1, $2, $3, $4, $5)]], c.id, s.id, p.id, site.business_id, camp.id), 5)
    if base then
        local res = get_site(base, site)
        t.eq(res.status, 200)
        t.eq(res.headers["x-robots-tag"], nil, "served as the customer's site")
        t.no_match(res.body, 'class="wm%-preview"')
    end
    return c, s, p
end

local function buy(t, base, site)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    t.eq(post(base, payment_event(site, { pa_id = pa_id, sub_id = sub_id })).status, 200)
    t.eq(post(base, subscription_event(site, "subscription.create", sub_id)).status, 200)
    settled(t)
    return sub_id, pa_id
end

-- ---- tests ----

function T.svix_published_example_verifies(t)
    local svix = require "lib.svix"
    local h = { ["svix-id"] = "msg_p5jXN8AQM9LWM0D4loKWxJek", ["svix-timestamp"] = "1614265330",
                ["svix-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" }
    local body = '{"test": 2432232314}'
    local secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    t.eq(svix.verify(secret, h, body, { tolerance = false }), "msg_p5jXN8AQM9LWM0D4loKWxJek")
    t.eq(select(2, svix.verify(secret, h, body)), "stale timestamp", "2021 is long past")
    t.eq(svix.verify(secret, h, body, { now = 1614265330 + 299 }), "msg_p5jXN8AQM9LWM0D4loKWxJek")
    -- A rotation list: any one entry matching is enough, in any position.
    h["svix-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    t.eq(svix.verify(secret, h, body, { tolerance = false }), "msg_p5jXN8AQM9LWM0D4loKWxJek")
    local wh = { ["webhook-id"] = h["svix-id"], ["webhook-timestamp"] = h["svix-timestamp"],
                 ["webhook-signature"] = h["svix-signature"] }
    t.eq(svix.verify(secret, wh, body, { tolerance = false }), "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-* names")
    t.eq(select(2, svix.verify(secret, h, body .. " ", { tolerance = false })), "bad signature")
    t.eq(select(2, svix.verify(secret, h, body, { now = 1614265330 - 301 })), "future timestamp")
    h["svix-signature"] = "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    t.eq(select(2, svix.verify(secret, h, body, { tolerance = false })), "no signature", "only v1 counts")
    -- Our signer and python's hmac agree on a fresh message.
    local res = assert(wm.exec { argv = { "python3", "-c", [[
import base64, hashlib, hmac, sys
k = base64.b64decode(sys.argv[1][6:])
print("v1," + base64.b64encode(hmac.new(k, sys.argv[2].encode(), hashlib.sha256).digest()).decode())]],
        SECRET, "msg_1.1700000000.{}" } })
    t.eq(res.stdout:gsub("%s+$", ""), svix.sign(SECRET, "msg_1", 1700000000, "{}"))
end

function T.forgeries_are_refused_and_nothing_is_stored(t)
    local site, base = setup(t)
    local before = count("SELECT count(*)::int AS n FROM webhook_events")
    local ev = payment_event(site, { sub_id = new_id("su_") })
    local body = wm.json.encode(ev)
    local now = math.floor(wm.now())
    local cases = {
        { "wrong secret", { key = "another-secret-another-secret-32" } },
        { "missing id", { headers = { ["svix-id"] = false } } },
        { "missing timestamp", { headers = { ["svix-timestamp"] = false } } },
        { "missing signature", { headers = { ["svix-signature"] = false } } },
        { "tampered body", { signed_body = body:gsub("80000", "800") } },
        { "six minutes old", { ts = now - 360 } },
        { "six minutes ahead", { ts = now + 360 } },
        { "not a number", { ts = "soon" } },
        { "no v1 entry", { signature = "v0,abc" } },
    }
    for _, c in ipairs(cases) do
        local res = post(base, body, c[2])
        t.eq(res.status, 401, c[1])
    end
    t.eq(post(base, body, { headers = { ["svix-id"] = false, ["svix-timestamp"] = false,
        ["svix-signature"] = false } }).status, 401, "no headers at all")
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events"), before, "nothing stored")
    t.eq(count("SELECT count(*)::int AS n FROM payments WHERE recurrente_payment_id = $1", ev.id), 0)
    -- Within the tolerance, either way, and with the webhook-* spelling: accepted.
    t.eq(post(base, body, { ts = now - 240, prefix = "webhook" }).status, 200)
    settled(t)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", site.id).status, "live")
end

function T.purchase_delivered_five_times_applies_once(t)
    local site, base = setup(t)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    local ev = payment_event(site, { pa_id = pa_id, sub_id = sub_id })
    local msg = new_id("msg_")
    local prompts_before = one([[SELECT coalesce(sum(success_count), 0)::int AS n FROM prompt_settings]]).n
    for i = 1, 5 do
        local res = post(base, ev, { msg_id = msg })
        t.eq(res.status, 200, "delivery " .. i)
        if i > 1 then
            t.eq(wm.json.decode(res.body).duplicate, true)
        end
        if i == 2 then
            settled(t)
        end
    end
    -- The same payment under its unified name (another message), and subscription.create.
    ev.event_type = "intent.succeeded"
    t.eq(post(base, ev).status, 200)
    t.eq(post(base, subscription_event(site, "subscription.create", sub_id)).status, 200)
    settled(t)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE event_id = $1", msg), 1, "stored once")
    t.eq(count([[SELECT count(*)::int AS n FROM webhook_events WHERE status = 'applied'
        AND (body LIKE '%' || $1 || '%' OR body LIKE '%' || $2 || '%')]], pa_id, sub_id), 3,
        "the payment under both names and subscription.create")
    check_purchase(t, site, pa_id, sub_id, base)
    local used = count([[SELECT count(DISTINCT x)::int AS n FROM llm_calls, unnest(prompt_settings_ids) x
        WHERE business_id = $1 AND ok]], site.business_id)
    t.ok(used > 0, "the site's LLM calls recorded their prompt versions")
    t.eq(one("SELECT coalesce(sum(success_count), 0)::int AS n FROM prompt_settings").n, prompts_before + used,
         "each prompt version that made the site counted one success")
    -- Replaying the applied event from the CLI changes nothing.
    local evrow = one("SELECT id FROM webhook_events WHERE event_id = $1", msg)
    t.eq(require("domain.webhook_events").replay(evrow.id), "applied")
    local cli = assert(wm.exec { argv = { os.getenv("WM_TEST_WM") or "wm", "hooks", "replay", tostring(evrow.id) }, timeout = 30 })
    t.eq(cli.code, 0, cli.stderr)
    t.match(cli.stdout, "applied already")
    settled(t)
    check_purchase(t, site, pa_id, sub_id)
end

function T.purchase_delivered_five_times_at_once_applies_once(t)
    local site, base = setup(t)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    local ev = payment_event(site, { pa_id = pa_id, sub_id = sub_id })
    local msg = new_id("msg_")
    local tasks = {}
    for i = 1, 5 do
        tasks[i] = wm.spawn(post, base, ev, { msg_id = msg })
    end
    -- And the unified twin five times at once too, racing the legacy one.
    ev.event_type = "intent.succeeded"
    local msg2 = new_id("msg_")
    for i = 6, 10 do
        tasks[i] = wm.spawn(post, base, ev, { msg_id = msg2 })
    end
    for i = 1, 10 do
        local ok, res = tasks[i]:wait(30)
        t.eq(ok, true, "delivery " .. i .. " finished")
        t.eq(res.status, 200, "delivery " .. i)
    end
    settled(t)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE event_id IN ($1, $2)", msg, msg2), 2)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_webhook' AND payload->>'event_id' IN "
        .. "(SELECT id::text FROM webhook_events WHERE event_id IN ($1, $2))", msg, msg2), 2, "one job per event")
    check_purchase(t, site, pa_id, sub_id, base)
end

function T.malformed_and_unknown_events(t)
    local _, base = setup(t)
    local res = post(base, '{"event_type": "payment_intent.succeeded", "id": ')
    t.eq(res.status, 400)
    local bad = one("SELECT * FROM webhook_events ORDER BY id DESC LIMIT 1")
    t.eq(bad.status, "failed")
    t.match(bad.error, "malformed")
    res = post(base, '"just a string"')
    t.eq(res.status, 400)
    res = post(base, { id = "tr_1", event_type = "transfer.sent", amount_in_cents = 5 })
    t.eq(res.status, 200)
    local unknown = one("SELECT * FROM webhook_events ORDER BY id DESC LIMIT 1")
    t.eq(unknown.event_type, "transfer.sent")
    t.eq(unknown.status, "ignored", "stored and acknowledged")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_webhook' AND payload->>'event_id' = $1",
               tostring(unknown.id)), 0, "no job for it")
end

function T.wrapped_payload_dispatches_on_inner_event_type(t)
    local site, base = setup(t)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    local inner = payment_event(site, { pa_id = pa_id, sub_id = sub_id })
    t.eq(post(base, { event_type = "payment_intent.succeeded", created_at = iso(), data = inner }).status, 200)
    settled(t)
    check_purchase(t, site, pa_id, sub_id, base)
end

function T.out_of_order_events_reach_the_same_state(t)
    local site, base = setup(t)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    -- A cancel and subscription.create before the first payment, and a refund of a later payment before it.
    t.eq(post(base, subscription_event(site, "subscription.create", sub_id)).status, 200)
    t.eq(post(base, subscription_event(site, "subscription.cancel", sub_id)).status, 200)
    local pa2 = new_id("pa_")
    t.eq(post(base, refund_event(pa2, AMOUNT)).status, 200)
    settled(t)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE status = 'pending' AND waiting_for IN ($1, $2)",
               sub_id, pa2), 3, "kept waiting for what they need")
    t.eq(count("SELECT count(*)::int AS n FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id), 0)
    t.eq(post(base, payment_event(site, { pa_id = pa_id, sub_id = sub_id })).status, 200)
    settled(t)
    t.eq(post(base, payment_event(site, { pa_id = pa2, sub_id = sub_id })).status, 200)
    settled(t)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE status = 'pending' AND waiting_for IN ($1, $2)",
               sub_id, pa2), 0, "all applied once their prerequisite came")
    local s = one("SELECT * FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id)
    t.eq(s.status, "cancelled", "the cancel is not undone by the payment that came after it")
    t.ok(s.cancelled_at ~= wm.null)
    local c = one("SELECT * FROM customers WHERE id = $1", s.customer_id)
    t.eq(c.status, "cancelled")
    t.eq(c.lifetime_value_cents, AMOUNT, "two payments, one refunded")
    t.eq(one("SELECT status FROM payments WHERE recurrente_payment_id = $1", pa2).status, "refunded")
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", site.id).status, "live",
         "the site stays up until the paid period ends")
end

function T.past_due_grace_paused_page_then_paid_again(t)
    local site, base = setup(t)
    -- A hostile business name: the paused page shows it escaped.
    assert(wm.db.query("UPDATE businesses SET name = $2 WHERE id = $1", site.business_id,
                       [[Joe's <script>alert(1)</script> & "Sons"]]))
    local sub_id = buy(t, base, site)
    local live_page = get_site(base, site).body
    t.eq(post(base, payment_event(site, { sub_id = sub_id, type = "payment_intent.failed",
        failure_reason = "Fondos insuficientes" })).status, 200)
    t.eq(post(base, subscription_event(site, "subscription.past_due", sub_id)).status, 200)
    settled(t)
    local s = one("SELECT * FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id)
    t.eq(s.status, "past_due")
    t.ok(s.past_due_at ~= wm.null)
    t.eq(one("SELECT status FROM customers WHERE id = $1", s.customer_id).status, "past_due")
    t.eq(count("SELECT count(*)::int AS n FROM payments WHERE subscription_id = $1 AND status = 'failed'", s.id), 1)
    sweep()
    t.eq(get_site(base, site).body, live_page, "within the grace period the site is up")
    -- Eight days later (grace_days = 7).
    assert(wm.db.query("UPDATE subscriptions SET past_due_at = now() - interval '8 days' WHERE id = $1", s.id))
    sweep()
    local res = get_site(base, site)
    t.eq(res.status, 200, "a polite page, not a 404")
    t.match(res.body, "taking a short break")
    t.no_match(res.body, "<script>")
    t.match(res.body, "Joe&#39;s &lt;script&gt;alert%(1%)&lt;/script&gt; &amp; &quot;Sons&quot;")
    sweep()
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.paused' AND entity_id = $1",
               site.id), 1, "the sweep pauses once")
    -- Paid again: the renewal restores the site and moves the period.
    local pa3 = new_id("pa_")
    t.eq(post(base, payment_event(site, { pa_id = pa3, sub_id = sub_id, at = wm.now() + 60 })).status, 200)
    settled(t)
    local s2 = one("SELECT * FROM subscriptions WHERE id = $1", s.id)
    t.eq(s2.status, "active")
    t.eq(s2.past_due_at, wm.null)
    t.ok(s2.current_period_end > s.current_period_end, "the period moved")
    t.eq(one("SELECT status FROM customers WHERE id = $1", s.customer_id).status, "active")
    t.eq(one("SELECT lifetime_value_cents FROM customers WHERE id = $1", s.customer_id).lifetime_value_cents,
         2 * AMOUNT)
    t.eq(get_site(base, site).body, live_page, "live again")
    -- A late delivery of the old past_due changes nothing now.
    t.eq(post(base, subscription_event(site, "subscription.past_due", sub_id, wm.now() - 3600)).status, 200)
    settled(t)
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", s.id).status, "active")
end

function T.cancel_keeps_the_site_to_period_end_then_archives(t)
    local site, base = setup(t)
    local sub_id = buy(t, base, site)
    t.eq(post(base, subscription_event(site, "subscription.cancel", sub_id)).status, 200)
    settled(t)
    local s = one("SELECT * FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id)
    t.eq(s.status, "cancelled")
    t.ok(s.cancelled_at ~= wm.null)
    sweep()
    t.eq(get_site(base, site).status, 200, "up until the period ends")
    assert(wm.db.query("UPDATE subscriptions SET current_period_end = now() - interval '1 minute' WHERE id = $1", s.id))
    sweep()
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", site.id).status, "archived")
    t.eq(get_site(base, site).status, 404)
    t.eq(one("SELECT website_status FROM businesses WHERE id = $1", site.business_id).website_status, "archived")
    t.eq(one("SELECT status FROM customers WHERE id = $1", s.customer_id).status, "churned")
end

function T.pause_and_unpause_events(t)
    local site, base = setup(t)
    local sub_id = buy(t, base, site)
    t.eq(post(base, subscription_event(site, "subscription.pause", sub_id)).status, 200)
    settled(t)
    t.match(get_site(base, site).body, "taking a short break")
    t.eq(post(base, subscription_event(site, "subscription.reactivate", sub_id)).status, 200)
    settled(t)
    t.no_match(get_site(base, site).body, "taking a short break")
    t.eq(one("SELECT status FROM subscriptions WHERE recurrente_subscription_id = $1", sub_id).status, "active")
end

function T.refund_adds_a_refund_row_once(t)
    local site, base = setup(t)
    local sub_id, pa_id = buy(t, base, site)
    local ev = refund_event(pa_id, AMOUNT)
    local msg = new_id("msg_")
    for _ = 1, 3 do
        t.eq(post(base, ev, { msg_id = msg }).status, 200)
    end
    t.eq(post(base, ev).status, 200, "the same refund in another message")
    settled(t)
    local p = one("SELECT * FROM payments WHERE recurrente_payment_id = $1", pa_id)
    t.eq(p.status, "refunded")
    t.ok(p.refunded_at ~= wm.null)
    local r = one("SELECT * FROM payments WHERE refund_of = $1", p.id)
    t.eq(r.payment_type, "refund")
    t.eq(r.amount_cents, -AMOUNT)
    t.eq(count("SELECT count(*)::int AS n FROM payments WHERE refund_of = $1", p.id), 1)
    t.eq(one("SELECT lifetime_value_cents FROM customers WHERE id = $1", p.customer_id).lifetime_value_cents, 0)
    t.ok(sub_id)
end

function T.payment_matched_by_checkout_id_and_hostile_customer_name(t)
    local site, base = setup(t)
    local ch = new_id("ch_")
    local checkout = one([[INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id, business_id,
            amount_cents) VALUES ('recurrente', $1, 'https://app.recurrente.com/checkout-session/x', $2, $3, $4)
        RETURNING id]], ch, site.id, site.business_id, AMOUNT)
    local sub_id, pa_id = new_id("su_"), new_id("pa_")
    local hostile = [[<img src=x onerror=alert(1)> '; DROP TABLE customers; --]]
    -- No metadata at all: only the checkout id says which site.
    t.eq(post(base, payment_event(site, { pa_id = pa_id, sub_id = sub_id, checkout_id = ch, metadata = {},
        name = hostile })).status, 200)
    settled(t)
    local c = check_purchase(t, site, pa_id, sub_id, base)
    t.eq(c.full_name, hostile, "stored as given")
    t.eq(one("SELECT status FROM checkouts WHERE id = $1", checkout.id).status, "paid")
    local cli = assert(wm.exec { argv = { os.getenv("WM_TEST_WM") or "wm", "customers", "show", c.id }, timeout = 30 })
    t.eq(cli.code, 0, cli.stderr)
    t.match(cli.stdout, "onerror=alert", "the CLI shows the name as text")
    -- A payment nobody can match fails, visibly, and changes nothing.
    local before = count("SELECT count(*)::int AS n FROM payments")
    t.eq(post(base, payment_event(site, { sub_id = new_id("su_"), metadata = { site_id = "not-a-uuid" } })).status, 200)
    settled(t)
    local ev = one("SELECT * FROM webhook_events ORDER BY id DESC LIMIT 1")
    t.eq(ev.status, "failed")
    t.match(ev.error, "no site matches")
    t.eq(count("SELECT count(*)::int AS n FROM payments"), before)
end

function T.daily_snapshot_counts_purchases_revenue_mrr(t)
    local site, base = setup(t)
    buy(t, base, site)
    local day = one("SELECT now()::date::text AS d").d
    assert(require("stages.analytics_snapshot").run({ payload = { date = day } }))
    local snap = one("SELECT * FROM analytics_snapshots WHERE snapshot_date = $1::date", day)
    local subs = one([[SELECT count(*)::int AS n FROM subscriptions WHERE started_at::date = $1::date]], day).n
    t.ok(subs >= 1)
    t.eq(snap.purchases, subs)
    t.eq(snap.revenue_cents, one([[SELECT coalesce(sum(amount_cents), 0)::int AS n FROM payments
        WHERE paid_at::date = $1::date]], day).n)
    t.ok(snap.revenue_cents > 0)
    t.eq(snap.mrr_cents, one([[SELECT coalesce(sum(amount_cents), 0)::int AS n FROM subscriptions
        WHERE status IN ('active', 'past_due')]]).n)
    t.ok(snap.mrr_cents >= AMOUNT)
end

return T
