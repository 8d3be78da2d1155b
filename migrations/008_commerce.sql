-- 008_commerce.sql: what selling needs beyond the seed's customers,
-- subscriptions and payments tables.
--
-- checkouts: every checkout this system created (the buyer's way to pay),
-- kept whatever happened to it, so a payment is matched to its site by the
-- checkout id, and one open checkout per site and kind is reused until it
-- expires. A row exists only once the provider answered with an id: a
-- failed create leaves nothing half-made.
--
-- webhook_events: every signed event as received (raw body first, applied
-- after by a job in one transaction). (provider, event_id) is unique: the
-- same event delivered five times is stored once and applied once.
--
-- portal_links / portal_sessions: the customer portal's single-use magic
-- links and sessions, both stored as SHA-256 of the token, never the token.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

CREATE TABLE checkouts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider VARCHAR(30) NOT NULL,
    provider_checkout_id VARCHAR(80) NOT NULL,
    checkout_url TEXT NOT NULL,
    site_id UUID NOT NULL REFERENCES generated_sites(id) ON DELETE CASCADE,
    business_id UUID NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
    campaign_id UUID REFERENCES campaigns(id) ON DELETE SET NULL,
    -- subscription (the monthly plan) | setup_fee (a chained one-time checkout)
    kind VARCHAR(20) NOT NULL DEFAULT 'subscription',
    amount_cents INTEGER NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'GTQ',
    -- open | paid | expired | failed | cancelled
    status VARCHAR(20) NOT NULL DEFAULT 'open',
    -- The setup-fee checkout that follows a paid subscription checkout.
    parent_checkout_id UUID REFERENCES checkouts(id) ON DELETE SET NULL,
    expires_at TIMESTAMPTZ,
    paid_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_checkout_id)
);
CREATE INDEX idx_checkouts_site ON checkouts (site_id, kind, status);
CREATE INDEX idx_checkouts_created ON checkouts (created_at);

CREATE TABLE webhook_events (
    id BIGSERIAL PRIMARY KEY,
    provider VARCHAR(30) NOT NULL,
    event_id VARCHAR(200) NOT NULL,
    event_type VARCHAR(100),
    body TEXT NOT NULL,
    -- received | applied | ignored (unknown type) | failed
    status VARCHAR(20) NOT NULL DEFAULT 'received',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ,
    UNIQUE (provider, event_id)
);
CREATE INDEX idx_webhook_events_status ON webhook_events (status, received_at);

-- When a subscription first fell past due: the site stays up for
-- commerce.grace_days from here, then shows a "paused" page.
ALTER TABLE subscriptions ADD COLUMN past_due_at TIMESTAMP;
-- The provider's payment intent a refund refers to, and the payment refunded.
ALTER TABLE payments ADD COLUMN refund_of UUID REFERENCES payments(id) ON DELETE SET NULL;

CREATE TABLE portal_links (
    token_sha256 CHAR(64) PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_portal_links_customer ON portal_links (customer_id);

CREATE TABLE portal_sessions (
    token_sha256 CHAR(64) PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    csrf_token VARCHAR(64) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ
);
CREATE INDEX idx_portal_sessions_customer ON portal_sessions (customer_id);
