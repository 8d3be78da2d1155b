-- What an SES event delivered by SNS says (providers.md 5.3): the SNS
-- Notification's Message is a string holding SES's JSON, parsed here.
--
--   ses_events.read(msg) -> facts | nil, event_type_or_why
--     msg: the SNS message (decoded). facts = {kind=, event_type=,
--     message_id= (SES's mail.messageId), campaign_tag= (the campaign_id
--     email tag), event_id=, at= (epoch s), detail=}. nil for an event with
--     no effect here (Send, Reject, DeliveryDelay, ...), with its type.
--
-- Both spellings: notificationType (identity notifications) and eventType
-- (configuration-set event publishing). Bounce: Permanent -> bounced
-- (suppressed), Transient or Undetermined -> soft_bounce; Complaint ->
-- complained; Delivery -> delivered; Open -> opened; Click -> clicked.
-- The event id is what stays the same when one event reaches us by two
-- routes (both kinds of notification configured): the bounce's or
-- complaint's feedbackId, the delivery's message id; else SNS's MessageId.
local type, tostring, tonumber = type, tostring, tonumber
local match, floor = string.match, math.floor

local _M = { _VERSION = "0.1" }

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

-- "2016-01-27T14:59:38.237Z" -> epoch seconds (UTC), or nil.
function _M.epoch(s)
    if type(s) ~= "string" then
        return nil
    end
    local y, mo, d, h, mi, sec = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d%.?%d*)Z$")
    if not y then
        return nil
    end
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    -- Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    if mo <= 2 then
        y = y - 1
    end
    local era = floor(y / 400)
    local yoe = y - era * 400
    local doy = floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
    local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
    local days = era * 146097 + doe - 719468
    return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

local function str(v)
    return type(v) == "string" and v ~= "" and v or nil
end

local function first(list)
    return type(list) == "table" and list[1] or nil
end

local READ = {}

function READ.Bounce(ev)
    local b = type(ev.bounce) == "table" and ev.bounce or {}
    local r = type(first(b.bouncedRecipients)) == "table" and first(b.bouncedRecipients) or {}
    local permanent = b.bounceType == "Permanent"
    return permanent and "bounced" or "soft_bounce", str(b.feedbackId) and ("bounce:" .. b.feedbackId),
        _M.epoch(b.timestamp), {
            bounce_type = str(b.bounceType), bounce_sub_type = str(b.bounceSubType),
            reason = str(r.diagnosticCode) or str(b.bounceSubType), status = str(r.status),
            email = str(r.emailAddress),
        }
end

function READ.Complaint(ev)
    local c = type(ev.complaint) == "table" and ev.complaint or {}
    return "complained", str(c.feedbackId) and ("complaint:" .. c.feedbackId), _M.epoch(c.timestamp),
        { feedback_type = str(c.complaintFeedbackType), email = str((first(c.complainedRecipients) or {}).emailAddress) }
end

function READ.Delivery(ev, message_id)
    local d = type(ev.delivery) == "table" and ev.delivery or {}
    return "delivered", message_id and ("delivery:" .. message_id), _M.epoch(d.timestamp),
        { smtp_response = str(d.smtpResponse), reporting_mta = str(d.reportingMTA) }
end

function READ.Open(ev)
    local o = type(ev.open) == "table" and ev.open or {}
    return "opened", nil, _M.epoch(o.timestamp), {}
end

function READ.Click(ev)
    local c = type(ev.click) == "table" and ev.click or {}
    return "clicked", nil, _M.epoch(c.timestamp), { url = str(c.link) }
end

function _M.read(msg)
    local ev = type(msg) == "table" and type(msg.Message) == "string" and wm.json.decode(msg.Message)
    if type(ev) ~= "table" then
        return nil, "the Message is not SES's JSON"
    end
    local event_type = str(ev.notificationType) or str(ev.eventType)
    local read = event_type and READ[event_type]
    if not read then
        return nil, event_type or "no notificationType or eventType"
    end
    local mail = type(ev.mail) == "table" and ev.mail or {}
    local message_id = str(mail.messageId)
    local tags = type(mail.tags) == "table" and mail.tags or {}
    local tag = first(tags.campaign_id)
    local kind, event_id, at, detail = read(ev, message_id)
    return {
        kind = kind, event_type = event_type, message_id = message_id,
        campaign_tag = type(tag) == "string" and tag:lower():match(UUID) and tag:lower() or nil,
        event_id = event_id or ("sns:" .. tostring(msg.MessageId)),
        at = at, detail = detail,
    }
end

return _M
