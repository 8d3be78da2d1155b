-- Campaign state: the one home of campaigns.status. Each transition is a
-- named function that checks the state it comes from in its WHERE clause,
-- runs inside the caller's transaction when there is one (wm.db.run joins
-- it), and writes its activity row. Stages, routes and the CLI call these;
-- none writes the column itself.
--
--   pending -> sending -> sent -> delivered/opened/clicked/...
--      \-> failed (skipped: suppressed, already emailed, unsubscribed)
--   sending -> pending (released: nothing left us) | sent (resolved by hand)
local activity = require "lib.activity"

local _M = {}

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

-- create{business_id=, site_id=, subject=, body=, preview_text=, review_highlight=,
--   business_name=, recipient_email=, variant=, provider=} -> row | nil (one per site)
function _M.create(c)
    local row, err = one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body,
            preview_text, review_highlight, business_name, recipient_email, status, variant, email_provider)
        VALUES ($1, $2, $3, $4, left($5, 200), $6, left($7, 255), $8, 'pending', $9, $10)
        ON CONFLICT (site_id) WHERE site_id IS NOT NULL DO NOTHING RETURNING id, business_id]],
        c.business_id, c.site_id, c.subject, c.body, c.preview_text, c.review_highlight,
        c.business_name, c.recipient_email, c.variant, c.provider)
    if not row then
        return nil, err
    end
    assert(activity.log("campaign.composed", "campaign", row.id, { subject = c.subject }))
    return row
end

-- pending -> failed: will never be sent (why says so).
function _M.skip(id, why)
    local row, err = one([[UPDATE campaigns SET status = 'failed', error_message = $2, updated_at = now()
        WHERE id = $1 AND status = 'pending' RETURNING id]], id, why)
    if not row then
        return nil, err or "campaign not pending"
    end
    assert(activity.log("campaign.skipped", "campaign", id, { reason = why }))
    return row
end

-- pending -> sending, in its own transaction before the provider is called.
-- `provider` is the mail provider about to be called: a campaign left in
-- 'sending' must be looked up with the one that had it (auto_resolve), not
-- with the one configured when it was composed.
-- provider names the mail provider that gets it; sender (provider.sender(),
-- when it has one) which of its instances, for auto_resolve.
function _M.start_sending(id, provider, sender)
    local row, err = one([[UPDATE campaigns SET status = 'sending', sending_started_at = now(), updated_at = now(),
        email_provider = coalesce($2, email_provider), sending_host = $3
        WHERE id = $1 AND status = 'pending' RETURNING id]], id, provider, sender)
    if not row then
        return nil, err or "campaign not pending"
    end
    return row
end

-- sending -> pending: the provider said nothing left (or a person said so).
function _M.release(id, why, actor)
    local row, err = one([[UPDATE campaigns SET status = 'pending', retry_count = retry_count + 1,
        error_message = $2, updated_at = now() WHERE id = $1 AND status = 'sending' RETURNING id]], id, why)
    if not row then
        return nil, err or "campaign not sending"
    end
    assert(activity.log("campaign.released", "campaign", id, { reason = why }, actor and actor.type,
                        actor and actor.id))
    return row
end

-- sending -> failed: the provider refused it for good (nothing left us).
function _M.fail(id, why)
    local row, err = one([[UPDATE campaigns SET status = 'failed', error_message = $2, updated_at = now()
        WHERE id = $1 AND status = 'sending' RETURNING id]], id, why)
    if not row then
        return nil, err or "campaign not sending"
    end
    assert(activity.log("campaign.failed", "campaign", id, { reason = why }))
    return row
end

-- Keeps a 'sending' campaign as it is, with the reason it is stuck: the
-- provider may have sent it. Never retried automatically.
function _M.hold(id, why)
    local row, err = one([[UPDATE campaigns SET error_message = $2, updated_at = now()
        WHERE id = $1 AND status = 'sending' RETURNING id]], id, why)
    if not row then
        return nil, err or "campaign not sending"
    end
    assert(activity.log("campaign.stuck", "campaign", id, { reason = why }))
    return row
end

-- sending -> sent; the business goes pending -> emailed.
function _M.mark_sent(id, message_id, provider, actor)
    local row, err = one([[UPDATE campaigns SET status = 'sent', sent_at = coalesce(sent_at, now()),
        message_id = coalesce($2, message_id), email_provider = coalesce($3, email_provider),
        error_message = NULL, updated_at = now()
        WHERE id = $1 AND status = 'sending' RETURNING id, business_id]], id, message_id, provider)
    if not row then
        return nil, err or "campaign not sending"
    end
    assert(require("domain.businesses").emailed(row.business_id))
    assert(activity.log("campaign.sent", "campaign", id, { provider = provider, message_id = message_id },
                        actor and actor.type, actor and actor.id))
    return row
end

-- The open pixel: counts every open; sent/delivered -> opened; the
-- business emailed -> opened. `at` (epoch seconds) is when it happened, for
-- an event that waited in the spool; nil: now. The caller records the
-- tracking event first and calls this only when the event was new.
function _M.opened(id, at)
    local row, err = one([[UPDATE campaigns SET opened_at = coalesce(opened_at, to_timestamp($2::float8), now()),
        opened_count = opened_count + 1, status = CASE WHEN status IN ('sent', 'delivered') THEN 'opened'
        ELSE status END, updated_at = now() WHERE id = $1 RETURNING id, business_id]], id, at)
    if not row then
        return nil, err
    end
    assert(require("domain.businesses").opened(row.business_id))
    return row
end

-- A click: counts every click (a click implies an open); -> clicked.
function _M.clicked(id, at)
    local row, err = one([[UPDATE campaigns SET clicked_at = coalesce(clicked_at, to_timestamp($2::float8), now()),
        clicked_count = clicked_count + 1, opened_at = coalesce(opened_at, to_timestamp($2::float8), now()),
        status = CASE WHEN status IN ('sent', 'delivered', 'opened') THEN 'clicked' ELSE status END,
        updated_at = now() WHERE id = $1 RETURNING id, business_id]], id, at)
    if not row then
        return nil, err
    end
    assert(require("domain.businesses").clicked(row.business_id))
    return row
end

-- The site's campaign -> converted (its first payment), whatever it had
-- reached; converted_at is kept when set. Returns the row only when it
-- changed (nil when the site had no campaign: a sale made without email).
function _M.converted(site_id, actor)
    local row, err = one([[UPDATE campaigns SET status = 'converted', converted_at = coalesce(converted_at, now()),
        updated_at = now() WHERE site_id = $1 AND status IS DISTINCT FROM 'converted' RETURNING id]], site_id)
    if not row then
        return nil, err
    end
    assert(activity.log("campaign.converted", "campaign", row.id, {}, actor or "system"))
    return row
end

-- Unsubscribes once: "done" when this call did it (the address goes on the
-- suppression list, the business unsubscribed, one activity row),
-- "already" when it was before (nothing written), "unknown" when there is
-- no such campaign. The row lock makes concurrent calls take turns. at:
-- when it was asked (epoch seconds; a request kept during an outage),
-- default now.
function _M.unsubscribe(id, one_click, at)
    local c, err = one([[SELECT id, business_id, recipient_email, unsubscribed_at FROM campaigns
        WHERE id = $1 FOR UPDATE]], id)
    if err then
        return nil, err
    elseif not c then
        return "unknown"
    elseif c.unsubscribed_at ~= wm.null then
        return "already"
    end
    assert(wm.db.run([[INSERT INTO suppression_list (email, reason, campaign_id, details)
        VALUES (lower($1), 'unsubscribed', $2, $3::jsonb) ON CONFLICT (email) DO NOTHING]],
        c.recipient_email, c.id, { one_click = one_click }))
    assert(wm.db.run([[UPDATE campaigns SET unsubscribed_at = coalesce(to_timestamp($2::float8), now()),
        updated_at = now() WHERE id = $1]], c.id, at))
    assert(require("domain.businesses").unsubscribed(c.business_id))
    assert(activity.log("contact.unsubscribed", "campaign", c.id, { one_click = one_click }, "user"))
    return "done"
end

-- A person's (or the provider's) word on a campaign left in 'sending':
-- "sent" (it did leave) or "release" (it did not: send it again).
function _M.resolve(id, verdict, actor, message_id)
    if verdict == "sent" then
        return _M.mark_sent(id, message_id, nil, actor)
    elseif verdict == "release" then
        return _M.release(id, "released by " .. ((actor and actor.type) or "system"), actor)
    end
    error("usage: campaigns.resolve(id, 'sent' | 'release', actor)", 2)
end

-- Resolves the stuck campaigns whose provider can tell for certain
-- (provider.lookup(campaign_id, sending_host) -> "sent", message_id |
-- "not_sent" | nil when this host cannot tell), when no send job is running
-- for them. Returns how many were resolved.
function _M.auto_resolve()
    local rows, err = wm.db.run([[SELECT c.id, c.business_id, c.email_provider, c.sending_host FROM campaigns c
        WHERE c.status = 'sending' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'send'
            AND j.status = 'running' AND j.payload->>'campaign_id' = c.id::text)
        ORDER BY c.sending_started_at LIMIT 500]])
    if not rows then
        return nil, err
    end
    local n = 0
    for _, c in ipairs(rows) do
        local name = c.email_provider ~= wm.null and c.email_provider or nil
        local ok, provider = pcall(require, "providers.mail." .. tostring(name))
        if name and ok and type(provider) == "table" and provider.lookup then
            local verdict, message_id = provider.lookup(c.id, c.sending_host ~= wm.null and c.sending_host or nil)
            local res
            if verdict == "sent" then
                res = wm.db.tx(function() return _M.resolve(c.id, "sent", { type = "system" }, message_id) end)
            elseif verdict == "not_sent" then
                res = wm.db.tx(function()
                    assert(_M.resolve(c.id, "release", { type = "system" }))
                    return assert(require("lib.pipeline").next("send", c.business_id, { campaign_id = c.id }))
                end)
            end
            if res then
                n = n + 1
                wm.log.info("stuck campaign resolved by its provider",
                            { campaign = c.id, provider = name, verdict = verdict })
            end
        end
    end
    return n
end

-- Campaigns left in 'sending' (the provider may or may not have sent
-- them): oldest first, with how long they have been there.
function _M.stuck(limit)
    return wm.db.run([[SELECT c.id, c.business_id, c.recipient_email, c.email_provider, c.error_message,
            c.sending_started_at, extract(epoch FROM now() - c.sending_started_at)::float8 AS age_s,
            b.name AS business_name
        FROM campaigns c JOIN businesses b ON b.id = c.business_id
        WHERE c.status = 'sending' ORDER BY c.sending_started_at LIMIT $1]], limit or 1000)
end

function _M.stuck_count()
    local row = one("SELECT count(*)::int AS n FROM campaigns WHERE status = 'sending'")
    return row and row.n
end

return _M
