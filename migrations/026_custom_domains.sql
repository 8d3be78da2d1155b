-- 026_custom_domains.sql: a customer's own domain for their site. The
-- served answer reads generated_sites.custom_domain (the seed's column);
-- this table is the claim that leads there: the domain, the token the
-- owner publishes at _webmagic.<domain>, and how its checks went.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.
CREATE TABLE custom_domains (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id UUID NOT NULL REFERENCES generated_sites(id) ON DELETE CASCADE,
    -- Lower case, no trailing dot, ASCII (an IDN in its xn-- form).
    domain VARCHAR(253) NOT NULL,
    token TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'verified', 'failed', 'removed')),
    checks INTEGER NOT NULL DEFAULT 0,
    -- The last check's finding, in words for the owner ("no TXT record at ...").
    last_result TEXT,
    -- Where the domain pointed at the last check (A records / CNAME target).
    points_to TEXT,
    checked_at TIMESTAMP,
    verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT now()
);

-- A domain belongs to one site at a time while claimed or in use.
CREATE UNIQUE INDEX idx_custom_domains_live ON custom_domains (domain)
    WHERE status IN ('pending', 'verified');
CREATE INDEX idx_custom_domains_site ON custom_domains (site_id);
