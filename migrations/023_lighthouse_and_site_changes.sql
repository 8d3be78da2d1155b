-- 023_lighthouse_and_site_changes.sql: Lighthouse runs, and a notification
-- whenever what a site host serves may have changed.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

-- One row per Lighthouse run (scripts/lib/lighthouse.lua): the four category
-- scores of the site as it will be live, and Lighthouse's whole report. A
-- table of its own, not a column of generated_sites, so that the report
-- (hundreds of KB) stays out of every SELECT * of the sites and each site
-- keeps its history. generated_sites.lighthouse_score (the seed's column) is
-- the lowest of the four categories of the latest run.
CREATE TABLE lighthouse_runs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id UUID NOT NULL REFERENCES generated_sites(id) ON DELETE CASCADE,
    -- The template variant (the hero layout), for "the first site of each variant".
    variant TEXT NOT NULL,
    form_factor TEXT NOT NULL,
    performance INTEGER,
    accessibility INTEGER,
    best_practices INTEGER,
    seo INTEGER,
    score INTEGER,
    seconds REAL NOT NULL,
    report JSONB NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT now()
);

CREATE INDEX idx_lighthouse_runs_site ON lighthouse_runs (site_id, created_at DESC);
CREATE INDEX idx_lighthouse_runs_variant ON lighthouse_runs (variant);

-- scripts/web/sites.lua answers each host from memory, asking the database
-- again only after sites.serve_max_age seconds; this NOTIFY (payload
-- "sub:<subdomain>" or "domain:<custom domain>", old and new) makes a change
-- seen at once. Only the columns the served answer depends on fire it, so
-- that recording a screenshot or a score does not empty the cache.
CREATE FUNCTION wm_notify_site_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('wm_sites', 'sub:' || OLD.subdomain);
        IF OLD.custom_domain IS NOT NULL THEN
            PERFORM pg_notify('wm_sites', 'domain:' || OLD.custom_domain);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_notify('wm_sites', 'sub:' || NEW.subdomain);
        IF NEW.custom_domain IS NOT NULL THEN
            PERFORM pg_notify('wm_sites', 'domain:' || NEW.custom_domain);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER generated_sites_notify_insert_delete AFTER INSERT OR DELETE ON generated_sites
    FOR EACH ROW EXECUTE FUNCTION wm_notify_site_change();
CREATE TRIGGER generated_sites_notify_update
    AFTER UPDATE OF subdomain, custom_domain, html_content, status, version, paused_at, updated_at
    ON generated_sites FOR EACH ROW EXECUTE FUNCTION wm_notify_site_change();
