-- billing_sweep (cron "billing"): what time alone changes in billing.
--   - a subscription past due for longer than commerce.grace_days: its site
--     shows the "paused" page (a later payment restores it);
--   - a cancelled subscription whose paid period is over: its site is
--     archived (no longer served), the business archived, the customer
--     churned when nothing else of theirs is live.
-- Each site in its own transaction, under the same advisory lock as the
-- webhook events of its subscription, so a payment being applied and the
-- sweep take turns. Idempotent: a second run finds nothing left to do.
local LOCK_SPACE = 7031730      -- apply_webhook's lock keys

local function grace_days()
    local g = tonumber((wm.config.commerce or {}).grace_days)
    return g or 7
end

-- Locks the subscription's provider id (as apply_webhook does) and runs fn
-- if the subscription is still in `status`.
local function locked(sub, status, fn)
    return wm.db.tx(function()
        local s = assert(wm.db.run([[SELECT recurrente_subscription_id AS rid FROM subscriptions WHERE id = $1]],
            sub.id))[1]
        if s and s.rid ~= wm.null then
            assert(wm.db.run("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", s.rid, LOCK_SPACE))
        end
        local now = assert(wm.db.run("SELECT status FROM subscriptions WHERE id = $1", sub.id))[1]
        if now and now.status == status then
            fn()
        end
        return true
    end)
end

return {
    kind = "billing_sweep",
    concurrency = 1,
    timeout = 300,
    max_attempts = 3,
    run = function()
        local subscriptions = require "domain.subscriptions"
        local sites = require "domain.sites"
        local paused, archived = 0, 0
        for _, s in ipairs(assert(subscriptions.grace_over(grace_days()))) do
            assert(locked(s, "past_due", function()
                if sites.pause(s.site_id, "past due beyond the grace period", "system") then
                    paused = paused + 1
                end
            end))
        end
        for _, s in ipairs(assert(subscriptions.period_over())) do
            assert(locked(s, "cancelled", function()
                local site = sites.archive(s.site_id, "subscription cancelled; paid period over", "system")
                if site then
                    archived = archived + 1
                    require("domain.businesses").archived(site.business_id, "system")
                    require("domain.customers").churned(s.customer_id, "system")
                end
            end))
        end
        if paused + archived > 0 then
            wm.log.info("billing sweep", { paused = paused, archived = archived })
        end
        return true
    end,
}
