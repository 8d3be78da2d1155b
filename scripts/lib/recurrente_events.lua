-- Reading Recurrente's webhook payloads (providers.md 1.5, 1.6).
--
--   events.read(doc) -> event_type, kind, data
--       event_type as sent (top-level `event_type`, or inside a `data`
--       wrapper); kind is what it means here, nil for a type this system
--       does not act on; data is the event's object, whether the payload is
--       flat (the detailed examples) or wrapped in {event_type, created_at,
--       data} (the generic one).
--   events.payment(data, doc) -> facts of a payment_intent / intent event
--   events.subscription(data, doc) -> facts of a subscription.* event
--   events.refund(data, doc) -> facts of a refund.create event
--
-- Legacy and unified names both count (both are sent for one payment, with
-- different message ids; the payment intent id makes them one payment).
local type, tostring, tonumber, next = type, tostring, tonumber, next
local floor = math.floor

local _M = {}

_M.KINDS = {
    ["payment_intent.succeeded"] = "payment_succeeded",
    ["intent.succeeded"] = "payment_succeeded",
    ["payment_intent.failed"] = "payment_failed",
    ["intent.failed"] = "payment_failed",
    ["subscription.create"] = "subscription_created",
    ["subscription.past_due"] = "subscription_past_due",
    ["subscription.paused"] = "subscription_paused",
    ["subscription.pause"] = "subscription_paused",
    ["subscription.unpause"] = "subscription_resumed",
    ["subscription.reactivate"] = "subscription_resumed",
    ["subscription.cancel"] = "subscription_cancelled",
    ["refund.create"] = "refund_created",
}

local function str(v)
    if type(v) == "string" and v ~= "" then
        return v
    elseif type(v) == "number" then
        return tostring(v)
    end
    return nil
end

local function tbl(v)
    return type(v) == "table" and v or {}
end

local function cents(v)
    v = tonumber(v)
    if v == nil or v ~= v or v >= 2 ^ 31 or v <= -2 ^ 31 then
        return nil
    end
    return floor(v + 0.5)
end

-- An ISO 8601 time as the provider sent it (PostgreSQL reads it), or an
-- epoch number; anything else is no time (the database's now() is used).
local function time(v)
    if type(v) == "number" and v > 0 and v < 1e11 then
        return os.date("!%Y-%m-%dT%H:%M:%SZ", floor(v))
    end
    if type(v) == "string" and #v <= 40 and v:match("^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d[%d:.]*[Z%d:+%- ]*$") then
        return v
    end
    return nil
end

function _M.read(doc)
    if type(doc) ~= "table" then
        return nil
    end
    local data = doc
    local wrapped = type(doc.data) == "table" and next(doc.data) ~= nil and doc.id == nil and doc.checkout == nil
    if wrapped then
        data = doc.data
    end
    local event_type = str(doc.event_type) or str(data.event_type) or str(doc.type)
    return event_type, event_type and _M.KINDS[event_type], data
end

local function subscription_id(d)
    local pbl = tbl(tbl(d.payment).paymentable)
    local id = str(pbl.id)
    if id and (pbl.type == "Subscription" or id:match("^su_")) then
        return id
    end
    return str(tbl(d.subscription).id) or str(d.subscription_id)
end

function _M.payment(d, doc)
    local checkout = tbl(d.checkout)
    local pm = tbl(checkout.payment_method)
    if next(pm) == nil then
        pm = tbl(d.payment_method)
    end
    local card = tbl(pm.card)
    local customer = tbl(d.customer)
    local metadata = tbl(checkout.metadata)
    if next(metadata) == nil then
        metadata = tbl(d.metadata)
    end
    local amount = cents(d.amount_in_cents) or cents(checkout.total_in_cents)
    local fee = cents(d.fee)
    local vat = cents(d.vat_withheld)
    local currency = str(d.currency) or str(checkout.currency)
    local vat_same = vat and (d.vat_withheld_currency == nil or d.vat_withheld_currency == wm.null
        or d.vat_withheld_currency == currency)
    return {
        id = str(d.id),
        subscription_id = subscription_id(d),
        checkout_id = str(checkout.id),
        metadata = metadata,
        amount_cents = amount,
        currency = currency,
        fee_cents = fee,
        -- What reaches the account: the amount less Recurrente's fee and any
        -- VAT withheld in the same currency.
        net_cents = amount and (amount - (fee or 0) - (vat_same and vat or 0)) or nil,
        payment_method = str(pm.type),
        card_last4 = str(card.last4),
        card_network = str(card.network),
        email = str(customer.email) or str(d.customer_email),
        full_name = str(customer.full_name) or str(d.customer_name),
        user_id = str(customer.id) or str(d.customer_id),
        at = time(d.created_at) or time(tbl(doc).created_at),
        failure_reason = str(d.failure_reason),
    }
end

function _M.subscription(d, doc)
    return {
        id = str(d.id) or str(tbl(d.subscription).id),
        email = str(d.customer_email) or str(tbl(d.customer).email),
        full_name = str(d.customer_name) or str(tbl(d.customer).full_name),
        user_id = str(d.customer_id) or str(tbl(d.customer).id),
        at = time(d.created_at) or time(tbl(doc).created_at),
    }
end

function _M.refund(d, doc)
    local intent = tbl(d.payment_intent)
    return {
        id = str(d.id),
        payment_intent_id = str(d.payment_intent_id) or str(intent.id) or str(tbl(d.payment).id),
        amount_cents = cents(d.amount_in_cents) or cents(d.amount_cents),
        at = time(d.created_at) or time(tbl(doc).created_at),
    }
end

return _M
