-- 022_site_quality.sql: the screenshot stage and the quality gate before outreach.
--
-- A site is built as 'draft' and becomes 'preview' (emailable) only when the gate
-- passes: photographed, <= 30 KB, valid, no console errors, no request leaving its
-- origin, and Lighthouse >= 90 where it ran. A failing draft goes back to the
-- architect with the failures as feedback; after quality.max_attempts builds it is
-- 'held' for review, never emailed. The seed's screenshot_*_url, load_time_ms and
-- lighthouse_score columns hold the results; these hold the rest.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

ALTER TABLE generated_sites
    -- The small picture (320x200) of the desktop view, for lists and dashboards.
    ADD COLUMN screenshot_thumb_url TEXT,
    -- Builds the gate has judged (each failed one went back to the architect).
    ADD COLUMN quality_attempts INTEGER NOT NULL DEFAULT 0,
    -- The latest judgement's failures (an array of strings); NULL until judged.
    ADD COLUMN quality_failures JSONB,
    ADD COLUMN quality_checked_at TIMESTAMP,
    ADD COLUMN held_at TIMESTAMP;

CREATE INDEX idx_sites_held ON generated_sites (held_at) WHERE status = 'held';
