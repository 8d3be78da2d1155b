-- Customer state: the one home of customers.status and lifetime_value_cents.
-- Each change runs inside the caller's transaction (wm.db.run joins it) and
-- writes its activity row; `actor` is the activity's actor_type ("webhook"
-- for provider events, "system" for sweeps, "user" for the CLI).
--
--   status: active -> past_due -> active (paid again)
--           active | past_due -> cancelled (no live subscription left) -> churned (site archived)
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

local function str(v)
    if v == nil or v == wm.null then
        return nil
    end
    v = tostring(v)
    return v ~= "" and v or nil
end

-- find_or_create{recurrente_user_id=, email=, full_name=, phone=, business_id=, site_id=}, actor
-- -> row {id, status, created}. Found by the provider's user id, then by email
-- (case-insensitive), which then gains the user id it lacked; else created.
-- Callers hold a lock on the email (apply_webhook's per-key locks) so two
-- first payments by one person cannot make two customers.
function _M.find_or_create(c, actor)
    local uid, email = str(c.recurrente_user_id), str(c.email)
    local row, err
    if uid then
        row, err = one("SELECT id, status FROM customers WHERE recurrente_user_id = $1", uid)
        if err then
            return nil, err
        end
    end
    if not row and email then
        row, err = one([[SELECT id, status FROM customers WHERE lower(email) = lower($1)
            ORDER BY (recurrente_user_id IS NULL) DESC, created_at LIMIT 1]], email)
        if err then
            return nil, err
        end
        if row and uid then
            local ok
            ok, err = wm.db.run([[UPDATE customers SET recurrente_user_id = $2, updated_at = now()
                WHERE id = $1 AND recurrente_user_id IS NULL]], row.id, uid)
            if not ok then
                return nil, err
            end
        end
    end
    if row then
        row.created = false
        return row
    end
    if not email then
        return nil, "the payment names no customer email"
    end
    row, err = one([[INSERT INTO customers (business_id, site_id, recurrente_user_id, email, full_name, phone,
            status, lifetime_value_cents)
        VALUES ($1, $2, $3, left($4, 255), left($5, 255), left($6, 50), 'active', 0) RETURNING id, status]],
        c.business_id, c.site_id, uid, email, str(c.full_name), str(c.phone))
    if not row then
        return nil, err
    end
    assert(activity.log("customer.created", "customer", row.id, { email = email, recurrente_user_id = uid },
                        actor or "system"))
    row.created = true
    return row
end

-- lifetime_value_cents grows with each payment (and shrinks by refunds).
function _M.add_value(id, cents)
    return one([[UPDATE customers SET lifetime_value_cents = coalesce(lifetime_value_cents, 0) + $2,
        updated_at = now() WHERE id = $1 RETURNING lifetime_value_cents]], id, cents)
end

-- active -> past_due (a renewal failed).
function _M.past_due(id, actor)
    local row, err = one([[UPDATE customers SET status = 'past_due', updated_at = now()
        WHERE id = $1 AND status = 'active' RETURNING id]], id)
    if row then
        assert(activity.log("customer.past_due", "customer", id, {}, actor or "system"))
    end
    return row, err
end

-- past_due | cancelled | churned -> active (a payment went through).
function _M.reactivate(id, actor)
    local row, err = one([[UPDATE customers SET status = 'active', updated_at = now()
        WHERE id = $1 AND status IN ('past_due', 'cancelled', 'churned') RETURNING id]], id)
    if row then
        assert(activity.log("customer.reactivated", "customer", id, {}, actor or "system"))
    end
    return row, err
end

-- active | past_due -> cancelled, once no subscription of theirs is live.
function _M.cancelled(id, actor)
    local row, err = one([[UPDATE customers c SET status = 'cancelled', updated_at = now()
        WHERE c.id = $1 AND c.status IN ('active', 'past_due') AND NOT EXISTS (SELECT 1 FROM subscriptions s
            WHERE s.customer_id = c.id AND s.status IN ('active', 'past_due', 'paused')) RETURNING c.id]], id)
    if row then
        assert(activity.log("customer.cancelled", "customer", id, {}, actor or "system"))
    end
    return row, err
end

-- cancelled -> churned: the paid period ended and the site is archived.
function _M.churned(id, actor)
    local row, err = one([[UPDATE customers SET status = 'churned', updated_at = now()
        WHERE id = $1 AND status = 'cancelled' RETURNING id]], id)
    if row then
        assert(activity.log("customer.churned", "customer", id, {}, actor or "system"))
    end
    return row, err
end

function _M.ls(limit)
    return wm.db.run([[SELECT c.id, c.email, c.full_name, c.status, c.lifetime_value_cents, c.recurrente_user_id,
            to_char(c.created_at, 'YYYY-MM-DD HH24:MI') AS created_at,
            (SELECT count(*) FROM subscriptions s WHERE s.customer_id = c.id)::int AS subscriptions
        FROM customers c ORDER BY c.created_at DESC LIMIT $1]], limit or 100)
end

-- The customer with their subscriptions (and sites) and payments, or nil.
function _M.show(id)
    local c, err = one([[SELECT c.*, b.name AS business_name FROM customers c
        LEFT JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], id)
    if not c then
        return nil, err
    end
    local subs = assert(wm.db.run([[SELECT s.id, s.recurrente_subscription_id, s.status, s.amount_cents, s.currency,
            s.current_period_start, s.current_period_end, s.past_due_at, s.cancelled_at,
            g.subdomain, g.status AS site_status, g.paused_at
        FROM subscriptions s LEFT JOIN generated_sites g ON g.id = s.site_id
        WHERE s.customer_id = $1 ORDER BY s.created_at]], id))
    local pays = assert(require("domain.payments").ls { customer_id = id, limit = 1000 })
    return { customer = c, subscriptions = subs, payments = pays }
end

return _M
