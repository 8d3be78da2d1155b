local migrate = require "wm.migrate"

local usage = [[usage: wm migrate [status]

  wm migrate          apply the pending migrations in order, each in its own
                      transaction, and record version, name, checksum, time
  wm migrate status   list every migration: applied (with its time), pending,
                      or changed since it was applied

Migrations are the files paths.migrations/NNN_name.sql (default: migrations/).
A migration that was changed after it was applied stops `wm migrate` with an
error: restore the file and write the change as a new migration.]]

return {
    summary = "apply pending database migrations (status: list them)",
    usage = usage,
    run = function(opts, args)
        local sub = args[1]
        if sub == "status" then
            local rows, err = migrate.status()
            if not rows then
                io.stderr:write("wm migrate status: ", err, "\n")
                return 1
            end
            local bad = false
            for _, r in ipairs(rows) do
                io.stdout:write(("%03d  %-34s %-9s %s\n"):format(r.version, r.name, r.state, r.applied_at or ""))
                bad = bad or r.state == "changed"
            end
            return bad and 1 or 0
        elseif sub ~= nil then
            io.stderr:write("wm migrate: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        local n, err = migrate.up(nil, function(m, secs)
            io.stdout:write(("applied %s (%.0f ms)\n"):format(m.file, secs * 1000))
        end)
        if not n then
            io.stderr:write("wm migrate: ", err, "\n")
            return 1
        end
        io.stdout:write(n == 0 and "database is up to date\n" or ("%d migration%s applied\n"):format(n, n == 1 and "" or "s"))
        return 0
    end,
}
