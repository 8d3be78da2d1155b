-- Operator actions on the job queue (the dashboard; `wm jobs` has its own
-- SQL for the shell): each joins the caller's transaction and writes its
-- activity_log row with the actor. Jobs have bigint ids, so the row names
-- the job in details (activity_log.entity_id is a uuid).
local activity = require "lib.activity"

local _M = {}

-- A failed, discarded, cancelled or scheduled job runs again now.
function _M.retry(id, actor)
    local row = wm.db.run_one([[UPDATE jobs SET status = 'available', run_at = now(),
            max_attempts = GREATEST(max_attempts, attempt + 1), finished_at = NULL, updated_at = now()
        WHERE id = $1 AND status IN ('retryable', 'discarded', 'cancelled', 'scheduled')
        RETURNING id, kind, pg_notify('wm_jobs', kind) AS n]], id)
    if not row then
        return nil, "only a retryable, discarded, cancelled or scheduled job can be retried"
    end
    assert(activity.log("job.retried", "job", nil, { job_id = id, kind = row.kind }, actor and actor.type, actor and actor.id))
    return true
end

-- A job that is not running is cancelled.
function _M.cancel(id, actor)
    local row = wm.db.run_one([[UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('scheduled', 'available', 'retryable') RETURNING id, kind]], id)
    if not row then
        return nil, "only a waiting or retryable job can be cancelled"
    end
    assert(activity.log("job.cancelled", "job", nil, { job_id = id, kind = row.kind }, actor and actor.type, actor and actor.id))
    return true
end

return _M
