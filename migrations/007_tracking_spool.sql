-- 007_tracking_spool.sql: a tracking event recorded at most once.
--
-- A click or open that arrives while the database is down is spooled to a file under
-- paths.var and inserted when the database answers again (scripts/lib/tracking_spool.lua).
-- Each event carries a key chosen when it arrived; the replay inserts with ON CONFLICT on
-- it, so a host that dies after inserting but before deleting the file, two processes
-- replaying one spool, or a commit whose answer was lost never count an event twice.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

ALTER TABLE tracking_events
    ADD COLUMN dedupe_key VARCHAR(64);

-- Partial: events written before this migration have no key.
CREATE UNIQUE INDEX idx_tracking_dedupe ON tracking_events (dedupe_key) WHERE dedupe_key IS NOT NULL;
