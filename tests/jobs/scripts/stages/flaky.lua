-- Test stage: fails as the payload says.
return {
    kind = "flaky",
    concurrency = 5,
    timeout = 5,
    run = function(job)
        local p = job.payload
        assert(wm.db.query("INSERT INTO job_runs (job_id, pid, attempt) VALUES ($1, $2, $3)",
                           job.id, wm.sys.getpid(), job.attempt))
        if p.mode == "raise" then
            error("stage blew up on attempt " .. job.attempt)
        elseif p.mode == "nil" and job.attempt < (p.succeed_on or 99) then
            return nil, "soft failure " .. job.attempt, p.retry_in and { retry_in = p.retry_in } or nil
        elseif p.mode == "discard" then
            return nil, "not worth retrying", { discard = true }
        elseif p.mode == "hang" then
            wm.sleep(60)
        end
        return true
    end,
}
