-- 009_webhooks.sql: what applying payment webhooks needs beyond 008.
--
-- webhook_events.waiting_for: an event that cannot apply yet (a cancel that
-- arrived before its subscription's first payment, a refund before its
-- payment) is kept with status 'pending' and the provider id it waits for
-- (su_..., pa_...); applying the event that makes that id known re-applies
-- it, so the end state does not depend on the order of delivery.
--
-- generated_sites.paused_at: a live site whose subscription stayed past due
-- beyond commerce.grace_days (or was paused) shows a "paused" page instead of
-- its content until a payment restores it. The site keeps its status: it is
-- still sold, only not shown.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

ALTER TABLE webhook_events ADD COLUMN waiting_for VARCHAR(100);
CREATE INDEX idx_webhook_events_waiting ON webhook_events (waiting_for) WHERE status = 'pending';

ALTER TABLE generated_sites ADD COLUMN paused_at TIMESTAMP;

-- The sweep's questions: past-due subscriptions by when they fell due, and
-- cancelled ones by the end of their paid period.
CREATE INDEX idx_subscriptions_past_due ON subscriptions (past_due_at) WHERE status = 'past_due';
CREATE INDEX idx_subscriptions_period_end ON subscriptions (current_period_end) WHERE status = 'cancelled';
