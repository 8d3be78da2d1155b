-- The offline payments provider's later events ("fail later" on its
-- checkout page, scripts/web/pay.lua): subscription.past_due or
-- subscription.cancel for a checkout paid there, built and signed when the
-- job runs and posted to /hooks/recurrente like Recurrente would.
-- payload: {checkout_id = <checkouts.id>, event = "past_due" | "cancelled",
--           buyer = {email=, full_name=}}
local outcome = require "lib.outcome"

return {
    kind = "offline_payment_event",
    concurrency = 2,
    timeout = 60,
    max_attempts = 8,
    run = function(job)
        local p = job.payload
        local k, err = require("domain.checkouts").get(p.checkout_id)
        if not k then
            return err and outcome.retry(err) or outcome.discard("no checkout " .. tostring(p.checkout_id))
        end
        local offline = require "providers.payments.offline"
        local ok, derr, info = offline.deliver_all(offline.events(p.event, k, p.buyer or {}))
        if ok then
            return outcome.done()
        end
        if info and info.retryable then
            return outcome.retry(derr)
        end
        return outcome.discard(derr)
    end,
}
