-- Hands the jobs of a host that stopped renewing its leases (it died, or
-- lost the database) to the others, as retryable. The lost run does not
-- spend one of the job's attempts (the host's death is no fault of the
-- job), unless the job has now lost LOST_MAX hosts: a job that kills its
-- host every time must end, discarded. Each loss is kept in errors.
-- Then lets each mail provider that can tell resolve the campaigns a crash
-- left in 'sending' (the outbox knows from its file names).
local last_warning
local LOST_MAX = 10

return {
    kind = "rescue_leases",
    concurrency = 1,
    timeout = 60,
    run = function(job)
        local rows = assert(wm.db.query([[
            WITH r AS (
                UPDATE jobs j SET
                    status = CASE WHEN l.lost >= $1 THEN 'discarded' ELSE 'retryable' END,
                    finished_at = CASE WHEN l.lost >= $1 THEN now() END,
                    attempt = CASE WHEN l.lost >= $1 THEN j.attempt ELSE greatest(j.attempt - 1, 0) END,
                    run_at = now(),
                    last_error = 'lease expired: host ' || coalesce(j.lease_owner, '?') || ' stopped renewing it'
                        || CASE WHEN l.lost >= $1 THEN ' (' || l.lost || ' hosts lost running this job)' ELSE '' END,
                    errors = j.errors || jsonb_build_array(jsonb_build_object(
                        'attempt', j.attempt, 'error', 'lease expired', 'host', j.lease_owner, 'at', now())),
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                FROM (SELECT id, 1 + (SELECT count(*) FROM jsonb_array_elements(errors) e
                                      WHERE e->>'error' = 'lease expired') AS lost
                      FROM jobs WHERE status = 'running' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED) l
                WHERE j.id = l.id
                RETURNING j.kind)
            SELECT kind, count(*)::int AS n, pg_notify('wm_jobs', kind) AS notified FROM r GROUP BY kind]],
            LOST_MAX))
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
