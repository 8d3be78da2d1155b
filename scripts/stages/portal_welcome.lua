-- portal_welcome {customer_id, kind}: emails a customer a fresh single-use
-- link to the portal through the mail provider, in its turn in the
-- provider's rate limit (lib.mail_limit: before any campaign). kind "welcome" is enqueued
-- with the first payment (apply_webhook, in its transaction, unique per
-- customer); "link" when a customer asks for a new one (scripts/web/portal.lua).
--
-- The token is made here and only its hash is stored (the job's payload,
-- kept in the jobs table, never holds it). The link row commits before the
-- provider is called, so a retry after a failed send makes another link;
-- an unused one expires by itself. An email sent twice (the provider took
-- it, then the job died) is a harmless duplicate for a sign-in link.
local outcome = require "lib.outcome"
local account = require "web.portal.account"
local mail_limit = require "lib.mail_limit"

return {
    kind = "portal_welcome",
    concurrency = 2,
    timeout = 60,
    max_attempts = 5,
    run = function(job)
        local id = job.payload.customer_id
        local c, err = wm.db.one("SELECT id, email, full_name FROM customers WHERE id = $1", id)
        if not c then
            return err and outcome.retry(err) or outcome.discard("no customer " .. tostring(id))
        end
        -- Its turn in the provider's rate limit before the link is made: a
        -- snooze leaves no unused link behind.
        local later = mail_limit.turn("transactional")
        if later then
            return later
        end
        local url, lerr = account.new_link(c.id)
        if not url then
            return outcome.retry("storing the link: " .. tostring(lerr))
        end
        local sent, failed = account.send(c, account.email(c, url, job.payload.kind == "link" and "link" or "welcome"))
        if not sent then
            return failed
        end
        assert(require("lib.activity").log("customer.portal_link_sent", "customer", c.id,
            { kind = job.payload.kind or "welcome", message_id = sent.message_id }))
        return outcome.done()
    end,
}
