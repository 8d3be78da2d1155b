-- POST /hooks/ses: Amazon SNS messages for SES's delivery events
-- (providers.md 5.3-5.4). Subscribe this URL (HTTPS) to the SNS topic(s)
-- SES publishes to, and list the topics in mail.ses.sns_topics.
--
-- Nothing is acted on, or stored, before the message is proved SNS's: its
-- TopicArn must be allowed (mail.ses.sns_topics), then its signature must
-- verify (lib.sns: SignatureVersion 1 or 2, the certificate fetched only from
-- an SNS address and cached). A body that is not an SNS message is a 400;
-- a topic not allowed, a certificate address not SNS's, a bad signature or
-- a tampered message is a 403; a certificate that could not be fetched
-- now is a 503 (SNS delivers again).
--
-- A verified message is stored once per SNS MessageId (webhook_events,
-- provider 'ses') together with its apply_ses_event job by one statement,
-- and answered 200 at once; the job applies it (SES events to campaigns,
-- subscription confirmations). A redelivery is a 200 with nothing new. A
-- notification whose event has no effect here (Send, Reject, ...) is
-- stored as 'ignored'.
local sns = require "lib.sns"

local JSON = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }
local PROVIDER = "ses"
local MAX_BODY = 262144    -- SNS messages are at most 256 KB

local function answer(status, body)
    return { status = status, headers = JSON, body = wm.json.encode(body) }
end

-- Stores the message with its apply_ses_event job (domain.webhook_events:
-- both or neither; a redelivery inserts nothing and enqueues nothing).
local function store(event_id, event_type, body, status, err)
    return require("domain.webhook_events").receive(PROVIDER, event_id, event_type, body, status, err)
end

wm.route("POST", "/hooks/ses", function(req)
    local body = req.body or ""
    local msg = #body <= MAX_BODY and wm.text.utf8_clean(body) == body and wm.json.decode(body)
    if type(msg) ~= "table" or type(msg.Type) ~= "string" or type(msg.MessageId) ~= "string"
        or msg.MessageId == "" or #msg.MessageId > 200 then
        return answer(400, { error = "not an SNS message" })
    end
    local said = req.headers["x-amz-sns-message-type"]
    if said and said ~= msg.Type then
        return answer(400, { error = "x-amz-sns-message-type does not match the message" })
    end
    if not sns.topic_allowed(msg.TopicArn) then
        wm.log.info("ses hook refused: topic not allowed (mail.ses.sns_topics)",
                    { topic = tostring(msg.TopicArn):sub(1, 300), remote = req.remote_addr })
        return answer(403, { error = "topic not allowed" })
    end
    local ok, why, transient = sns.verify(msg)
    if not ok then
        wm.log.info("ses hook refused", { reason = why, remote = req.remote_addr })
        if transient then
            return answer(503, { error = "the signing certificate could not be fetched; try again" })
        end
        return answer(403, { error = why })
    end
    local event_type, status, note = msg.Type, "received", nil
    if msg.Type == "Notification" then
        local f, what = require("lib.ses_events").read(msg)
        event_type = f and f.event_type or what
        if not f then
            status, note = "ignored", "no effect for " .. tostring(what)
        end
    end
    local new, err = store(msg.MessageId, event_type, body, status, note)
    if new == nil then
        error(err, 0)
    end
    return answer(200, { received = true, duplicate = not new, status = new and status or nil })
end, { role = "public" })
