-- Test stage: one row per run in job_runs (job id, host pid), so a test can
-- check that every job ran exactly once.
return {
    kind = "record_run",
    concurrency = 50,
    timeout = 30,
    run = function(job)
        assert(wm.db.query("INSERT INTO job_runs (job_id, pid, attempt) VALUES ($1, $2, $3)",
                           job.id, wm.sys.getpid(), job.attempt))
        if job.payload.sleep then
            wm.sleep(job.payload.sleep)
        end
        return true
    end,
}
