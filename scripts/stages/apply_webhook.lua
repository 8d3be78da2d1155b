-- apply_webhook {event_id}: applies one stored webhook event (webhook_events
-- row) in ONE transaction: every effect of the event and the event's own
-- status commit together or not at all. The event row is locked first and an
-- applied event is never applied again, so the job running twice (a replay,
-- a rescued lease) has one effect.
--
-- Events for one subscription, payment or customer take turns (transaction
-- advisory locks on those ids, in a fixed order). An event whose
-- prerequisite is not known yet (a cancel before the subscription's first
-- payment, a refund before its payment) is kept 'pending' with the id it
-- waits for; the event that makes that id known re-enqueues it in the same
-- transaction, so either order of delivery ends in the same state.
--
-- An event that cannot ever apply (no site matches a payment, a payment with
-- no intent id) is 'failed' with the reason, and the job completes; a
-- database error rolls everything back and the job is retried, the last
-- attempt leaving the event 'failed' (`wm hooks replay ID` tries again).
local outcome = require "lib.outcome"
local webhook_events = require "domain.webhook_events"

local LOCK_SPACE = 7031730      -- advisory lock keys: hashtextextended(key, LOCK_SPACE)
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local ACTOR = "webhook"

local function one(sql, ...)
    local rows = assert(wm.db.run(sql, ...))
    return rows[1]
end

local function lock(keys)
    local list, seen = {}, {}
    for _, k in pairs(keys) do
        if k and not seen[k] then
            seen[k] = true
            list[#list + 1] = k
        end
    end
    table.sort(list)
    for _, k in ipairs(list) do
        assert(wm.db.run("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", k, LOCK_SPACE))
    end
end

local function email_key(email)
    return email and ("email:" .. email:lower()) or nil
end

-- The site a payment is for: by the checkout id when the checkout was made
-- here, else by checkout.metadata.site_id (a payment link made in
-- Recurrente's dashboard carries only metadata), else (a renewal) the
-- subscription's own site.
local function site_for(f, sub)
    local row
    if f.checkout_id then
        row = one([[SELECT k.id AS checkout_id, k.site_id AS id, k.business_id, k.kind FROM checkouts k
            WHERE k.provider_checkout_id = $1 ORDER BY k.created_at DESC LIMIT 1]], f.checkout_id)
    end
    local meta = f.metadata.site_id
    if not row and type(meta) == "string" and meta:lower():match(UUID) then
        row = one("SELECT id, business_id FROM generated_sites WHERE id = $1", meta)
    end
    if not row and sub and sub.site_id ~= wm.null then
        row = one("SELECT id, business_id FROM generated_sites WHERE id = $1", sub.site_id)
    end
    return row
end

-- The prompt versions that built this business's site and wrote its email
-- (recorded per LLM call) get one more success.
local function count_prompt_success(business_id)
    assert(wm.db.run([[UPDATE prompt_settings SET success_count = coalesce(success_count, 0) + 1
        WHERE id IN (SELECT DISTINCT unnest(prompt_settings_ids) FROM llm_calls
                     WHERE business_id = $1 AND ok)]], business_id))
end

-- The first payment for a site sells it: live page, business sold and
-- purchased, campaign converted, the grid cell's conversions, the prompts.
local function sell(site)
    local sites = require "domain.sites"
    if not sites.mark_live(site.id, ACTOR) then
        return false
    end
    local b = require("domain.businesses").sold(site.business_id, ACTOR)
    require("domain.campaigns").converted(site.id, ACTOR)
    if b then
        assert(require("lib.pipeline").recount_grid(b.coverage_grid_id))
    end
    count_prompt_success(site.business_id)
    return true
end

local H = {}

H.payment_succeeded = {
    facts = function(d, doc) return require("lib.recurrente_events").payment(d, doc) end,
    keys = function(f) return { f.id, f.subscription_id, email_key(f.email) } end,
    apply = function(f)
        local payments = require "domain.payments"
        local subscriptions = require "domain.subscriptions"
        local customers = require "domain.customers"
        if not f.id then
            return "failed", "the payment has no payment intent id"
        end
        if not f.amount_cents then
            return "failed", "the payment has no amount_in_cents"
        end
        if payments.by_provider_id(f.id) then
            return "applied"                -- the same payment under its other event name
        end
        local sub = f.subscription_id and subscriptions.by_provider_id(f.subscription_id)
        local site = site_for(f, sub)
        if not site then
            return "failed", ("no site matches this payment (checkout %s, metadata.site_id %s)"):format(
                tostring(f.checkout_id), tostring(f.metadata.site_id))
        end
        local customer = assert(customers.find_or_create({ recurrente_user_id = f.user_id, email = f.email,
            full_name = f.full_name, business_id = site.business_id, site_id = site.id }, ACTOR))
        if customer.created then        -- the portal's welcome email, in this transaction
            assert(wm.jobs.enqueue("portal_welcome", { customer_id = customer.id, kind = "welcome" },
                                   { unique_key = "portal_welcome:" .. customer.id }))
        end
        local renewal = sub ~= nil
        if f.subscription_id and not sub then
            sub = assert(subscriptions.start({ customer_id = customer.id, site_id = site.id,
                recurrente_subscription_id = f.subscription_id, recurrente_checkout_id = f.checkout_id,
                amount_cents = f.amount_cents, currency = f.currency, at = f.at }, ACTOR))
            sub.status = "active"
        end
        assert(payments.record({ customer_id = customer.id, subscription_id = sub and sub.id,
            recurrente_payment_id = f.id, recurrente_checkout_id = f.checkout_id, amount_cents = f.amount_cents,
            currency = f.currency, fee_cents = f.fee_cents, net_cents = f.net_cents,
            payment_type = sub and "subscription" or "one_time", status = "succeeded",
            payment_method = f.payment_method, card_last4 = f.card_last4, card_network = f.card_network,
            paid_at = f.at }, ACTOR))
        assert(customers.add_value(customer.id, f.amount_cents))
        if renewal then
            sub = assert(subscriptions.renew(sub.id, f.at, ACTOR))
        end
        if site.checkout_id then
            require("domain.checkouts").paid(site.checkout_id, ACTOR)
        end
        -- A late delivery of an old renewal of a cancelled subscription
        -- brings nothing back.
        if sub and sub.status == "cancelled" then
            return "applied"
        end
        customers.reactivate(customer.id, ACTOR)
        if not sell(site) then
            require("domain.sites").restore(site.id, ACTOR)
        end
        return "applied"
    end,
    provides = function(f) return { f.id, f.subscription_id } end,
}

H.payment_failed = {
    facts = H.payment_succeeded.facts,
    keys = function(f) return { f.id, f.subscription_id } end,
    apply = function(f)
        local sub = f.subscription_id and require("domain.subscriptions").by_provider_id(f.subscription_id)
        if not sub then
            -- A declined first payment: no customer exists, nothing to record
            -- but the checkout's failure (the buyer may try again).
            local checkout = f.checkout_id and one([[SELECT id FROM checkouts WHERE provider_checkout_id = $1
                AND status = 'open' ORDER BY created_at DESC LIMIT 1]], f.checkout_id)
            if checkout then
                require("domain.checkouts").fail(checkout.id, f.failure_reason or "payment failed")
            end
            return "applied"
        end
        if not f.id then
            return "failed", "the payment has no payment intent id"
        end
        assert(require("domain.payments").record({ customer_id = sub.customer_id, subscription_id = sub.id,
            recurrente_payment_id = f.id, recurrente_checkout_id = f.checkout_id,
            amount_cents = f.amount_cents or sub.amount_cents, currency = f.currency, payment_type = "subscription",
            status = "failed", payment_method = f.payment_method, card_last4 = f.card_last4,
            card_network = f.card_network }, ACTOR))
        return "applied"
    end,
    provides = function() return {} end,
}

-- The subscription.* events act on a subscription known here; before its
-- first payment made it known they wait for it.
local function subscription_event(apply)
    return {
        facts = function(d, doc) return require("lib.recurrente_events").subscription(d, doc) end,
        keys = function(f) return { f.id } end,
        apply = function(f)
            if not f.id then
                return "failed", "the event names no subscription"
            end
            local sub = require("domain.subscriptions").by_provider_id(f.id)
            if not sub then
                return "pending", f.id
            end
            return apply(f, sub)
        end,
        provides = function() return {} end,
    }
end

-- The payment that made the subscription known did what subscription.create asks.
H.subscription_created = subscription_event(function() return "applied" end)

H.subscription_past_due = subscription_event(function(f, sub)
    if require("domain.subscriptions").past_due(sub.id, f.at, ACTOR) then
        require("domain.customers").past_due(sub.customer_id, ACTOR)
    end
    return "applied"
end)

H.subscription_paused = subscription_event(function(_, sub)
    if require("domain.subscriptions").pause(sub.id, ACTOR) and sub.site_id ~= wm.null then
        require("domain.sites").pause(sub.site_id, "subscription paused", ACTOR)
    end
    return "applied"
end)

H.subscription_resumed = subscription_event(function(_, sub)
    if require("domain.subscriptions").resume(sub.id, ACTOR) then
        require("domain.customers").reactivate(sub.customer_id, ACTOR)
        if sub.site_id ~= wm.null then
            require("domain.sites").restore(sub.site_id, ACTOR)
        end
    end
    return "applied"
end)

-- The site stays up to the end of the paid period; the billing sweep
-- archives it then.
H.subscription_cancelled = subscription_event(function(f, sub)
    if require("domain.subscriptions").cancel(sub.id, f.at, ACTOR) then
        require("domain.customers").cancelled(sub.customer_id, ACTOR)
    end
    return "applied"
end)

H.refund_created = {
    facts = function(d, doc) return require("lib.recurrente_events").refund(d, doc) end,
    keys = function(f) return { f.payment_intent_id } end,
    apply = function(f)
        if not f.id or not f.payment_intent_id then
            return "failed", "the refund names no refund id or payment intent"
        end
        local payments = require "domain.payments"
        local original = payments.by_provider_id(f.payment_intent_id)
        if not original then
            return "pending", f.payment_intent_id
        end
        local r = assert(payments.refund(original, { recurrente_refund_id = f.id, amount_cents = f.amount_cents,
            at = f.at }, ACTOR))
        if r.created then
            assert(require("domain.customers").add_value(original.customer_id, -r.amount_cents))
        end
        return "applied"
    end,
    provides = function() return {} end,
}

local function apply(id)
    local ev = webhook_events.lock(id)
    if not ev then
        return "gone"
    end
    if ev.status == "applied" or ev.status == "ignored" then
        return ev.status
    end
    local doc = wm.json.decode(ev.body)
    if type(doc) ~= "table" then
        assert(webhook_events.finish(id, "failed", "malformed JSON"))
        return "failed"
    end
    local events = require "lib.recurrente_events"
    local event_type, kind, data = events.read(doc)
    local h = kind and H[kind]
    if not h then
        assert(webhook_events.finish(id, "ignored", "no effect for event type " .. tostring(event_type)))
        return "ignored"
    end
    local f = h.facts(data, doc)
    lock(h.keys(f))
    local status, detail = h.apply(f)
    if status == "pending" then
        assert(webhook_events.finish(id, "pending", "waiting for " .. detail, detail))
    else
        assert(webhook_events.finish(id, status, status == "failed" and detail or nil))
    end
    if status == "applied" then
        local keys = {}
        for _, k in pairs(h.provides(f)) do
            keys[#keys + 1] = k
        end
        assert(webhook_events.wake(keys))
    end
    return status
end

return {
    kind = "apply_webhook",
    concurrency = 4,
    timeout = 60,
    max_attempts = 8,
    run = function(job)
        local id = job.payload.event_id
        local status, err = wm.db.tx(function() return apply(id) end)
        if status then
            if status == "failed" then
                wm.log.warn("webhook event failed", { event = id })
            end
            return outcome.done()
        end
        webhook_events.attempt_failed(id, err, (job.attempt or 1) >= (job.max_attempts or 1))
        return outcome.retry(err)
    end,
}
