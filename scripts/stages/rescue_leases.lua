-- Hands the jobs of a host that stopped renewing its leases (it died, or
-- lost the database) to the others: back to retryable, or discarded when
-- they were on their last attempt; the lost attempt is kept in errors.
-- Then lets each mail provider that can tell resolve the campaigns a crash
-- left in 'sending' (the outbox knows from its file names).
local last_warning

return {
    kind = "rescue_leases",
    concurrency = 1,
    timeout = 60,
    run = function(job)
        local rows = assert(wm.db.query([[
            WITH r AS (
                UPDATE jobs SET
                    status = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    run_at = now(),
                    last_error = 'lease expired: host ' || coalesce(lease_owner, '?') || ' stopped renewing it',
                    errors = errors || jsonb_build_array(jsonb_build_object(
                        'attempt', attempt, 'error', 'lease expired', 'host', lease_owner, 'at', now())),
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                WHERE status = 'running' AND lease_expires_at < now()
                RETURNING kind)
            SELECT kind, count(*)::int AS n, pg_notify('wm_jobs', kind) AS notified FROM r GROUP BY kind]]))
        for _, r in ipairs(rows) do
            wm.log.warn("rescued jobs with expired leases", { kind = r.kind, count = r.n })
        end
        local campaigns = require "domain.campaigns"
        local _, err = campaigns.auto_resolve()
        if err then
            return nil, "resolving stuck campaigns: " .. tostring(err)
        end
        local stuck = campaigns.stuck_count()
        if stuck and stuck > 0 and wm.monotonic() - (last_warning or -1e9) >= 300 then
            last_warning = wm.monotonic()
            wm.log.warn("campaigns stuck in 'sending': they may have been sent and are never resent by "
                .. "themselves; see `wm campaigns stuck`", { count = stuck })
        end
        return true
    end,
}
