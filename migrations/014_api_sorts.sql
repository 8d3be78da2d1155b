-- 014_api_sorts.sql: indexes for the orders the JSON API and the dashboard's
-- lists page through (scripts/web/admin/queries.lua). A keyset page is
-- "WHERE (key, id) < ($1, $2) ORDER BY key DESC, id DESC LIMIT n": with an
-- index on exactly (key, id) it reads n rows however deep the page, instead
-- of sorting the whole table for each one. The keys are coalesced so that a
-- NULL still has a place in the order; each expression here is the one the
-- query writes, or the planner would not match it.
CREATE INDEX idx_business_created_page ON businesses ((coalesce(created_at, '-infinity'::timestamp)), id);
CREATE INDEX idx_business_rating_page ON businesses ((coalesce(rating, -1)), id);
CREATE INDEX idx_business_score_page ON businesses ((coalesce(qualification_score, -1)), id);
CREATE INDEX idx_sites_created_page ON generated_sites ((coalesce(created_at, '-infinity'::timestamp)), id);
CREATE INDEX idx_campaigns_created_page ON campaigns ((coalesce(created_at, '-infinity'::timestamp)), id);
CREATE INDEX idx_customers_created_page ON customers ((coalesce(created_at, '-infinity'::timestamp)), id);
CREATE INDEX idx_payments_created_page ON payments ((coalesce(created_at, '-infinity'::timestamp)), id);
CREATE INDEX idx_activity_created_page ON activity_log ((coalesce(created_at, '-infinity'::timestamp)), id);
