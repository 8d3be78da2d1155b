-- The daily snapshot (cron "analytics", a few minutes after midnight UTC):
-- one analytics_snapshots row for the day that ended, computed from the
-- tables. Re-running it for the same day replaces that day's row.
--   purchases: subscriptions started that day (a renewal is not a purchase);
--   revenue_cents: money in that day less money refunded that day (a refund
--     is its own payments row with a negative amount; the payment it refunds
--     keeps counting on the day it was paid);
--   mrr_cents: the monthly amounts of the subscriptions still billed
--     (active or past due), as of when the snapshot runs.
local function day_of(job)
    if job.payload.date then
        return job.payload.date
    end
    return assert(wm.db.one("SELECT (now() AT TIME ZONE 'UTC')::date - 1 AS d")).d
end

return {
    kind = "analytics_snapshot",
    concurrency = 1,
    timeout = 120,
    max_attempts = 5,
    run = function(job)
        local day = day_of(job)
        local has_llm = assert(wm.db.one("SELECT to_regclass('llm_calls') IS NOT NULL AS ok")).ok
        local has_quals = assert(wm.db.one([[SELECT EXISTS (SELECT 1 FROM information_schema.columns
            WHERE table_name = 'businesses' AND column_name = 'qualified_at') AS ok]])).ok
        local row = assert(wm.db.one(([[
            SELECT
              (SELECT count(*) FROM businesses WHERE created_at::date = $1::date)::int AS leads_scraped,
              %s AS leads_qualified,
              (SELECT count(*) FROM generated_sites WHERE created_at::date = $1::date)::int AS sites_generated,
              (SELECT count(*) FROM generated_sites WHERE deployed_at::date = $1::date)::int AS sites_deployed,
              (SELECT count(*) FROM campaigns WHERE sent_at::date = $1::date)::int AS emails_sent,
              (SELECT count(*) FROM campaigns WHERE opened_at::date = $1::date)::int AS emails_opened,
              (SELECT count(*) FROM campaigns WHERE clicked_at::date = $1::date)::int AS emails_clicked,
              (SELECT count(*) FROM checkouts WHERE created_at::date = $1::date)::int AS checkouts_created,
              (SELECT count(*) FROM subscriptions WHERE started_at::date = $1::date)::int AS purchases,
              (SELECT coalesce(sum(amount_cents), 0) FROM payments
                 WHERE paid_at::date = $1::date AND status IN ('succeeded', 'refunded'))::int AS revenue_cents,
              (SELECT coalesce(sum(amount_cents), 0) FROM subscriptions
                 WHERE status IN ('active', 'past_due'))::int AS mrr_cents,
              %s AS api_costs_cents]]):format(
                has_quals and "(SELECT count(*) FROM businesses WHERE qualified_at::date = $1::date)::int"
                    or "(SELECT count(*) FROM businesses WHERE created_at::date = $1::date AND qualification_score >= 60)::int",
                has_llm and "(SELECT coalesce(round(sum(cost_micro_usd) / 10000.0), 0) FROM llm_calls WHERE created_at::date = $1::date)::int"
                    or "0"), day))
        assert(wm.db.query([[
            INSERT INTO analytics_snapshots (snapshot_date, leads_scraped, leads_qualified, sites_generated,
                sites_deployed, emails_sent, emails_opened, emails_clicked, purchases, revenue_cents, mrr_cents,
                api_costs_cents, checkouts_created)
            VALUES ($1::date, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (snapshot_date) DO UPDATE SET leads_scraped = EXCLUDED.leads_scraped,
                leads_qualified = EXCLUDED.leads_qualified, sites_generated = EXCLUDED.sites_generated,
                sites_deployed = EXCLUDED.sites_deployed, emails_sent = EXCLUDED.emails_sent,
                emails_opened = EXCLUDED.emails_opened, emails_clicked = EXCLUDED.emails_clicked,
                purchases = EXCLUDED.purchases, revenue_cents = EXCLUDED.revenue_cents,
                mrr_cents = EXCLUDED.mrr_cents, api_costs_cents = EXCLUDED.api_costs_cents,
                checkouts_created = EXCLUDED.checkouts_created]],
            day, row.leads_scraped, row.leads_qualified, row.sites_generated, row.sites_deployed, row.emails_sent,
            row.emails_opened, row.emails_clicked, row.purchases, row.revenue_cents, row.mrr_cents,
            row.api_costs_cents, row.checkouts_created))
        return true
    end,
}
