-- send {business_id, campaign_id}: at most once per campaign. In one
-- transaction the campaign goes 'pending' -> 'sending' after the checks
-- (suppression list, one email per business and site, the daily cap, under
-- an advisory lock so hosts cannot overshoot it together); the provider is
-- called only after that commit; then 'sent'. A crash between the two
-- leaves a visible 'sending' row for review, never a second email.
local providers = require "lib.providers"
local email = require "lib.email"
local pipeline = require "lib.pipeline"
local activity = require "lib.activity"

local CAP_LOCK = 7031722

local function seconds_to_midnight()
    local r = assert(wm.db.one([[SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC')
        + interval '1 day') - (now() AT TIME ZONE 'UTC'))::float8 AS s]]))
    return math.max(60, r.s + 5)
end

-- Claims the campaign for sending; returns "go", row | "skip", why | "cap".
local function claim(campaign_id)
    return wm.db.tx(function(q)
        local c = q:one([[SELECT c.*, b.contact_status, b.name AS biz_name, s.subdomain
            FROM campaigns c JOIN businesses b ON b.id = c.business_id
            LEFT JOIN generated_sites s ON s.id = c.site_id
            WHERE c.id = $1 FOR UPDATE OF c]], campaign_id)
        if not c then
            return "skip", "no such campaign"
        end
        if c.status ~= "pending" then
            return "skip", "campaign is " .. c.status
        end
        local addr = tostring(c.recipient_email):lower()
        local suppressed = q:one("SELECT reason FROM suppression_list WHERE email = $1", addr)
        -- Cold outreach: one email per business, whatever the site version.
        local other = q:one([[SELECT id FROM campaigns WHERE business_id = $1 AND id <> $2
            AND status NOT IN ('pending', 'failed')]], c.business_id, c.id)
        local why = suppressed and ("suppressed: " .. suppressed.reason)
            or (other and "business already emailed")
            or ((c.contact_status == "unsubscribed" or c.contact_status == "bounced") and c.contact_status)
        if why then
            assert(q:query("UPDATE campaigns SET status = 'failed', error_message = $2, updated_at = now() WHERE id = $1",
                           c.id, why))
            activity.log("campaign.skipped", "campaign", c.id, { reason = why })
            return "skip", why
        end
        assert(q:query("SELECT pg_advisory_xact_lock($1)", CAP_LOCK))
        local today = assert(q:one([[SELECT count(*)::int AS n FROM campaigns
            WHERE status <> 'pending' AND status <> 'failed'
              AND coalesce(sent_at, sending_started_at) >= date_trunc('day', now() AT TIME ZONE 'UTC')]])).n
        if today >= wm.config.mail.daily_cap then
            return "cap"
        end
        assert(q:query([[UPDATE campaigns SET status = 'sending', sending_started_at = now(), updated_at = now()
            WHERE id = $1]], c.id))
        return "go", c
    end)
end

return {
    kind = "send",
    concurrency = 2,
    timeout = 120,
    max_attempts = 5,
    run = function(job)
        local what, c = claim(job.payload.campaign_id)
        if what == nil then
            return nil, c
        elseif what == "skip" then
            return true
        elseif what == "cap" then
            wm.log.info("daily email cap reached; the campaign waits for tomorrow",
                        { cap = wm.config.mail.daily_cap })
            return { snooze = seconds_to_midnight() }
        end
        local mcfg = wm.config.mail
        local composer = wm.json.decode(c.email_body) or {}
        local base = wm.config.sites.base_url
        local msg, err = email.render {
            composer = composer,
            business = { name = c.biz_name },
            site_url = (wm.config.sites.site_url_pattern or "http://%s.localhost:8080/"):format(c.subdomain),
            base_url = base,
            campaign_id = c.id,
            from = { name = mcfg.from_name, email = mcfg.from_email },
            to = { name = c.biz_name, email = c.recipient_email },
            postal_address = mcfg.postal_address,
            review_highlight = c.review_highlight ~= wm.null and c.review_highlight or nil,
        }
        if not msg then
            -- Nothing left us: safe to put back and retry.
            assert(wm.db.query("UPDATE campaigns SET status = 'pending', error_message = $2 WHERE id = $1", c.id,
                               tostring(err)))
            return nil, "rendering the email: " .. tostring(err)
        end
        local mailer, name = providers.get("mail")
        local sent, serr = mailer.send {
            from = { name = mcfg.from_name, email = mcfg.from_email },
            to = { name = c.biz_name, email = c.recipient_email },
            subject = msg.subject, text = msg.text, html = msg.html, headers = msg.headers,
        }
        if not sent then
            -- The outbox (and providers that say so) fail before anything is
            -- sent: put it back for a retry. Anything uncertain stays 'sending'.
            if name == "outbox" or tostring(serr):match("^rejected") then
                assert(wm.db.query([[UPDATE campaigns SET status = 'pending', retry_count = retry_count + 1,
                    error_message = $2, updated_at = now() WHERE id = $1]], c.id, tostring(serr)))
                return nil, "mail provider " .. name .. ": " .. tostring(serr)
            end
            assert(wm.db.query("UPDATE campaigns SET error_message = $2, updated_at = now() WHERE id = $1", c.id,
                               tostring(serr)))
            return nil, "mail provider " .. name .. " (left in 'sending' for review): " .. tostring(serr),
                { discard = true }
        end
        return wm.db.tx(function(q)
            assert(q:query([[UPDATE campaigns SET status = 'sent', sent_at = now(), message_id = $2,
                email_provider = $3, updated_at = now() WHERE id = $1]], c.id, sent.message_id, name))
            assert(q:query([[UPDATE businesses SET contact_status = 'emailed', updated_at = now()
                WHERE id = $1 AND contact_status = 'pending']], c.business_id))
            activity.log("campaign.sent", "campaign", c.id, { provider = name, message_id = sent.message_id })
            return true
        end)
    end,
}
