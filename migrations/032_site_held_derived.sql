-- 032_site_held_derived.sql: generated_sites.held_at (022) goes. When a site
-- was held is its judgement's time: domain.sites.judge wrote held_at and
-- quality_checked_at with one now() in one statement, a held site is never
-- judged again, and leaving 'held' (release, a new version) cleared held_at
-- with the status. domain.sites.held and `wm sites show` read
-- quality_checked_at of a held site instead.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

-- (A held row never judged, set by hand, keeps its time.)
UPDATE generated_sites SET quality_checked_at = held_at
    WHERE status = 'held' AND quality_checked_at IS NULL AND held_at IS NOT NULL;

ALTER TABLE generated_sites DROP COLUMN held_at;     -- (idx_sites_held goes with it)

CREATE INDEX idx_sites_held ON generated_sites (quality_checked_at) WHERE status = 'held';
