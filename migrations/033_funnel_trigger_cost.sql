-- 033_funnel_trigger_cost.sql: the funnel summary's triggers (029) made
-- every write to businesses, generated_sites, campaigns and checkouts pay
-- 2-7 ms (tests/bench/webhooks: applying a payment spent most of its time
-- in them, and the webhook receiver starved beside it).
--
-- 1. business_funnel_refresh's statements were planned again on every call:
--    with the ids as a parameter the plan cache kept choosing custom plans,
--    and planning the CTE (the inlined business_funnel_flags with its six
--    EXISTS) cost far more than running it. Its plans do not depend on the
--    ids (an index probe per id), so the generic plan is kept.
-- 2. A statement that changed no row, or only columns no funnel bit reads,
--    refreshed nothing but still paid for the call: an UPDATE now refreshes
--    only the businesses of rows whose funnel columns changed, and an empty
--    list returns at once.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

ALTER FUNCTION business_funnel_refresh(UUID[]) SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE FUNCTION business_funnel_refresh_some(ids UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM business_funnel_refresh(ids);
    END IF;
END $$;

-- The columns the bits read (business_funnel_flags): businesses' created_at,
-- lead_status, contact_status, website_status; a site's or checkout's
-- business_id; a campaign's business_id, sent_at, opened_at, clicked_at.
-- Rows are paired by id; a row whose id changed counts as changed.
CREATE OR REPLACE FUNCTION business_funnel_on_businesses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM business_funnel_refresh_some(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM business_funnel_refresh_some(ARRAY(
            SELECT coalesce(n.id, o.id) FROM new_rows n FULL JOIN old_rows o ON o.id = n.id
            WHERE n.id IS NULL OR o.id IS NULL
               OR (n.created_at, n.lead_status, n.contact_status, n.website_status)
                  IS DISTINCT FROM (o.created_at, o.lead_status, o.contact_status, o.website_status)));
    ELSE
        PERFORM business_funnel_refresh_some(ARRAY(SELECT id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION business_funnel_on_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM business_funnel_refresh_some(ARRAY(SELECT DISTINCT business_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM business_funnel_refresh_some(ARRAY(
            SELECT b FROM (
                SELECT n.business_id AS nb, o.business_id AS ob FROM new_rows n FULL JOIN old_rows o ON o.id = n.id
                WHERE n.id IS NULL OR o.id IS NULL OR n.business_id IS DISTINCT FROM o.business_id) c,
                LATERAL (VALUES (c.nb), (c.ob)) v(b)
            WHERE b IS NOT NULL));
    ELSE
        PERFORM business_funnel_refresh_some(ARRAY(SELECT DISTINCT business_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

-- Campaigns also carry the sent, opened and clicked bits.
CREATE FUNCTION business_funnel_on_campaigns_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM business_funnel_refresh_some(ARRAY(
        SELECT b FROM (
            SELECT n.business_id AS nb, o.business_id AS ob FROM new_rows n FULL JOIN old_rows o ON o.id = n.id
            WHERE n.id IS NULL OR o.id IS NULL
               OR (n.business_id, n.sent_at IS NULL, n.opened_at IS NULL, n.clicked_at IS NULL)
                  IS DISTINCT FROM (o.business_id, o.sent_at IS NULL, o.opened_at IS NULL, o.clicked_at IS NULL)) c,
            LATERAL (VALUES (c.nb), (c.ob)) v(b)
        WHERE b IS NOT NULL));
    RETURN NULL;
END $$;

DROP TRIGGER business_funnel_update ON campaigns;
CREATE TRIGGER business_funnel_update AFTER UPDATE ON campaigns REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION business_funnel_on_campaigns_update();
