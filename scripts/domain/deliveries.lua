-- Delivery events: the one home of what a provider (or a bounce, or a
-- reply) tells us happened to a sent campaign. Every source (SendGrid's
-- Event Webhook, SES notifications, DSNs and replies read from a mailbox)
-- calls apply{} inside the transaction that also marks its own input done.
--
-- apply{campaign_id=, kind=, at=, provider=, event_id=, detail=, actor=, message_id=}
--   -> "applied" | "duplicate" | nil, err
-- message_id: the provider's id of the message, kept when the event is what
-- proves a stuck campaign was sent (its send never recorded one).
--
-- Once per (provider, event_id): the mail_events row is inserted first and a
-- conflict means the event was applied before, so nothing else is written.
-- The campaign row is locked, so events for one campaign take turns.
--
-- Campaign status only moves forward:
--   sent -> delivered -> opened -> clicked -> replied -> converted
--   sent | delivered -> bounced       (a bounce after an open is ignored: it was read)
--   any but converted -> complained   (a complaint after an open is normal)
-- delivered_at is recorded whenever a delivery is reported, even when the
-- status is already further on. A campaign still 'sending' (the host died
-- between the provider's acceptance and its commit) is proved sent by any
-- event from its provider, and marked sent first.
--
-- Permanent bounces and complaints put the address on the suppression list
-- and set businesses.contact_status (the seed's values: 'bounced'; a
-- complaint is 'unsubscribed', the seed has no 'complained').
local activity = require "lib.activity"

local _M = {}

local one = wm.db.run_one

local KINDS = {
    accepted = true,        -- the provider took it (SendGrid 'processed'): only proves it left
    delivered = true, bounced = true, soft_bounce = true, complained = true,
    unsubscribed = true, opened = true, clicked = true, replied = true,
}

-- Counted per campaign (opened_count, clicked_count) and kept in
-- mail_events; an activity row each would drown the log.
local QUIET = { opened = true, clicked = true, accepted = true }

local function suppress(c, reason, detail)
    assert(wm.db.run([[INSERT INTO suppression_list (email, reason, campaign_id, details)
        VALUES (lower($1), $2, $3, $4::jsonb) ON CONFLICT (email) DO NOTHING]],
        c.recipient_email, reason, c.id, detail or {}))
end

local function contact(business_id, status, from)
    assert(wm.db.run([[UPDATE businesses SET contact_status = $2, updated_at = now()
        WHERE id = $1 AND contact_status = ANY($3::text[])]], business_id, status, wm.db.array(from)))
end

local EFFECT = {}

function EFFECT.accepted() end

function EFFECT.delivered(c, at)
    assert(wm.db.run([[UPDATE campaigns SET delivered_at = coalesce(delivered_at, to_timestamp($2::float8)),
        status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END, updated_at = now()
        WHERE id = $1]], c.id, at))
end

function EFFECT.bounced(c, _, e)
    assert(wm.db.run([[UPDATE campaigns SET status = 'bounced', error_message = left($2, 2000), updated_at = now()
        WHERE id = $1 AND status IN ('sent', 'delivered')]], c.id, e.reason))
    suppress(c, "bounced", { provider = e.provider, event_id = e.event_id, reason = e.reason })
    contact(c.business_id, "bounced", { "pending", "emailed", "opened", "clicked" })
end

-- A temporary failure: the provider keeps trying; nothing changes here but the record.
function EFFECT.soft_bounce() end

function EFFECT.complained(c, _, e)
    assert(wm.db.run([[UPDATE campaigns SET status = 'complained', updated_at = now()
        WHERE id = $1 AND status IS DISTINCT FROM 'converted']], c.id))
    suppress(c, "complained", { provider = e.provider, event_id = e.event_id })
    contact(c.business_id, "unsubscribed", { "pending", "emailed", "opened", "clicked", "replied", "bounced" })
end

function EFFECT.unsubscribed(c)
    assert(require("domain.campaigns").unsubscribe(c.id, false))
end

function EFFECT.opened(c, at)
    assert(require("domain.campaigns").opened(c.id, at))
end

function EFFECT.clicked(c, at)
    assert(require("domain.campaigns").clicked(c.id, at))
end

function EFFECT.replied(c, at)
    assert(wm.db.run([[UPDATE campaigns SET replied_at = coalesce(replied_at, to_timestamp($2::float8)),
        status = CASE WHEN status IN ('sent', 'delivered', 'opened', 'clicked') THEN 'replied' ELSE status END,
        updated_at = now() WHERE id = $1]], c.id, at))
    contact(c.business_id, "replied", { "pending", "emailed", "opened", "clicked" })
end

function _M.apply(e)
    if not KINDS[e.kind] then
        return nil, "unknown delivery event kind " .. tostring(e.kind)
    end
    if type(e.provider) ~= "string" or type(e.event_id) ~= "string" or e.event_id == "" then
        return nil, "a delivery event needs its provider and event_id"
    end
    local c, err = one([[SELECT id, business_id, recipient_email, status FROM campaigns WHERE id = $1
        FOR UPDATE]], e.campaign_id)
    if not c then
        return nil, err or ("no campaign " .. tostring(e.campaign_id))
    end
    local at = tonumber(e.at) or wm.now()
    local ins, ierr = one([[INSERT INTO mail_events (provider, event_id, campaign_id, kind, at, detail)
        VALUES ($1, left($2, 200), $3, $4, to_timestamp($5::float8), $6::jsonb)
        ON CONFLICT (provider, event_id) DO NOTHING RETURNING id]],
        e.provider, e.event_id, c.id, e.kind, at, e.detail or {})
    if ierr then
        return nil, ierr
    elseif not ins then
        return "duplicate"
    end
    local actor = e.actor or "webhook"
    if c.status == "sending" then
        assert(require("domain.campaigns").mark_sent(c.id, e.message_id, nil, { type = actor }))
        c.status = "sent"
    end
    EFFECT[e.kind](c, at, { provider = e.provider, event_id = e.event_id,
                            reason = type(e.detail) == "table" and e.detail.reason or nil })
    if not QUIET[e.kind] then
        assert(activity.log("delivery." .. e.kind, "campaign", c.id,
                            { provider = e.provider, event_id = e.event_id, detail = e.detail }, actor))
    end
    return "applied"
end

-- The campaign a provider's message id belongs to (SendGrid's sg_message_id
-- is the X-Message-Id kept at send time followed by ".<suffix>").
function _M.campaign_by_message_id(message_id, provider)
    if type(message_id) ~= "string" or message_id == "" then
        return nil
    end
    local row = one([[SELECT id FROM campaigns WHERE message_id = $1
        AND ($2::text IS NULL OR email_provider = $2) LIMIT 1]], message_id, provider)
    return row and row.id
end

return _M
