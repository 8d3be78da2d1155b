-- send {business_id, campaign_id}: at most once per campaign. In one
-- transaction the campaign goes 'pending' -> 'sending' after the checks
-- (suppression list, one cold email per business and per address, the
-- daily cap), all under one advisory lock so hosts cannot overshoot the cap
-- or email a shared address twice together; the provider is called only
-- after that commit; then 'sent'. The provider's answer says whether
-- anything left: sent = false goes back to 'pending' and is retried; an
-- uncertain answer, or a crash between the call and the commit, leaves the
-- campaign 'sending' (`wm campaigns stuck`), never a second email.
-- While outreach is paused (domain.outreach, the dashboard's Campaigns
-- page) the job snoozes, spending no attempt, and the campaign stays
-- 'pending'; the check is made again inside the claim, so a pause that
-- commits before it stops the email.
local providers = require "lib.providers"
local email = require "lib.email"
local dkim = require "lib.dkim"
local campaigns = require "domain.campaigns"
local outcome = require "lib.outcome"
local mail_limit = require "lib.mail_limit"
local outreach = require "domain.outreach"

local SEND_LOCK = 7031722

local function seconds_to_midnight()
    local r = assert(wm.db.one([[SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC')
        + interval '1 day') - (now() AT TIME ZONE 'UTC'))::float8 AS s]]))
    return math.max(60, r.s + 5)
end

-- Why this campaign must not be sent, or nil. Runs under SEND_LOCK.
local function reason_not_to_send(q, c)
    local addr = tostring(c.recipient_email):lower()
    local suppressed = q:one("SELECT reason FROM suppression_list WHERE email = $1", addr)
    if suppressed then
        return "suppressed: " .. suppressed.reason
    end
    if c.contact_status == "unsubscribed" or c.contact_status == "bounced" then
        return c.contact_status
    end
    -- Cold outreach: one email per business, whatever the site version...
    if q:one([[SELECT 1 FROM campaigns WHERE business_id = $1 AND id <> $2
        AND status NOT IN ('pending', 'failed')]], c.business_id, c.id) then
        return "business already emailed"
    end
    -- ...and one per address, whichever business it belongs to.
    if q:one([[SELECT 1 FROM campaigns WHERE lower(recipient_email) = $1 AND id <> $2
        AND status NOT IN ('pending', 'failed')]], addr, c.id) then
        return "address already emailed for another business"
    end
end

-- Claims the campaign for sending; returns "go", row | "skip", why |
-- "stuck", why | "cap" | "paused".
local function claim(campaign_id)
    return wm.db.tx(function(q)
        local paused, perr = outreach.paused()
        if perr then
            error(perr, 0)
        elseif paused then
            return "paused"
        end
        local c = q:one([[SELECT c.*, b.contact_status, b.name AS biz_name, s.subdomain, s.screenshot_desktop_url
            FROM campaigns c JOIN businesses b ON b.id = c.business_id
            LEFT JOIN generated_sites s ON s.id = c.site_id
            WHERE c.id = $1 FOR UPDATE OF c]], campaign_id)
        if not c then
            return "skip", "no such campaign"
        end
        if c.status == "sending" then
            return "stuck", "campaign is in 'sending': it may have been sent (wm campaigns stuck)"
        elseif c.status ~= "pending" then
            return "skip", "campaign is " .. c.status
        end
        assert(q:query("SELECT pg_advisory_xact_lock($1)", SEND_LOCK))
        local why = reason_not_to_send(q, c)
        if why then
            assert(campaigns.skip(c.id, why))
            return "skip", why
        end
        local today = assert(q:one([[SELECT count(*)::int AS n FROM campaigns
            WHERE status <> 'pending' AND status <> 'failed'
              AND coalesce(sent_at, sending_started_at) >= date_trunc('day', now() AT TIME ZONE 'UTC')]])).n
        if today >= wm.config.mail.daily_cap then
            return "cap"
        end
        local mailer, name = providers.get("mail")
        assert(campaigns.start_sending(c.id, name, mailer.sender and mailer.sender() or nil))
        return "go", c
    end)
end

local function message(c)
    local mcfg = wm.config.mail
    local composer = wm.json.decode(c.email_body) or {}
    return email.render {
        composer = composer,
        business = { name = c.biz_name },
        site_url = require("domain.sites").url(c.subdomain),
        base_url = wm.config.sites.base_url,
        campaign_id = c.id,
        from = { name = mcfg.from_name, email = mcfg.from_email },
        to = { name = c.biz_name, email = c.recipient_email },
        postal_address = mcfg.postal_address,
        review_highlight = c.review_highlight ~= wm.null and c.review_highlight or nil,
        screenshot_url = c.screenshot_desktop_url ~= wm.null and c.screenshot_desktop_url or nil,
    }
end

return {
    kind = "send",
    concurrency = 2,
    timeout = 120,
    max_attempts = 5,
    run = function(job)
        -- Paused: before the rate limit, so a paused campaign takes no token.
        local paused, perr = outreach.paused()
        if perr then
            return outcome.retry("reading the outreach switch: " .. tostring(perr))
        elseif paused then
            return outcome.snooze(outreach.SNOOZE)
        end
        -- The provider's rate limit (mail.rate_limits, shared by every host
        -- and with transactional mail, which goes first) is taken before the
        -- claim: a host that dies meanwhile leaves the campaign pending, not
        -- 'sending'.
        local later = mail_limit.turn("outreach")
        if later then
            return later
        end
        -- A DKIM set-up that cannot sign is the operator's to fix: the
        -- campaign waits, pending, without spending attempts (never sent
        -- unsigned, never failed in the provider).
        local _, dkim_err = dkim.config()
        if dkim_err then
            wm.log.warn("mail waits: " .. dkim_err, { campaign_id = job.payload.campaign_id })
            return outcome.snooze(300)
        end
        local what, c = claim(job.payload.campaign_id)
        if what == nil then
            return outcome.retry(c)
        elseif what == "skip" then
            return outcome.done()
        elseif what == "stuck" then
            return outcome.discard(c)
        elseif what == "paused" then
            return outcome.snooze(outreach.SNOOZE)
        elseif what == "cap" then
            wm.log.info("daily email cap reached; the campaign waits for tomorrow",
                        { cap = wm.config.mail.daily_cap })
            return outcome.snooze(seconds_to_midnight())
        end
        local msg, err = message(c)
        if not msg then
            assert(campaigns.release(c.id, "rendering the email: " .. tostring(err)))
            return outcome.retry("rendering the email: " .. tostring(err))
        end
        local mailer, name = providers.get("mail")
        local mcfg = wm.config.mail
        local sent, serr, info = mailer.send {
            from = { name = mcfg.from_name, email = mcfg.from_email },
            to = { name = c.biz_name, email = c.recipient_email },
            subject = msg.subject, text = msg.text, html = msg.html, headers = msg.headers,
            campaign_id = c.id,
        }
        if not sent then
            info = type(info) == "table" and info or {}
            local why = "mail provider " .. name .. ": " .. tostring(serr)
            if info.sent == false and info.permanent then
                assert(campaigns.fail(c.id, why))
                return outcome.discard(why)
            elseif info.sent == false and info.throttled then
                -- Throttling (a rate limit, SMTP 421/450/451/452/454) is no
                -- failure: wait and go again without spending an attempt.
                assert(campaigns.release(c.id, why))
                return outcome.snooze(info.retry_after or 60)
            elseif info.sent == false then
                assert(campaigns.release(c.id, why))
                return outcome.retry(why, info.retry_after)
            end
            -- The provider may have sent it: never again by itself.
            assert(campaigns.hold(c.id, why))
            return outcome.discard(why .. " (left in 'sending': wm campaigns stuck)")
        end
        local ok, terr = wm.db.tx(function()
            return assert(campaigns.mark_sent(c.id, sent.message_id, name))
        end)
        if not ok then
            -- Sent, but not recorded: it stays 'sending' for a person (or the
            -- provider's lookup) to resolve; never sent again.
            return outcome.discard("sent, but recording it failed (left in 'sending'): " .. tostring(terr))
        end
        return outcome.done()
    end,
}
