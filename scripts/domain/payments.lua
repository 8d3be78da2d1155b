-- Payment records: the one home of payments rows and their status.
--   succeeded -> refunded (a refund row, payment_type 'refund', refund_of the
--   original, records the money going back; its amount is negative)
-- A payment is keyed by the provider's payment intent (pa_...), a refund by
-- its refund id (re_...): recording one twice records it once.
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

function _M.by_provider_id(recurrente_payment_id)
    return one([[SELECT id, customer_id, subscription_id, amount_cents, currency, status, payment_type, paid_at
        FROM payments WHERE recurrente_payment_id = $1]], recurrente_payment_id)
end

-- record{customer_id=, subscription_id=, recurrente_payment_id=, recurrente_checkout_id=, amount_cents=,
--   currency=, fee_cents=, net_cents=, payment_type=, status=, payment_method=, card_last4=,
--   card_network=, paid_at=}, actor -> row {id, created}
function _M.record(p, actor)
    local row, err = one([[INSERT INTO payments (customer_id, subscription_id, recurrente_payment_id,
            recurrente_checkout_id, amount_cents, currency, fee_cents, net_cents, payment_type, status,
            payment_method, card_last4, card_network, paid_at)
        VALUES ($1, $2, $3, $4, $5, coalesce($6, 'GTQ'), $7, $8, $9, $10::text, left($11, 30), left($12, 4), left($13, 20),
            CASE WHEN $10::text = 'succeeded' THEN coalesce($14::timestamptz, now()) END)
        ON CONFLICT (recurrente_payment_id) DO NOTHING RETURNING id]],
        p.customer_id, p.subscription_id, p.recurrente_payment_id, p.recurrente_checkout_id, p.amount_cents,
        p.currency, p.fee_cents, p.net_cents, p.payment_type, p.status, p.payment_method, p.card_last4,
        p.card_network, p.paid_at)
    if err then
        return nil, err
    end
    if not row then
        row = assert(_M.by_provider_id(p.recurrente_payment_id))
        row.created = false
        return row
    end
    assert(activity.log("payment." .. p.status, "payment", row.id, { amount_cents = p.amount_cents,
        currency = p.currency, recurrente_payment_id = p.recurrente_payment_id, type = p.payment_type },
        actor or "system"))
    row.created = true
    return row
end

-- succeeded -> refunded, with the refund's own row (refund_of the original,
-- negative amount). Returns {id, created, amount_cents} (amount refunded);
-- created = false when this refund was recorded before.
function _M.refund(original, r, actor)
    local amount = r.amount_cents or original.amount_cents
    local row, err = one([[INSERT INTO payments (customer_id, subscription_id, recurrente_payment_id, amount_cents,
            currency, payment_type, status, refund_of, paid_at, refunded_at)
        VALUES ($1, $2, $3, -$4::int, $5, 'refund', 'succeeded', $6, coalesce($7::timestamptz, now()),
            coalesce($7::timestamptz, now()))
        ON CONFLICT (recurrente_payment_id) DO NOTHING RETURNING id]],
        original.customer_id, original.subscription_id, r.recurrente_refund_id, amount, original.currency,
        original.id, r.at)
    if err then
        return nil, err
    end
    if not row then
        return { created = false }
    end
    assert(wm.db.run([[UPDATE payments SET status = 'refunded', refunded_at = coalesce($2::timestamptz, now())
        WHERE id = $1 AND status = 'succeeded']], original.id, r.at))
    assert(activity.log("payment.refunded", "payment", original.id, { amount_cents = amount,
        refund_id = row.id, recurrente_refund_id = r.recurrente_refund_id }, actor or "system"))
    return { id = row.id, created = true, amount_cents = amount }
end

-- When the subscription was last paid for (nil if never).
function _M.last_paid_at(subscription_id)
    local row = one([[SELECT max(paid_at) AS at FROM payments WHERE subscription_id = $1
        AND payment_type = 'subscription' AND status IN ('succeeded', 'refunded')]], subscription_id)
    return row and row.at ~= wm.null and row.at or nil
end

-- ls{customer_id=, limit=} newest first.
function _M.ls(o)
    o = o or {}
    return wm.db.run([[SELECT p.id, p.customer_id, c.email, p.recurrente_payment_id, p.amount_cents, p.currency,
            p.fee_cents, p.net_cents, p.payment_type, p.status, p.payment_method, p.card_last4, p.card_network,
            to_char(p.paid_at, 'YYYY-MM-DD HH24:MI') AS paid_at, p.refund_of
        FROM payments p JOIN customers c ON c.id = p.customer_id
        WHERE ($1::uuid IS NULL OR p.customer_id = $1)
        ORDER BY p.created_at DESC LIMIT $2]], o.customer_id, o.limit or 100)
end

return _M
