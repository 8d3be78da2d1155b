-- 029_admin_summary.sql: the overview's counts without scanning the
-- businesses of the last 30 days (tests/bench/admin: the funnel and the
-- seed's dashboard metrics took 240-350 ms with 33,000 recent businesses).
--
-- business_funnel holds, per business, its created_at and a bit per step it
-- has reached (FUNNEL bits below); funnel_hourly holds signed changes to the
-- per-hour counts of those bits, by the hour the business was created.
-- Triggers on every table a step is read from recompute the bits of the
-- businesses a statement touched, in the same transaction, so a reader's
-- snapshot sees the summary exactly as it sees the tables. The 30-day
-- window is the whole hours after its start, summed from funnel_hourly, plus
-- the part of its first hour counted row by row from business_funnel.
--
-- funnel_hourly is append-only (each change inserts its delta rows) so that
-- writers never wait on a shared counter row; funnel_hourly_compact() folds
-- the rows into one per hour (the admin_summary cron), and a reader's sum is
-- the same before and after.
--
-- Bits: 1 no_website (lead_status no_website or qualified), 2 qualified,
-- 4 a site, 8 a campaign sent, 16 opened, 32 clicked, 64 a checkout,
-- 128 contact_status purchased, 256 website_status generated,
-- 512 contact_status emailed (the last three are the seed's metrics).

CREATE TABLE business_funnel (
    -- No foreign key: the row follows its business through the triggers
    -- (a cascade would delete it without correcting the counts).
    business_id UUID PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    flags INTEGER NOT NULL
);
CREATE INDEX idx_business_funnel_created ON business_funnel (created_at) INCLUDE (flags);

CREATE TABLE funnel_hourly (
    hour TIMESTAMP NOT NULL,
    leads INTEGER NOT NULL,
    no_website INTEGER NOT NULL,
    qualified INTEGER NOT NULL,
    sites INTEGER NOT NULL,
    emailed INTEGER NOT NULL,
    opened INTEGER NOT NULL,
    clicked INTEGER NOT NULL,
    checkout INTEGER NOT NULL,
    purchased INTEGER NOT NULL,
    sites_generated INTEGER NOT NULL,
    emails_sent INTEGER NOT NULL
);
CREATE INDEX idx_funnel_hourly_hour ON funnel_hourly (hour);

-- The bits read through checkouts need their business.
CREATE INDEX idx_checkouts_business ON checkouts (business_id);

-- The funnel bits of the businesses `ids` as the tables have them now.
CREATE FUNCTION business_funnel_flags(ids UUID[]) RETURNS TABLE (id UUID, created_at TIMESTAMP, flags INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT b.id, b.created_at,
        (CASE WHEN b.lead_status IN ('no_website', 'qualified') THEN 1 ELSE 0 END)
      | (CASE WHEN b.lead_status = 'qualified' THEN 2 ELSE 0 END)
      | (CASE WHEN EXISTS (SELECT 1 FROM generated_sites s WHERE s.business_id = b.id) THEN 4 ELSE 0 END)
      | (CASE WHEN EXISTS (SELECT 1 FROM campaigns c WHERE c.business_id = b.id AND c.sent_at IS NOT NULL) THEN 8 ELSE 0 END)
      | (CASE WHEN EXISTS (SELECT 1 FROM campaigns c WHERE c.business_id = b.id AND c.opened_at IS NOT NULL) THEN 16 ELSE 0 END)
      | (CASE WHEN EXISTS (SELECT 1 FROM campaigns c WHERE c.business_id = b.id AND c.clicked_at IS NOT NULL) THEN 32 ELSE 0 END)
      | (CASE WHEN EXISTS (SELECT 1 FROM checkouts k WHERE k.business_id = b.id) THEN 64 ELSE 0 END)
      | (CASE WHEN b.contact_status = 'purchased' THEN 128 ELSE 0 END)
      | (CASE WHEN b.website_status = 'generated' THEN 256 ELSE 0 END)
      | (CASE WHEN b.contact_status = 'emailed' THEN 512 ELSE 0 END)
    FROM businesses b WHERE b.id = ANY (ids) AND b.created_at IS NOT NULL
$$;

-- Brings business_funnel up to date for `ids` and appends the change in
-- counts. The businesses' rows are locked first (in id order, so two
-- statements cannot deadlock on them; row locks, as a bulk insert's
-- hundred thousand advisory locks would fill the lock table) and read
-- after, in statements of their own: under READ COMMITTED each sees what
-- the transaction it waited for committed, so concurrent changes to one
-- business never leave bits that miss one of them. FOR NO KEY UPDATE does
-- not wait for the key-share locks of foreign key checks.
CREATE FUNCTION business_funnel_refresh(ids UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM businesses WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    WITH cur AS (SELECT * FROM business_funnel_flags(ids)),
    old AS (SELECT f.business_id AS id, f.created_at, f.flags FROM business_funnel f WHERE f.business_id = ANY (ids)),
    changed AS (
        SELECT coalesce(c.id, o.id) AS id, o.created_at AS o_at, o.flags AS o_flags, c.created_at AS n_at,
               c.flags AS n_flags
        FROM cur c FULL JOIN old o ON o.id = c.id
        WHERE c.created_at IS DISTINCT FROM o.created_at OR c.flags IS DISTINCT FROM o.flags),
    d AS (
        SELECT date_trunc('hour', o_at) AS hour, -1 AS sign, o_flags AS flags FROM changed WHERE o_at IS NOT NULL
        UNION ALL
        SELECT date_trunc('hour', n_at), 1, n_flags FROM changed WHERE n_at IS NOT NULL),
    counts AS (
        INSERT INTO funnel_hourly (hour, leads, no_website, qualified, sites, emailed, opened, clicked, checkout,
                                   purchased, sites_generated, emails_sent)
        SELECT hour, sum(sign), sum(sign * (flags & 1 > 0)::int), sum(sign * (flags & 2 > 0)::int),
               sum(sign * (flags & 4 > 0)::int), sum(sign * (flags & 8 > 0)::int), sum(sign * (flags & 16 > 0)::int),
               sum(sign * (flags & 32 > 0)::int), sum(sign * (flags & 64 > 0)::int),
               sum(sign * (flags & 128 > 0)::int), sum(sign * (flags & 256 > 0)::int),
               sum(sign * (flags & 512 > 0)::int)
        FROM d GROUP BY hour),
    gone AS (DELETE FROM business_funnel f USING changed WHERE f.business_id = changed.id AND changed.n_at IS NULL)
    INSERT INTO business_funnel (business_id, created_at, flags)
    SELECT id, n_at, n_flags FROM changed WHERE n_at IS NOT NULL
    ON CONFLICT (business_id) DO UPDATE SET created_at = EXCLUDED.created_at, flags = EXCLUDED.flags;
END $$;

-- Recounts everything (the migration's first fill, and after a TRUNCATE,
-- which fires no row triggers).
CREATE FUNCTION business_funnel_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Waits for the transactions that refreshed rows to end, and holds off
    -- new ones, so the fill below reads with everything committed.
    LOCK TABLE business_funnel, funnel_hourly IN EXCLUSIVE MODE;
    DELETE FROM business_funnel;
    DELETE FROM funnel_hourly;
    INSERT INTO business_funnel (business_id, created_at, flags)
    SELECT f.id, f.created_at, f.flags FROM business_funnel_flags(ARRAY(SELECT id FROM businesses)) f;
    INSERT INTO funnel_hourly (hour, leads, no_website, qualified, sites, emailed, opened, clicked, checkout,
                               purchased, sites_generated, emails_sent)
    SELECT date_trunc('hour', created_at), count(*), count(*) FILTER (WHERE flags & 1 > 0),
           count(*) FILTER (WHERE flags & 2 > 0), count(*) FILTER (WHERE flags & 4 > 0),
           count(*) FILTER (WHERE flags & 8 > 0), count(*) FILTER (WHERE flags & 16 > 0),
           count(*) FILTER (WHERE flags & 32 > 0), count(*) FILTER (WHERE flags & 64 > 0),
           count(*) FILTER (WHERE flags & 128 > 0), count(*) FILTER (WHERE flags & 256 > 0),
           count(*) FILTER (WHERE flags & 512 > 0)
    FROM business_funnel GROUP BY 1;
END $$;

-- One row per hour instead of one per change (only hours with more than
-- one row are rewritten); rows of transactions still open are not visible
-- here and stay as they are.
CREATE FUNCTION funnel_hourly_compact() RETURNS void LANGUAGE sql AS $$
    WITH many AS (SELECT hour FROM funnel_hourly GROUP BY hour HAVING count(*) > 1),
    gone AS (DELETE FROM funnel_hourly h USING many WHERE h.hour = many.hour RETURNING h.*)
    INSERT INTO funnel_hourly (hour, leads, no_website, qualified, sites, emailed, opened, clicked, checkout,
                               purchased, sites_generated, emails_sent)
    SELECT * FROM (
        SELECT hour, sum(leads)::int AS leads, sum(no_website)::int AS no_website, sum(qualified)::int AS qualified,
               sum(sites)::int AS sites, sum(emailed)::int AS emailed, sum(opened)::int AS opened,
               sum(clicked)::int AS clicked, sum(checkout)::int AS checkout, sum(purchased)::int AS purchased,
               sum(sites_generated)::int AS sites_generated, sum(emails_sent)::int AS emails_sent
        FROM gone GROUP BY hour) s
    -- An hour whose businesses all left it keeps no row of zeros.
    WHERE (leads, no_website, qualified, sites, emailed, opened, clicked, checkout, purchased, sites_generated,
           emails_sent) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

-- The statement triggers: one refresh per statement over the businesses
-- its rows name (transition tables), so a bulk insert costs one pass.
CREATE FUNCTION business_funnel_on_businesses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM business_funnel_refresh(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM business_funnel_refresh(ARRAY(SELECT id FROM new_rows UNION SELECT id FROM old_rows));
    ELSE
        PERFORM business_funnel_refresh(ARRAY(SELECT id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

-- generated_sites, campaigns and checkouts all name their business_id.
CREATE FUNCTION business_funnel_on_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM business_funnel_refresh(ARRAY(SELECT DISTINCT business_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM business_funnel_refresh(ARRAY(SELECT business_id FROM new_rows UNION SELECT business_id FROM old_rows));
    ELSE
        PERFORM business_funnel_refresh(ARRAY(SELECT DISTINCT business_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION business_funnel_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM business_funnel_rebuild();
    RETURN NULL;
END $$;

CREATE TRIGGER business_funnel_insert AFTER INSERT ON businesses REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_businesses();
CREATE TRIGGER business_funnel_update AFTER UPDATE ON businesses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_businesses();
CREATE TRIGGER business_funnel_delete AFTER DELETE ON businesses REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_businesses();
CREATE TRIGGER business_funnel_truncate AFTER TRUNCATE ON businesses
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_truncate();

CREATE TRIGGER business_funnel_insert AFTER INSERT ON generated_sites REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_update AFTER UPDATE ON generated_sites REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_delete AFTER DELETE ON generated_sites REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_truncate AFTER TRUNCATE ON generated_sites
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_truncate();

CREATE TRIGGER business_funnel_insert AFTER INSERT ON campaigns REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_update AFTER UPDATE ON campaigns REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_delete AFTER DELETE ON campaigns REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_truncate AFTER TRUNCATE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_truncate();

CREATE TRIGGER business_funnel_insert AFTER INSERT ON checkouts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_update AFTER UPDATE ON checkouts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_delete AFTER DELETE ON checkouts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_child();
CREATE TRIGGER business_funnel_truncate AFTER TRUNCATE ON checkouts
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_truncate();

SELECT business_funnel_rebuild();

-- The filtered leads list (status and city, newest first; queries.lua
-- matches the city as lower(city) = lower($n)): the index walks only that
-- status's rows of the city, in the list's order.
CREATE INDEX idx_business_status_city_page ON businesses (lead_status, lower(city),
    (coalesce(created_at, '-infinity'::timestamp)), id);
