-- tests/bench/admin_load.sql: the dashboard benchmark's data (tests/bench/admin
-- runs it with psql into a migrated database of its own). 100,000 businesses
-- created over 90 days, the sites, campaigns and checkouts the pipeline makes
-- of the qualified ones, 300,000 tracking events and 1,000,000 activity rows,
-- with setseed so every run measures the same rows.
SELECT setseed(0.42);

-- Lead status by share of leads (most places have a website), 50 cities,
-- 20 industries, ratings leaning high as Google's do, 4 in 10 with an email.
INSERT INTO businesses (gmb_id, slug, name, city, state, category, rating, review_count, email, lead_status,
                        qualification_score, website_status, contact_status, raw_place, created_at, updated_at)
SELECT 'bench-' || i, 'bench-' || i, 'Bench business ' || i,
       (ARRAY['Austin','Dallas','Houston','San Antonio','Phoenix','Denver','Seattle','Portland','Boise','Reno',
              'Tucson','Albuquerque','El Paso','Omaha','Tulsa','Wichita','Kansas City','St. Louis','Chicago',
              'Detroit','Columbus','Cleveland','Pittsburgh','Buffalo','Boston','Providence','Hartford',
              'Newark','Philadelphia','Baltimore','Richmond','Raleigh','Charlotte','Atlanta','Nashville',
              'Memphis','Louisville','Indianapolis','Milwaukee','Minneapolis','Des Moines','Fargo',
              'Billings','Spokane','Sacramento','Fresno','San Diego','Orlando','Tampa','Miami'])[1 + (i % 50)],
       'TX',
       (ARRAY['plumber','electrician','roofer','hvac','landscaper','painter','locksmith','cleaner',
              'dentist','chiropractor','salon','barber','bakery','florist','mechanic','carpenter',
              'pest control','mover','photographer','tailor'])[1 + ((i / 50) % 20)],
       round((2.5 + 2.5 * sqrt(random()))::numeric, 1),
       (random() * 300)::int,
       CASE WHEN random() < 0.4 THEN 'owner' || i || '@example.com' END,
       s.status,
       CASE WHEN s.status = 'qualified' THEN 60 + (random() * 40)::int ELSE (random() * 60)::int END,
       'none', 'pending',
       jsonb_build_object('place_id', 'bench-' || i, 'types', jsonb_build_array('point_of_interest')),
       c.at, c.at
FROM generate_series(1, 100000) i
CROSS JOIN LATERAL (SELECT random() AS r, now()::timestamp - random() * interval '90 days' AS at) c
CROSS JOIN LATERAL (SELECT CASE WHEN c.r < 0.10 THEN 'new' WHEN c.r < 0.45 THEN 'has_website'
                                WHEN c.r < 0.60 THEN 'no_website' WHEN c.r < 0.65 THEN 'unverifiable'
                                WHEN c.r < 0.90 THEN 'qualified' ELSE 'disqualified' END AS status) s;

-- Seven in ten qualified leads have a site.
INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token, created_at)
SELECT id, 'site-' || slug, '<!doctype html><title>' || name || '</title>', 'preview', md5(slug), created_at + interval '1 hour'
FROM businesses WHERE lead_status = 'qualified' AND random() < 0.7;
UPDATE businesses b SET website_status = 'generated' FROM generated_sites s WHERE s.business_id = b.id;

-- Eight in ten sites are emailed (nine in ten of those sent), four in ten
-- of the sent opened, a quarter of the opened clicked.
INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status, sent_at, opened_at,
                       opened_count, clicked_at, clicked_count, variant, created_at)
SELECT business_id, id, 'A site for you', 'Hello', 'owner@example.com',
       CASE WHEN o < 0.04 THEN 'clicked' WHEN o < 0.16 THEN 'opened' WHEN o < 0.9 THEN 'sent' ELSE 'pending' END,
       CASE WHEN o < 0.9 THEN created_at + interval '2 hours' END,
       CASE WHEN o < 0.16 THEN created_at + interval '5 hours' END, CASE WHEN o < 0.16 THEN 1 ELSE 0 END,
       CASE WHEN o < 0.04 THEN created_at + interval '6 hours' END, CASE WHEN o < 0.04 THEN 1 ELSE 0 END,
       CASE WHEN random() < 0.5 THEN 'A' ELSE 'B' END, created_at + interval '2 hours'
FROM (SELECT id, business_id, created_at, random() AS o FROM generated_sites WHERE random() < 0.8) s;
UPDATE businesses b SET contact_status = CASE c.status WHEN 'pending' THEN 'pending' ELSE 'emailed' END
FROM campaigns c WHERE c.business_id = b.id;

-- Half of the clicked start a checkout, a third of those pay.
INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id, business_id, campaign_id, amount_cents,
                       status, paid_at, created_at)
SELECT 'offline', 'bench-' || id, 'https://pay.example/' || id, site_id, business_id, id, 2900,
       CASE WHEN p < 0.33 THEN 'paid' ELSE 'expired' END, CASE WHEN p < 0.33 THEN now() END,
       clicked_at + interval '10 minutes'
FROM (SELECT id, site_id, business_id, clicked_at, random() AS p FROM campaigns
      WHERE clicked_at IS NOT NULL AND random() < 0.5) c;
UPDATE businesses b SET contact_status = 'purchased' FROM checkouts k WHERE k.business_id = b.id AND k.status = 'paid';

-- 300,000 opens, clicks and unsubscribes spread over the sent campaigns.
INSERT INTO tracking_events (campaign_id, kind, user_agent, created_at)
SELECT ids.a[1 + (random() * (array_length(ids.a, 1) - 1))::int],
       CASE WHEN r < 0.8 THEN 'open' WHEN r < 0.98 THEN 'click' ELSE 'unsubscribe' END,
       'Mozilla/5.0', now() - random() * interval '90 days'
FROM (SELECT array_agg(id) AS a FROM campaigns WHERE sent_at IS NOT NULL) ids,
     LATERAL (SELECT random() AS r, i FROM generate_series(1, 300000) i) g;

-- 1,000,000 activity rows about the businesses, system and staff actions.
INSERT INTO activity_log (action, entity_type, entity_id, details, actor_type, created_at)
SELECT (ARRAY['business.scraped','business.checked','business.qualified','site.generated','campaign.sent',
              'campaign.opened','grid.paused','job.retried'])[1 + (i % 8)],
       'business', ids.a[1 + (random() * (array_length(ids.a, 1) - 1))::int],
       jsonb_build_object('n', i), CASE WHEN i % 10 = 0 THEN 'user' ELSE 'system' END,
       now()::timestamp - random() * interval '90 days'
FROM (SELECT array_agg(id) AS a FROM businesses) ids, generate_series(1, 1000000) i;

-- The overview's daily charts.
INSERT INTO analytics_snapshots (snapshot_date, leads_scraped, sites_generated, emails_sent, emails_opened,
                                 emails_clicked, purchases, revenue_cents, mrr_cents, api_costs_cents)
SELECT current_date - d, 1100, 190, 150, 60, 15, 2, 5800, 2900 * d, 4000
FROM generate_series(1, 90) d;

-- What the funnel_compact cron does every minute: one summary row per hour.
SELECT funnel_hourly_compact();

VACUUM ANALYZE;
