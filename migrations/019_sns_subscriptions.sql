-- 019_sns_subscriptions.sql: the Amazon SNS subscriptions /hooks/ses confirmed.
--
-- SNS sends a SubscriptionConfirmation (with a Token and a SubscribeURL) when
-- the endpoint is subscribed to a topic, and delivers nothing to it until that
-- URL is fetched. One row per topic: the confirmation's token, when the URL was
-- fetched and the SubscriptionArn SNS answered; a confirmation for a topic whose
-- row already has its token confirmed is not fetched again. An
-- UnsubscribeConfirmation sets unsubscribed_at (a later subscription confirms
-- again).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

CREATE TABLE sns_subscriptions (
    topic_arn VARCHAR(300) PRIMARY KEY,
    token TEXT NOT NULL,
    subscribe_url TEXT NOT NULL,
    subscription_arn VARCHAR(400),
    confirmed_at TIMESTAMPTZ,
    unsubscribed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
