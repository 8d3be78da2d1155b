-- What the pipeline needs beyond the seed (design.md §2, §5;
-- original-lessons.md #1, #2, #8): the raw lead kept as scraped, the
-- website verdict with its evidence, qualification reasons, one vocabulary
-- for where a lead stands, the agents' outputs, the suppression list and
-- tracking events.

-- Where a lead stands, one vocabulary:
--   new            ingested, not checked yet
--   has_website    the check found a website (never qualifies)
--   no_website     the check proved there is none (evidence stored)
--   unverifiable   the check could not tell after its bounded attempts
--   qualified      passed the gates; website_status/contact_status take over
--   disqualified   failed a gate (reasons stored)
ALTER TABLE businesses
    ADD COLUMN lead_status VARCHAR(30) NOT NULL DEFAULT 'new',
    ADD COLUMN raw_place JSONB,
    ADD COLUMN reviews_data JSONB,
    ADD COLUMN website_evidence JSONB,
    ADD COLUMN website_checked_at TIMESTAMP,
    ADD COLUMN qualification_reasons JSONB,
    ADD COLUMN qualified_at TIMESTAMP;

CREATE INDEX idx_business_lead_status ON businesses (lead_status);
CREATE INDEX idx_business_grid ON businesses (coverage_grid_id);

-- One output per agent per business: a rerun reuses it instead of paying
-- for it again.
CREATE TABLE agent_outputs (
    business_id UUID NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
    agent VARCHAR(50) NOT NULL,
    output JSONB NOT NULL,
    prompt TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, agent)
);

ALTER TABLE generated_sites
    ADD COLUMN claim_token VARCHAR(64);
CREATE UNIQUE INDEX idx_sites_claim_token ON generated_sites (claim_token) WHERE claim_token IS NOT NULL;

-- campaigns.status gains 'sending' (between the commit that claims the
-- send and the provider's answer: a crash there leaves it visible for
-- review, never a second email) and 'failed'.
ALTER TABLE campaigns
    ADD COLUMN sending_started_at TIMESTAMP,
    ADD COLUMN unsubscribed_at TIMESTAMP;
CREATE UNIQUE INDEX idx_campaigns_one_per_site ON campaigns (site_id) WHERE site_id IS NOT NULL;
CREATE INDEX idx_campaigns_sent_at ON campaigns (sent_at) WHERE sent_at IS NOT NULL;

-- Nobody on this list is ever emailed again.
CREATE TABLE suppression_list (
    email VARCHAR(255) PRIMARY KEY,          -- lower-cased
    reason VARCHAR(30) NOT NULL,             -- unsubscribed, bounced, complained, manual
    campaign_id UUID REFERENCES campaigns(id) ON DELETE SET NULL,
    details JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE tracking_events (
    id BIGSERIAL PRIMARY KEY,
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    kind VARCHAR(20) NOT NULL,               -- open, click, unsubscribe
    url TEXT,
    remote_addr VARCHAR(64),
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_tracking_campaign ON tracking_events (campaign_id, kind);
