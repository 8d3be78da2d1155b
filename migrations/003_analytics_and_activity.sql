-- 003_analytics_and_activity.sql: daily metrics and the audit trail of the seed schema.
--
-- Reproduces /work/shared/seed/webmagic-schema.md exactly. Neither table has a foreign
-- key: activity_log.entity_id / actor_id point at rows of several tables (by entity_type /
-- actor_type), so they are plain UUIDs by design.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

-- ---- analytics_snapshots --------------------------------------------------------------
-- Daily metrics snapshots.

CREATE TABLE analytics_snapshots (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    snapshot_date DATE NOT NULL,

    -- Lead Metrics
    leads_scraped INTEGER DEFAULT 0,
    leads_qualified INTEGER DEFAULT 0,

    -- Site Metrics
    sites_generated INTEGER DEFAULT 0,
    sites_deployed INTEGER DEFAULT 0,

    -- Outreach Metrics
    emails_sent INTEGER DEFAULT 0,
    emails_opened INTEGER DEFAULT 0,
    emails_clicked INTEGER DEFAULT 0,

    -- Conversion Metrics
    checkouts_created INTEGER DEFAULT 0,
    purchases INTEGER DEFAULT 0,

    -- Revenue
    revenue_cents INTEGER DEFAULT 0,
    mrr_cents INTEGER DEFAULT 0,

    -- Costs
    api_costs_cents INTEGER DEFAULT 0,  -- Outscraper, Claude, etc.

    -- Timestamps
    created_at TIMESTAMP DEFAULT NOW(),

    UNIQUE(snapshot_date)
);

-- Index
CREATE INDEX idx_snapshots_date ON analytics_snapshots(snapshot_date DESC);

-- ---- activity_log ---------------------------------------------------------------------
-- Audit trail for important actions.

CREATE TABLE activity_log (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- What happened
    action VARCHAR(100) NOT NULL,
    entity_type VARCHAR(50) NOT NULL,  -- business, site, campaign, etc.
    entity_id UUID,

    -- Details
    details JSONB,

    -- Who/What triggered it
    actor_type VARCHAR(20),  -- user, system, webhook
    actor_id UUID,

    -- Timestamps
    created_at TIMESTAMP DEFAULT NOW()
);

-- Indexes
CREATE INDEX idx_activity_entity ON activity_log(entity_type, entity_id);
CREATE INDEX idx_activity_action ON activity_log(action);
CREATE INDEX idx_activity_created ON activity_log(created_at DESC);
