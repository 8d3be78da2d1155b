-- apply_mail_events {event_id}: applies one stored batch of a mail
-- provider's delivery events (a webhook_events row) in ONE transaction: the
-- batch's status and every event's effect commit together or not at all.
-- The batch row is locked first and an applied batch is never applied
-- again; each event applies once by its own id (domain.deliveries), so a
-- batch delivered again with a different body, or overlapping another,
-- changes nothing twice.
--
-- SendGrid (providers.md 4.2): processed -> accepted, delivered, bounce
-- (type "bounce": bounced; "blocked": soft_bounce), dropped (bounced; or
-- complained / unsubscribed when SendGrid dropped it for that reason),
-- spamreport -> complained, unsubscribe and group_unsubscribe ->
-- unsubscribed, open (not machine opens) -> opened, click -> clicked; others
-- (deferred, group_resubscribe, account events) have no effect. The
-- campaign is the custom arg campaign_id, else the X-Message-Id that
-- sg_message_id begins with; an event for no campaign of ours is counted
-- and left.
local webhook_events = require "domain.webhook_events"
local deliveries = require "domain.deliveries"

local SENDGRID = {}

local DROPPED = { ["spam reporting address"] = "complained", ["unsubscribed address"] = "unsubscribed" }

function SENDGRID.kind(e)
    local ev = e.event
    if ev == "processed" then
        return "accepted"
    elseif ev == "delivered" then
        return "delivered"
    elseif ev == "bounce" then
        return e.type == "blocked" and "soft_bounce" or "bounced"
    elseif ev == "dropped" then
        return DROPPED[type(e.reason) == "string" and e.reason:lower() or ""] or "bounced"
    elseif ev == "spamreport" then
        return "complained"
    elseif ev == "unsubscribe" or ev == "group_unsubscribe" then
        return "unsubscribed"
    elseif ev == "open" then
        return not e.sg_machine_open and "opened" or nil
    elseif ev == "click" then
        return "clicked"
    end
end

function SENDGRID.apply(doc)
    local sendgrid = require "providers.mail.sendgrid"
    local n = { applied = 0, duplicate = 0, unmatched = 0, ignored = 0 }
    for _, e in ipairs(doc) do
        local kind = type(e) == "table" and SENDGRID.kind(e)
        local campaign_id = kind and sendgrid.campaign_of_event(e)
        if not kind then
            n.ignored = n.ignored + 1
        elseif not campaign_id then
            n.unmatched = n.unmatched + 1
        else
            local event_id = type(e.sg_event_id) == "string" and e.sg_event_id ~= "" and e.sg_event_id
                or ("sha256:" .. wm.crypto.sha256_hex(wm.json.encode(e)))
            local r = assert(deliveries.apply {
                campaign_id = campaign_id, kind = kind, provider = "sendgrid", event_id = event_id,
                at = tonumber(e.timestamp),
                message_id = type(e.sg_message_id) == "string" and e.sg_message_id:match("^([^.]+)") or nil,
                detail = { event = e.event, type = e.type, reason = e.reason, status = e.status,
                           email = e.email, sg_message_id = e.sg_message_id, url = e.url },
            })
            n[r] = n[r] + 1
        end
    end
    return n
end

local APPLY = { sendgrid = SENDGRID.apply }

-- The batch (locked, not applied yet) -> its status.
local function apply(ev)
    local fn = APPLY[ev.provider]
    local doc = wm.json.decode(ev.body)
    if not fn or type(doc) ~= "table" then
        assert(webhook_events.finish(ev.id, "failed", fn and "malformed JSON" or ("no applier for " .. ev.provider)))
        return "failed"
    end
    local n = fn(doc)
    local note = (n.unmatched > 0 or n.ignored > 0)
        and ("%d applied, %d already, %d for no campaign of ours, %d without effect"):format(
            n.applied, n.duplicate, n.unmatched, n.ignored) or nil
    assert(webhook_events.finish(ev.id, "applied", note))
    return "applied"
end

return {
    kind = "apply_mail_events",
    concurrency = 2,
    timeout = 120,
    max_attempts = 6,
    run = function(job)
        return webhook_events.apply_job(job, apply)
    end,
}
