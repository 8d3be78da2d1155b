-- tests/schema/seed_queries.sql: the four "Common Queries" of
-- /work/shared/seed/webmagic-schema.md, copied verbatim, in seed order.
-- Run unchanged against a migrated database, e.g.
--   psql -X -v ON_ERROR_STOP=1 -f tests/schema/seed_queries.sql

-- Get next target for autopilot
SELECT * FROM coverage_grid
WHERE status = 'pending'
  AND (cooldown_until IS NULL OR cooldown_until < NOW())
ORDER BY priority DESC, population DESC
LIMIT 1;

-- Get qualified leads ready for site generation
SELECT * FROM businesses
WHERE website_status = 'none'
  AND email IS NOT NULL
  AND rating >= 4.0
  AND review_count >= 10
ORDER BY qualification_score DESC
LIMIT 50;

-- Get sites ready for outreach
SELECT s.*, b.email, b.name as business_name
FROM generated_sites s
JOIN businesses b ON s.business_id = b.id
WHERE s.status = 'preview'
  AND b.contact_status = 'pending'
  AND s.screenshot_desktop_url IS NOT NULL;

-- Dashboard metrics
SELECT 
    COUNT(*) FILTER (WHERE website_status = 'generated') as sites_generated,
    COUNT(*) FILTER (WHERE contact_status = 'purchased') as conversions,
    COUNT(*) FILTER (WHERE contact_status = 'emailed') as emails_sent
FROM businesses
WHERE created_at >= NOW() - INTERVAL '30 days';
