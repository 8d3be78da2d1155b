-- discard_shots {site_id, urls}: removes the pictures of a ticket's
-- proposal that will never be shown (domain.tickets.discard_shots: only
-- files no generated_sites row names). Enqueued in the transaction that
-- gave the proposal up, so a file goes only once that has committed.
local outcome = require "lib.outcome"

return {
    kind = "discard_shots",
    concurrency = 1,
    timeout = 60,
    max_attempts = 3,
    run = function(job)
        local p = job.payload or {}
        local removed, err = require("domain.tickets").discard_shots(p.site_id, p.urls)
        if not removed then
            return outcome.retry(err)
        end
        return outcome.done()
    end,
}
