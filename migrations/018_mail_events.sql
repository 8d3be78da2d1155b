-- 018_mail_events.sql: what delivery events and replies need beyond the seed.
--
-- mail_events: one row per provider event applied to a campaign (SendGrid's
-- sg_event_id, SES's SNS MessageId, a DSN's or reply's Message-ID). The
-- unique (provider, event_id) is what makes a redelivered or replayed event
-- apply once (domain/deliveries.lua inserts it first, in the transaction of
-- the event's effects).
--
-- mail_replies: the replies read from Inbound Parse or a mailbox, kept
-- (sanitised text) for the dashboard, whether or not they matched a
-- campaign; `kind` says what lib/replies.lua made of it (reply, auto_reply,
-- bounce, unsubscribe), so auto-replies are visible but not counted.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

CREATE TABLE mail_events (
    id BIGSERIAL PRIMARY KEY,
    provider VARCHAR(30) NOT NULL,
    event_id VARCHAR(200) NOT NULL,
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    -- delivered, bounced, soft_bounce, complained, unsubscribed, opened, clicked, replied, accepted
    kind VARCHAR(20) NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    detail JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, event_id)
);
CREATE INDEX idx_mail_events_campaign ON mail_events (campaign_id, kind);

CREATE TABLE mail_replies (
    id BIGSERIAL PRIMARY KEY,
    source VARCHAR(30) NOT NULL,             -- sendgrid_inbound, imap
    message_id VARCHAR(300),                 -- the reply's own Message-ID
    campaign_id UUID REFERENCES campaigns(id) ON DELETE SET NULL,
    kind VARCHAR(20) NOT NULL,               -- reply, auto_reply, bounce, unsubscribe
    from_email VARCHAR(255),
    subject TEXT,
    body_text TEXT,                          -- sanitised plain text, bounded
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Inbound Parse retries a delivery it did not see acknowledged: one row per message.
CREATE UNIQUE INDEX idx_mail_replies_message ON mail_replies (source, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX idx_mail_replies_campaign ON mail_replies (campaign_id);

-- The provider's message id is looked up by SendGrid events (sg_message_id
-- begins with the X-Message-Id kept at send time) and SES notifications.
CREATE INDEX idx_campaigns_message_id ON campaigns (message_id) WHERE message_id IS NOT NULL;
