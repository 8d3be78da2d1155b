-- apply_ses_event {event_id}: applies one SNS message stored by POST
-- /hooks/ses (a webhook_events row, provider 'ses', its signature checked
-- before it was stored) in ONE transaction with the event's own status; the
-- row is locked first and an applied event is never applied again.
--
--   Notification (an SES event, lib.ses_events): domain.deliveries.apply
--     for the campaign whose message_id is SES's mail.messageId (kept at
--     send time), else the campaign named by the message's campaign_id
--     email tag (a campaign left 'sending' has no message id yet). Once per
--     event (mail_events). An event for no campaign of ours is 'ignored'.
--   SubscriptionConfirmation: the SubscribeURL (an SNS address only,
--     lib.sns.url_ok) is fetched once per topic and token, its
--     SubscriptionArn recorded in sns_subscriptions. The topic's row stays
--     locked while the URL is fetched, so two deliveries of one
--     confirmation (SNS retries with a new MessageId too) confirm once.
--   UnsubscribeConfirmation: the topic's row gets unsubscribed_at.
--
-- A database error or a failed fetch rolls back and the job is retried;
-- the last attempt leaves the event 'failed'.
local webhook_events = require "domain.webhook_events"

local one = wm.db.run_one

local function campaign_for(f)
    local deliveries = require "domain.deliveries"
    local id = f.message_id and deliveries.campaign_by_message_id(f.message_id, "ses")
    if not id and f.campaign_tag then
        local row = one("SELECT id FROM campaigns WHERE id = $1", f.campaign_tag)
        id = row and row.id
    end
    return id
end

local function notification(id, msg)
    local f, why = require("lib.ses_events").read(msg)
    if not f then
        assert(webhook_events.finish(id, "ignored", "no effect for " .. tostring(why)))
        return "ignored"
    end
    local campaign_id = campaign_for(f)
    if not campaign_id then
        assert(webhook_events.finish(id, "ignored", ("no campaign of ours has SES message %s"):format(
            tostring(f.message_id))))
        return "ignored"
    end
    assert(require("domain.deliveries").apply {
        campaign_id = campaign_id, kind = f.kind, at = f.at, provider = "ses", event_id = f.event_id,
        detail = f.detail, actor = "webhook",
    })
    assert(webhook_events.finish(id, "applied"))
    return "applied"
end

local function confirm(id, msg)
    local sns = require "lib.sns"
    local ok, why = sns.url_ok(msg.SubscribeURL)
    if not ok then
        assert(webhook_events.finish(id, "failed", "SubscribeURL refused: " .. why))
        return "failed"
    end
    -- Takes the topic's row lock (a new row, or the old one left as it is).
    local row = assert(one([[INSERT INTO sns_subscriptions (topic_arn, token, subscribe_url) VALUES ($1, $2, $3)
        ON CONFLICT (topic_arn) DO UPDATE SET updated_at = now()
        RETURNING token = $2 AND confirmed_at IS NOT NULL
            AND (unsubscribed_at IS NULL OR unsubscribed_at < confirmed_at) AS confirmed]],
        msg.TopicArn, msg.Token, msg.SubscribeURL))
    if row.confirmed then
        assert(webhook_events.finish(id, "ignored", "the subscription is confirmed already"))
        return "ignored"
    end
    local res, err = wm.http.request { url = msg.SubscribeURL, timeout = 15, max_body = 65536 }
    if not res or res.status ~= 200 then
        error(("confirming the SNS subscription: %s"):format(res and ("HTTP " .. res.status) or tostring(err)), 0)
    end
    local arn = res.body:match("<SubscriptionArn>([^<]+)</SubscriptionArn>")
    assert(one([[UPDATE sns_subscriptions SET token = $2, subscribe_url = $3, subscription_arn = $4,
        confirmed_at = now(), unsubscribed_at = NULL, updated_at = now() WHERE topic_arn = $1 RETURNING topic_arn]],
        msg.TopicArn, msg.Token, msg.SubscribeURL, arn))
    assert(require("lib.activity").log("sns.subscription_confirmed", "sns_subscription", nil,
        { topic_arn = msg.TopicArn, subscription_arn = arn }, "webhook"))
    assert(webhook_events.finish(id, "applied"))
    return "applied"
end

local function unsubscribed(id, msg)
    one([[UPDATE sns_subscriptions SET unsubscribed_at = now(), updated_at = now() WHERE topic_arn = $1
        RETURNING topic_arn]], msg.TopicArn)
    wm.log.warn("SNS: this endpoint was unsubscribed from a topic", { topic = msg.TopicArn })
    assert(webhook_events.finish(id, "applied"))
    return "applied"
end

local APPLY = { Notification = notification, SubscriptionConfirmation = confirm,
                UnsubscribeConfirmation = unsubscribed }

-- The SNS message (locked, not applied yet) -> its status.
local function apply(ev)
    local msg = wm.json.decode(ev.body)
    local fn = type(msg) == "table" and APPLY[msg.Type]
    if not fn then
        assert(webhook_events.finish(ev.id, "failed", "not an SNS message"))
        return "failed"
    end
    return fn(ev.id, msg)
end

return {
    kind = "apply_ses_event",
    concurrency = 2,
    timeout = 60,
    max_attempts = 8,
    run = function(job)
        return webhook_events.apply_job(job, apply)
    end,
}
