-- The offline payments provider (the default; no account anywhere): its
-- checkouts are paid on this host's own page (scripts/web/pay.lua, GET
-- /pay/<checkout id>), which then sends the webhooks Recurrente would send,
-- in Recurrente's shapes (providers.md 1.6), Svix-signed (1.7) with the
-- endpoint's secret (lib.svix.secret(), the one the endpoint verifies), over
-- real HTTP to /hooks/recurrente (commerce.offline_hooks_url, or this host's
-- own). So the embedded loop can be bought end to end, through the same
-- code path as a real payment.
--
-- The same provider interface as recurrente.lua:
--   create_checkout(c) -> {id = "ch_...", checkout_url = "<base_url>/pay/ch_..."}
--   cancel_subscription(id) -> true     (sends subscription.cancel)
--   refund(payment_intent_id) -> {id=, status = "succeeded"}  (sends refund.create)
--   checkout_origin() -> the origin of sites.base_url
-- and, for the pay page and its delayed events:
--   events(kind, checkout, buyer) -> a list of {msg_id=, body=} to deliver
--       kind: "paid" (payment_intent.succeeded, and subscription.create for
--       the plan), "declined" (payment_intent.failed), "past_due",
--       "cancelled" (subscription.past_due / .cancel); checkout: the
--       checkouts row joined with its site's metadata; buyer = {email=, full_name=}
--   deliver(ev) -> true | nil, err, {retryable = bool}   signs now and posts
--
-- Ids are derived from the checkout (and the buyer's email for the
-- customer), so a second click on "pay" sends the same events with the same
-- svix-id, which the receiver applies once, like a Svix retry.
local svix = require "lib.svix"

local _M = {}

local API_VERSION = "2024-04-24"

local function base_url()
    return ((wm.config.sites or {}).base_url or "http://127.0.0.1:8080"):gsub("/+$", "")
end

local function hooks_url()
    local u = (wm.config.commerce or {}).offline_hooks_url
    if type(u) == "string" and u ~= "" then
        return u
    end
    return base_url() .. "/hooks/recurrente"
end

local function iso(epoch)
    return os.date("!%Y-%m-%dT%H:%M:%S.000Z", math.floor(epoch or wm.now()))
end

local function derived(prefix, ...)
    return prefix .. wm.crypto.sha256_hex(table.concat({ "wm-offline", ... }, "\0")):sub(1, 20)
end

function _M.create_checkout(c)
    if type(c) ~= "table" or type(c.amount_cents) ~= "number" then
        error("offline.create_checkout{amount_cents=, ...}", 2)
    end
    local id = "ch_" .. wm.crypto.random_token(12):lower():gsub("[^%w]", "x")
    return { id = id, checkout_url = base_url() .. "/pay/" .. id }
end

function _M.checkout_origin()
    return base_url():match("^(https?://[^/]+)")
end

-- The ids of everything a paid checkout makes at Recurrente.
local function ids(checkout, buyer)
    local cid = checkout.provider_checkout_id
    return {
        payment_intent = derived("pa_", "intent", cid),
        payment = derived("py_", "payment", cid),
        subscription = derived("su_", "subscription", cid),
        customer = derived("us_", "user", (buyer.email or ""):lower()),
        product = derived("prod_", "product", checkout.kind, tostring(checkout.amount_cents)),
        price = derived("price_", "price", checkout.kind, tostring(checkout.amount_cents)),
        payment_method = derived("pm_", "method", cid),
        invoice = derived("in_", "invoice", cid),
    }
end

local function metadata(checkout)
    local m = { site_id = checkout.site_id, business_id = checkout.business_id, success_url = checkout.success_url,
                cancel_url = checkout.cancel_url }
    if checkout.campaign_id and checkout.campaign_id ~= wm.null then
        m.campaign_id = checkout.campaign_id
    end
    return m
end

-- payment_intent.succeeded / .failed: flat, the checkout's metadata under checkout.
local function intent(event_type, checkout, buyer, id, failure_reason)
    local recurring = checkout.kind == "subscription"
    local paymentable = { type = recurring and "Subscription" or "OneTimePayment",
                          id = recurring and id.subscription or derived("op_", "one-time", checkout.provider_checkout_id) }
    local payment = { id = id.payment, paymentable = paymentable }
    local amount = checkout.amount_cents
    return {
        id = failure_reason and derived("pa_", "declined", checkout.provider_checkout_id, wm.crypto.random_token(6))
            or id.payment_intent,
        event_type = event_type,
        api_version = API_VERSION,
        checkout = {
            id = checkout.provider_checkout_id,
            status = failure_reason and "unpaid" or "paid",
            payment = payment,
            payment_method = { id = id.payment_method, type = "card", card = { last4 = "4242", network = "visa" } },
            transfer_setups = wm.json.array({}),
            metadata = metadata(checkout),
        },
        created_at = iso(),
        failure_reason = failure_reason or wm.null,
        amount_in_cents = amount,
        currency = checkout.currency,
        -- Illustrative: Recurrente's fee is not documented; 4.5% here.
        fee = failure_reason and 0 or math.floor(amount * 0.045 + 0.5),
        vat_withheld = 0,
        vat_withheld_currency = checkout.currency,
        customer = { email = buyer.email, full_name = buyer.full_name, id = id.customer },
        payment = payment,
        product = { id = id.product },
        invoice = { id = id.invoice, tax_invoice_url = wm.null },
    }
end

-- subscription.*: flat, the customer as customer_id/_email/_name.
local function subscription(event_type, checkout, buyer, id)
    return {
        id = id.subscription,
        event_type = event_type,
        api_version = API_VERSION,
        created_at = iso(),
        customer_id = id.customer,
        customer_email = buyer.email,
        customer_name = buyer.full_name,
        payment = { id = id.payment, paymentable = { type = "Subscription", id = id.subscription } },
        product = { id = id.product, prices = { { id = id.price, amount_in_cents = checkout.amount_cents,
            currency = checkout.currency, charge_type = "recurring", billing_interval = "month",
            billing_interval_count = 1 } } },
    }
end

local function message(msg_key, body)
    return { msg_id = msg_key and derived("msg_", msg_key) or ("msg_" .. wm.crypto.random_token(18):gsub("[^%w]", "x")),
             body = body }
end

function _M.events(kind, checkout, buyer)
    local id = ids(checkout, buyer)
    local cid = checkout.provider_checkout_id
    if kind == "paid" then
        local list = { message(cid .. "\0succeeded", intent("payment_intent.succeeded", checkout, buyer, id)) }
        if checkout.kind == "subscription" then
            list[2] = message(cid .. "\0subscription.create", subscription("subscription.create", checkout, buyer, id))
        end
        return list
    elseif kind == "declined" then
        return { message(nil, intent("payment_intent.failed", checkout, buyer, id, "Tarjeta declinada (prueba)")) }
    elseif kind == "past_due" or kind == "cancelled" then
        local t = kind == "past_due" and "subscription.past_due" or "subscription.cancel"
        return { message(cid .. "\0" .. t, subscription(t, checkout, buyer, id)) }
    end
    error("offline.events: kind must be paid, declined, past_due or cancelled", 2)
end

function _M.deliver(ev)
    local key, err = svix.secret()
    if not key then
        return nil, err, { retryable = false }
    end
    local body = type(ev.body) == "string" and ev.body or wm.json.encode(ev.body)
    local ts = tostring(math.floor(wm.now()))
    local url = hooks_url()
    local res, herr = wm.http.request {
        method = "POST", url = url, body = body, timeout = 15,
        headers = { ["Content-Type"] = "application/json", ["svix-id"] = ev.msg_id, ["svix-timestamp"] = ts,
                    ["svix-signature"] = svix.sign(key, ev.msg_id, ts, body) },
    }
    if not res then
        wm.log.warn("offline payments: webhook not delivered", { url = url, msg_id = ev.msg_id, error = herr })
        return nil, "the webhook endpoint " .. url .. " did not answer: " .. tostring(herr), { retryable = true }
    end
    if res.status < 200 or res.status >= 300 then
        wm.log.warn("offline payments: webhook refused", { url = url, msg_id = ev.msg_id, status = res.status })
        return nil, ("the webhook endpoint %s answered %d"):format(url, res.status),
            { retryable = res.status >= 500 or res.status == 429, status = res.status }
    end
    wm.log.info("offline payments: webhook delivered", { msg_id = ev.msg_id, status = res.status })
    return true
end

-- Sends each event in turn; stops at the first one refused.
function _M.deliver_all(list)
    for _, ev in ipairs(list) do
        local ok, err, info = _M.deliver(ev)
        if not ok then
            return nil, err, info
        end
    end
    return true
end

-- A subscription known here (made by an earlier offline payment), as the
-- buyer and checkout its events need.
local function known_subscription(sub_id)
    return wm.db.one([[SELECT s.recurrente_checkout_id, c.email, c.full_name, k.id AS checkout_row
        FROM subscriptions s JOIN customers c ON c.id = s.customer_id
        LEFT JOIN checkouts k ON k.provider_checkout_id = s.recurrente_checkout_id
        WHERE s.recurrente_subscription_id = $1]], sub_id)
end

function _M.cancel_subscription(sub_id)
    local s, err = known_subscription(sub_id)
    if not s then
        return nil, err or ("offline: no subscription " .. tostring(sub_id)), { retryable = err ~= nil }
    end
    local checkout = s.checkout_row ~= wm.null and require("domain.checkouts").get(s.checkout_row)
    if not checkout then
        return nil, "offline: subscription " .. sub_id .. " was not bought through an offline checkout",
            { retryable = false }
    end
    return _M.deliver_all(_M.events("cancelled", checkout, { email = s.email, full_name = s.full_name }))
end

function _M.refund(payment_intent_id)
    local p, err = wm.db.one([[SELECT p.amount_cents, p.currency, c.email, c.full_name, c.recurrente_user_id
        FROM payments p JOIN customers c ON c.id = p.customer_id WHERE p.recurrente_payment_id = $1]],
        payment_intent_id)
    if not p then
        return nil, err or ("offline: no payment intent " .. tostring(payment_intent_id)), { retryable = err ~= nil }
    end
    local id = derived("re_", "refund", payment_intent_id)
    local ok, derr, info = _M.deliver({ msg_id = derived("msg_", "refund", payment_intent_id), body = {
        id = id, event_type = "refund.create", api_version = API_VERSION, created_at = iso(), status = "succeeded",
        amount_in_cents = p.amount_cents, currency = p.currency, payment_intent_id = payment_intent_id,
        payment_intent = { id = payment_intent_id },
        customer = { email = p.email, full_name = p.full_name, id = p.recurrente_user_id },
    } })
    if not ok then
        return nil, derr, info
    end
    return { id = id, status = "succeeded" }
end

return _M
