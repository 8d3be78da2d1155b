-- Subscription state: the one home of subscriptions.status and its period.
-- Each change checks the state it comes from, runs inside the caller's
-- transaction (wm.db.run joins it) and writes its activity row.
--
--   active -> past_due (a renewal failed; past_due_at) -> active (paid again)
--   active | past_due -> paused -> active (unpaused)
--   any -> cancelled (cancelled_at; the site stays up to current_period_end)
--
-- Times are the provider's (the event's created_at) when it gives them, so a
-- late delivery records when things happened, not when we heard.
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

local function log(action, id, details, actor)
    assert(activity.log(action, "subscription", id, details or {}, actor or "system"))
end

function _M.by_provider_id(recurrente_subscription_id)
    return one([[SELECT id, customer_id, site_id, status, amount_cents, current_period_end FROM subscriptions
        WHERE recurrente_subscription_id = $1]], recurrente_subscription_id)
end

-- The end of a period that starts at `at` (an ISO time or nil: now), in
-- PostgreSQL's calendar arithmetic (one month after 31 January is the end of
-- February).
local PERIOD_END = "coalesce($%d::timestamptz, now()) + interval '1 month'"

-- start{customer_id=, site_id=, recurrente_subscription_id=, recurrente_checkout_id=,
--   amount_cents=, currency=, at=} -> row {id, created} (found when it exists)
function _M.start(s, actor)
    local row, err = one(([[INSERT INTO subscriptions (customer_id, site_id, recurrente_subscription_id,
            recurrente_checkout_id, amount_cents, currency, status, current_period_start, current_period_end,
            started_at)
        VALUES ($1, $2, $3, $4, $5, coalesce($6, 'GTQ'), 'active', coalesce($7::timestamptz, now()), %s,
            coalesce($7::timestamptz, now()))
        ON CONFLICT (recurrente_subscription_id) DO NOTHING RETURNING id]]):format(PERIOD_END:format(7)),
        s.customer_id, s.site_id, s.recurrente_subscription_id, s.recurrente_checkout_id, s.amount_cents,
        s.currency, s.at)
    if err then
        return nil, err
    end
    if not row then
        row = assert(_M.by_provider_id(s.recurrente_subscription_id))
        row.created = false
        return row
    end
    log("subscription.started", row.id, { recurrente_subscription_id = s.recurrente_subscription_id,
        amount_cents = s.amount_cents }, actor)
    row.created = true
    return row
end

-- A renewal was paid at `at`: the period moves to [at, at + 1 month) when
-- that is later than the current one (a late delivery of an older payment
-- moves nothing), and past_due -> active.
function _M.renew(id, at, actor)
    local row, err = one(([[UPDATE subscriptions SET
            current_period_start = CASE WHEN coalesce($2::timestamptz, now()) > current_period_start
                THEN coalesce($2::timestamptz, now()) ELSE current_period_start END,
            current_period_end = GREATEST(current_period_end, %s),
            status = CASE WHEN status = 'past_due' THEN 'active' ELSE status END,
            past_due_at = CASE WHEN status = 'past_due' THEN NULL ELSE past_due_at END,
            updated_at = now()
        WHERE id = $1 RETURNING id, status, current_period_end]]):format(PERIOD_END:format(2)), id, at)
    if row then
        log("subscription.renewed", id, { period_end = row.current_period_end }, actor)
    end
    return row, err
end

-- active -> past_due, unless a payment newer than the failure (`at`) is
-- already recorded: then the failure is old news.
function _M.past_due(id, at, actor)
    local row, err = one([[UPDATE subscriptions s SET status = 'past_due',
            past_due_at = coalesce(s.past_due_at, $2::timestamptz, now()), updated_at = now()
        WHERE s.id = $1 AND s.status = 'active' AND NOT EXISTS (SELECT 1 FROM payments p
            WHERE p.subscription_id = s.id AND p.payment_type = 'subscription'
              AND p.status IN ('succeeded', 'refunded') AND p.paid_at > coalesce($2::timestamptz, now()))
        RETURNING s.id, s.customer_id, s.site_id]], id, at)
    if row then
        log("subscription.past_due", id, {}, actor)
    end
    return row, err
end

-- active | past_due -> paused (the merchant paused billing).
function _M.pause(id, actor)
    local row, err = one([[UPDATE subscriptions SET status = 'paused', updated_at = now()
        WHERE id = $1 AND status IN ('active', 'past_due') RETURNING id, customer_id, site_id]], id)
    if row then
        log("subscription.paused", id, {}, actor)
    end
    return row, err
end

-- paused -> active.
function _M.resume(id, actor)
    local row, err = one([[UPDATE subscriptions SET status = 'active', past_due_at = NULL, updated_at = now()
        WHERE id = $1 AND status = 'paused' RETURNING id, customer_id, site_id]], id)
    if row then
        log("subscription.resumed", id, {}, actor)
    end
    return row, err
end

-- any -> cancelled, at `at`.
function _M.cancel(id, at, actor)
    local row, err = one([[UPDATE subscriptions SET status = 'cancelled',
            cancelled_at = coalesce($2::timestamptz, now()), updated_at = now()
        WHERE id = $1 AND status <> 'cancelled' RETURNING id, customer_id, site_id, current_period_end]], id, at)
    if row then
        log("subscription.cancelled", id, { period_end = row.current_period_end }, actor)
    end
    return row, err
end

-- For the sweep: past-due subscriptions whose grace ended while their site
-- is still shown, and cancelled ones whose paid period is over while their
-- site is not archived yet.
function _M.grace_over(grace_days, limit)
    return wm.db.run([[SELECT s.id, s.customer_id, s.site_id FROM subscriptions s
        JOIN generated_sites g ON g.id = s.site_id
        WHERE s.status = 'past_due' AND s.past_due_at < now() - make_interval(days => $1)
          AND g.status = 'live' AND g.paused_at IS NULL
        ORDER BY s.past_due_at LIMIT $2]], grace_days, limit or 500)
end

function _M.period_over(limit)
    return wm.db.run([[SELECT s.id, s.customer_id, s.site_id FROM subscriptions s
        JOIN generated_sites g ON g.id = s.site_id
        WHERE s.status = 'cancelled' AND coalesce(s.current_period_end, s.cancelled_at) < now()
          AND g.status = 'live'
          AND NOT EXISTS (SELECT 1 FROM subscriptions o WHERE o.site_id = s.site_id AND o.id <> s.id
                          AND o.status IN ('active', 'past_due', 'paused'))
        ORDER BY s.current_period_end LIMIT $1]], limit or 500)
end

return _M
