-- wm jobs ls|show|retry|cancel
local usage = [[usage: wm jobs <ls|show|retry|cancel> [options]

  wm jobs ls [--status S] [--kind K] [--limit N]   newest first; with no filter,
                                                   a count by kind and status too
  wm jobs show ID                                  every field and every error
  wm jobs retry ID                                 run a failed or discarded job again now
  wm jobs cancel ID                                cancel a job that is not running]]

local function out(...) io.stdout:write(...) end

local function ls(opts)
    local rows, err = wm.db.query([[SELECT id, kind, status, attempt, max_attempts, priority,
            to_char(run_at, 'YYYY-MM-DD HH24:MI:SS') AS run_at, left(regexp_replace(coalesce(last_error, ''), '\s+', ' ', 'g'), 60) AS last_error
        FROM jobs WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2)
        ORDER BY id DESC LIMIT $3]], opts.status, opts.kind, opts.limit or 50)
    if not rows then
        return nil, err
    end
    out(("%-8s %-20s %-10s %-7s %-19s %s\n"):format("ID", "KIND", "STATUS", "TRIES", "RUN AT", "LAST ERROR"))
    for _, r in ipairs(rows) do
        out(("%-8d %-20s %-10s %3d/%-3d %-19s %s\n"):format(r.id, r.kind, r.status, r.attempt, r.max_attempts,
            r.run_at, r.last_error))
    end
    if not opts.status and not opts.kind then
        local counts = assert(wm.jobs.counts())
        out("\n")
        for _, c in ipairs(counts) do
            out(("%-20s %-10s %d\n"):format(c.kind, c.status, c.n))
        end
    end
    return true
end

local function show(id)
    local r, err = wm.db.one("SELECT * FROM jobs WHERE id = $1", tonumber(id))
    if not r then
        return nil, err or ("no job " .. tostring(id))
    end
    for _, k in ipairs({ "id", "kind", "status", "attempt", "max_attempts", "priority", "run_at", "unique_key",
                         "lease_owner", "lease_expires_at", "created_at", "attempted_at", "finished_at",
                         "last_error" }) do
        local v = r[k]
        out(("%-17s %s\n"):format(k, v == wm.null and "" or tostring(v)))
    end
    out(("%-17s %s\n"):format("payload", wm.json.encode(r.payload, { pretty = true })))
    out("errors:\n")
    for _, e in ipairs(r.errors) do
        out(("  attempt %s at %s on %s:\n    %s\n"):format(tostring(e.attempt), tostring(e.at), tostring(e.host),
            tostring(e.error):gsub("\n", "\n    ")))
    end
    return true
end

local function retry(id)
    local rows, err = wm.db.query([[UPDATE jobs SET status = 'available', run_at = now(),
            max_attempts = GREATEST(max_attempts, attempt + 1), finished_at = NULL, updated_at = now()
        WHERE id = $1 AND status IN ('retryable', 'discarded', 'cancelled', 'scheduled')
        RETURNING id, kind, pg_notify('wm_jobs', kind) AS n]], tonumber(id))
    if not rows then
        return nil, err
    end
    if not rows[1] then
        local j = wm.db.one("SELECT status FROM jobs WHERE id = $1", tonumber(id))
        return nil, j and ("job " .. id .. " is " .. j.status .. "; only retryable, discarded, cancelled or scheduled jobs can be retried") or ("no job " .. id)
    end
    out("job ", id, " will run again now\n")
    return true
end

local function cancel(id)
    local rows, err = wm.db.query([[UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('scheduled', 'available', 'retryable') RETURNING id]], tonumber(id))
    if not rows then
        return nil, err
    end
    if not rows[1] then
        local j = wm.db.one("SELECT status, lease_owner FROM jobs WHERE id = $1", tonumber(id))
        if not j then
            return nil, "no job " .. id
        end
        if j.status == "running" then
            return nil, ("job %s is running on %s; it cannot be cancelled mid-run (stop that host, or wait)"):format(
                id, tostring(j.lease_owner))
        end
        return nil, "job " .. id .. " is already " .. j.status
    end
    out("job ", id, " cancelled\n")
    return true
end

return {
    summary = "list, inspect, retry and cancel jobs",
    usage = usage,
    flags = { ["--status"] = "string", ["--kind"] = "string", ["--limit"] = "number" },
    run = function(opts, args)
        local sub, id = args[1], args[2]
        local ok, err
        if sub == "ls" or sub == nil then
            ok, err = ls(opts)
        elseif (sub == "show" or sub == "retry" or sub == "cancel") and not (id and id:match("^%d+$")) then
            io.stderr:write("wm jobs ", sub, ": which job? (a numeric id)\n\n", usage, "\n")
            return 2
        elseif sub == "show" then
            ok, err = show(id)
        elseif sub == "retry" then
            ok, err = retry(id)
        elseif sub == "cancel" then
            ok, err = cancel(id)
        else
            io.stderr:write("wm jobs: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm jobs: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
