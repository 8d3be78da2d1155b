-- portal_welcome {customer_id, kind}: emails a customer a fresh single-use
-- link to the portal through the mail provider. kind "welcome" is enqueued
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
        local url, lerr = account.new_link(c.id)
        if not url then
            return outcome.retry("storing the link: " .. tostring(lerr))
        end
        local msg = account.email(c, url, job.payload.kind == "link" and "link" or "welcome")
        local mailer, name = require("lib.providers").get("mail")
        local mcfg = wm.config.mail
        local sent, serr, info = mailer.send {
            from = { name = mcfg.from_name, email = mcfg.from_email },
            to = { name = c.full_name ~= wm.null and c.full_name or nil, email = c.email },
            subject = msg.subject, text = msg.text, html = msg.html,
        }
        if not sent then
            local why = "mail provider " .. name .. ": " .. tostring(serr)
            if type(info) == "table" and info.permanent then
                return outcome.discard(why)
            end
            return outcome.retry(why, type(info) == "table" and info.retry_after or nil)
        end
        assert(require("lib.activity").log("customer.portal_link_sent", "customer", c.id,
            { kind = job.payload.kind or "welcome", message_id = sent.message_id }))
        return outcome.done()
    end,
}
