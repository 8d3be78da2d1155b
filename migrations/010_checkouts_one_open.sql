-- 010_checkouts_one_open.sql: at most one open checkout per site and kind.
-- Two clicks on the claim page at once may both ask the provider; the
-- second insert then finds this index taken and hands out the first one.
CREATE UNIQUE INDEX idx_checkouts_one_open ON checkouts (site_id, kind) WHERE status = 'open';
