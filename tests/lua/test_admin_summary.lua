-- Migration 029's summary (business_funnel, funnel_hourly and their
-- triggers) against the counts taken straight from the tables: after every
-- kind of change the overview's funnel and metrics (web.admin.queries) equal
-- the direct queries, including businesses in the window's partial first
-- hour and just before it, businesses moved across the window or deleted,
-- TRUNCATE, and folding by the funnel_compact stage; concurrent changes to
-- one business from two connections leave the right bits.
local T = {}

local queries = require "web.admin.queries"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function run(sql, ...)
    assert(wm.db.query(sql, ...))
end

local function setup()
    run("DROP SCHEMA public CASCADE")
    run("CREATE SCHEMA public")
    assert(require("wm.migrate").up())
end

-- The funnel and the seed's metrics counted from the tables (the queries
-- the overview ran before migration 029).
local function direct()
    local f = one([[
WITH b AS (SELECT id, lead_status, contact_status FROM businesses WHERE created_at >= now() - interval '30 days')
SELECT
  (SELECT count(*) FROM b)::int AS leads,
  (SELECT count(*) FROM b WHERE lead_status IN ('no_website', 'qualified'))::int AS no_website,
  (SELECT count(*) FROM b WHERE lead_status = 'qualified')::int AS qualified,
  (SELECT count(DISTINCT s.business_id) FROM generated_sites s JOIN b ON b.id = s.business_id)::int AS sites,
  (SELECT count(DISTINCT c.business_id) FROM campaigns c JOIN b ON b.id = c.business_id WHERE c.sent_at IS NOT NULL)::int AS emailed,
  (SELECT count(DISTINCT c.business_id) FROM campaigns c JOIN b ON b.id = c.business_id WHERE c.opened_at IS NOT NULL)::int AS opened,
  (SELECT count(DISTINCT c.business_id) FROM campaigns c JOIN b ON b.id = c.business_id WHERE c.clicked_at IS NOT NULL)::int AS clicked,
  (SELECT count(DISTINCT k.business_id) FROM checkouts k JOIN b ON b.id = k.business_id)::int AS checkout,
  (SELECT count(*) FROM b WHERE contact_status = 'purchased')::int AS purchased]])
    local m = one([[
SELECT
    COUNT(*) FILTER (WHERE website_status = 'generated')::int as sites_generated,
    COUNT(*) FILTER (WHERE contact_status = 'purchased')::int as conversions,
    COUNT(*) FILTER (WHERE contact_status = 'emailed')::int as emails_sent
FROM businesses
WHERE created_at >= NOW() - INTERVAL '30 days']])
    return f, m
end

local function same(t, what)
    local f, m = direct()
    t.eq(queries.funnel(), f, what .. ": funnel")
    t.eq(queries.metrics(), m, what .. ": metrics")
    return f
end

local n = 0
local function business(age, fields)
    fields = fields or {}
    n = n + 1
    return one([[INSERT INTO businesses (gmb_id, slug, name, lead_status, website_status, contact_status, created_at)
        VALUES ($1, $1, $1, $2, $3, $4, now()::timestamp - $5::interval) RETURNING id]], "b" .. n,
        fields.status or "qualified", fields.website or "none", fields.contact or "pending", age).id
end

local function site(bid)
    n = n + 1
    return one([[INSERT INTO generated_sites (business_id, subdomain, html_content) VALUES ($1, $2, 'x')
        RETURNING id]], bid, "s" .. n).id
end

local function campaign(bid, sid, sent, opened, clicked)
    return one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, sent_at,
            opened_at, clicked_at)
        VALUES ($1, $2, 'hi', 'body', 'a@example.com', CASE WHEN $3 THEN now() END, CASE WHEN $4 THEN now() END,
            CASE WHEN $5 THEN now() END) RETURNING id]], bid, sid, sent, opened, clicked).id
end

function T.the_summary_counts_what_the_tables_count_after_every_change(t)
    setup()
    t.eq(same(t, "empty").leads, 0)
    -- Inside the window, in its partial first hour, and just outside it.
    local a = business("1 day", { website = "generated", contact = "emailed" })
    local b = business("29 days 23 hours 59 minutes", { status = "no_website" })
    local old = business("30 days 1 minute", { contact = "purchased" })
    business("10 days", { status = "has_website" })
    local f = same(t, "businesses")
    t.eq({ f.leads, f.no_website, f.qualified }, { 3, 2, 1 })

    local sa = site(a)
    local c = campaign(a, sa, true, false, false)
    site(old)
    f = same(t, "a site and a sent campaign")
    t.eq({ f.sites, f.emailed, f.opened }, { 1, 1, 0 })

    run("UPDATE campaigns SET opened_at = now(), clicked_at = now() WHERE id = $1", c)
    run([[INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id, business_id, campaign_id,
            amount_cents) VALUES ('offline', 'k1', 'https://pay.example/k1', $1, $2, $3, 2900)]], sa, a, c)
    run("UPDATE businesses SET contact_status = 'purchased' WHERE id = $1", a)
    f = same(t, "opened, clicked, checkout, purchased")
    t.eq({ f.opened, f.clicked, f.checkout, f.purchased }, { 1, 1, 1, 1 })

    -- Moving across the window's start, both ways, and a status change.
    run("UPDATE businesses SET created_at = now()::timestamp - interval '40 days' WHERE id = $1", a)
    run("UPDATE businesses SET created_at = now()::timestamp - interval '2 hours' WHERE id = $1", old)
    run("UPDATE businesses SET lead_status = 'qualified' WHERE id = $1", b)
    f = same(t, "moved and requalified")
    t.eq({ f.leads, f.sites, f.purchased, f.qualified }, { 3, 1, 1, 2 })

    -- Deleting a campaign, then a business with its site (cascade).
    run("DELETE FROM campaigns WHERE id = $1", c)
    run("UPDATE businesses SET created_at = now()::timestamp - interval '3 hours' WHERE id = $1", a)
    f = same(t, "campaign deleted, business back in the window")
    t.eq({ f.emailed, f.checkout }, { 0, 1 })
    run("DELETE FROM businesses WHERE id = $1", old)
    f = same(t, "business deleted")
    t.eq(f.leads, 3)

    -- Folding keeps the sums and leaves one row per hour.
    local rows = one("SELECT count(*)::int AS n FROM funnel_hourly").n
    local stage = require "stages.funnel_compact"
    t.eq(stage.kind, "funnel_compact")
    t.eq(stage.run({}), true)
    same(t, "compacted")
    local after = one("SELECT count(*)::int AS n, count(DISTINCT hour)::int AS hours FROM funnel_hourly")
    t.ok(after.n < rows, ("compaction left %d of %d rows"):format(after.n, rows))
    t.eq(after.n, after.hours)

    -- TRUNCATE fires no row triggers: the summary is rebuilt.
    run("TRUNCATE checkouts")
    same(t, "checkouts truncated")
    run("TRUNCATE businesses CASCADE")
    t.eq(same(t, "all truncated").leads, 0)
    t.eq(one("SELECT count(*)::int AS n FROM business_funnel").n, 0)
end

-- An UPDATE refreshes only the businesses whose funnel columns changed
-- (migration 033); a row moved to another business changes both.
function T.updates_refresh_what_the_bits_read_and_nothing_else(t)
    setup()
    local a = business("1 day")
    local b = business("2 days")
    local sa = site(a)
    local c = campaign(a, sa, false, false, false)
    same(t, "made")
    -- Columns no bit reads, and a statement that matches no row.
    run("UPDATE generated_sites SET html_content = 'y' WHERE id = $1", sa)
    run("UPDATE campaigns SET subject_line = 'hello' WHERE id = $1", c)
    run("UPDATE businesses SET name = 'Renamed' WHERE id = $1", a)
    run("UPDATE campaigns SET status = 'x' WHERE id IS NULL")
    same(t, "nothing the funnel reads changed")

    run("UPDATE campaigns SET sent_at = now() WHERE id = $1", c)
    t.eq(same(t, "sent by an update").emailed, 1)
    run("UPDATE generated_sites SET business_id = $2 WHERE id = $1", sa, b)
    run("UPDATE campaigns SET business_id = $2 WHERE id = $1", c, b)
    local f = same(t, "site and campaign moved to another business")
    t.eq({ f.sites, f.emailed }, { 1, 1 })
    local function site_and_sent(id)
        return one("SELECT (flags & 12)::int AS f FROM business_funnel WHERE business_id = $1", id).f
    end
    t.eq({ site_and_sent(a), site_and_sent(b) }, { 0, 12 })
    run("UPDATE campaigns SET sent_at = NULL WHERE id = $1", c)
    t.eq(same(t, "unsent").emailed, 0)
end

function T.a_bulk_insert_and_update_is_counted_by_statement(t)
    setup()
    run([[INSERT INTO businesses (gmb_id, slug, name, lead_status, created_at)
        SELECT 'g' || i, 'g' || i, 'g' || i, CASE WHEN i % 3 = 0 THEN 'qualified' ELSE 'new' END,
               now()::timestamp - (i || ' hours')::interval
        FROM generate_series(1, 1000) i]])
    run([[INSERT INTO generated_sites (business_id, subdomain, html_content)
        SELECT id, 'x' || slug, 'x' FROM businesses WHERE lead_status = 'qualified']])
    run("UPDATE businesses SET website_status = 'generated' WHERE lead_status = 'qualified'")
    local f = same(t, "bulk")
    -- Hour 720 is past the window (its now() came before the count's).
    t.eq({ f.leads, f.qualified, f.sites }, { 719, 239, 239 })
end

-- Two connections change one business at once, each in a transaction that
-- stays open: the second's trigger waits for the first and then reads what
-- it committed, so the bits hold both changes.
function T.concurrent_changes_to_one_business_keep_both(t)
    setup()
    local a = business("1 hour")
    local sa = site(a)
    local c = campaign(a, sa, true, false, false)
    local first_done = false
    local one_task = wm.spawn(function()
        assert(wm.db.tx(function(q)
            assert(q:query("UPDATE campaigns SET opened_at = now() WHERE id = $1", c))
            wm.sleep(0.3)
            first_done = true
        end))
    end)
    wm.sleep(0.1)
    assert(wm.db.tx(function(q)
        assert(q:query([[INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id, business_id,
            amount_cents) VALUES ('offline', 'k2', 'https://pay.example/k2', $1, $2, 2900)]], sa, a))
    end))
    t.ok(first_done, "the second transaction waited for the first")
    one_task:wait()
    local f = same(t, "concurrent")
    t.eq({ f.opened, f.checkout }, { 1, 1 })
    t.eq(one("SELECT flags FROM business_funnel WHERE business_id = $1", a).flags, 1 + 2 + 4 + 8 + 16 + 64)
end

return T
