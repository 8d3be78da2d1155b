-- wm db start|stop|status|url|psql: the embedded PostgreSQL cluster.
local embed = require "wm.pgembed"

local usage = [[usage: wm db <start|stop|status|url|psql> [psql args...]

The embedded PostgreSQL cluster (used when database.url / WM_DATABASE_URL is
empty). It lives under paths.var/pg, listens only on a unix socket, and is
started on demand by any command that needs the database.

  start    create the cluster if needed and start it
  stop     stop it (fast shutdown: connections are closed)
  status   say whether it runs, where, and with which settings
  url      print its connection string (for psql, pgbench, other tools)
  psql     open psql on the database in use (external or embedded)
  destroy  stop the embedded cluster and delete its files (asks for --yes)]]

local function external_url()
    local url = wm.config.database.url
    return url ~= nil and url ~= "" and url or nil
end

return {
    summary = "manage the embedded PostgreSQL (start, stop, status, url, psql)",
    usage = usage,
    flags = { __stop_at_positional = true },
    run = function(opts, args)
        local sub = args[1]
        if sub == "start" then
            local ok, err = embed.start()
            if not ok then
                io.stderr:write("wm db start: ", err, "\n")
                return 1
            end
            local _, note = embed.location()
            if note then
                io.stdout:write("note: ", note, "\n")
            end
            io.stdout:write("embedded PostgreSQL running: ", embed.url(), "\n")
            return 0
        elseif sub == "stop" then
            local ok, err = embed.stop()
            if not ok then
                io.stderr:write("wm db stop: ", err, "\n")
                return 1
            end
            io.stdout:write("embedded PostgreSQL stopped\n")
            return 0
        elseif sub == "destroy" then
            if args[2] ~= "--yes" then
                io.stderr:write("wm db destroy deletes every row of the embedded cluster at ",
                    embed.paths().base, "; run `wm db destroy --yes` to do it\n")
                return 2
            end
            local ok, err = embed.destroy()
            if not ok then
                io.stderr:write("wm db destroy: ", err, "\n")
                return 1
            end
            io.stdout:write("embedded PostgreSQL destroyed\n")
            return 0
        elseif sub == "status" then
            local ext = external_url()
            if ext then
                io.stdout:write("database: external (", require("wm.config").mask("url", ext), ")\n")
            end
            local p = embed.paths()
            local running = embed.running()
            io.stdout:write(("embedded cluster: %s\n  data:   %s\n  socket: %s\n  log:    %s\n"):format(
                running and "running" or (embed.initialized() and "stopped" or "not created yet"),
                p.data, p.socket, p.log))
            local _, note = embed.location()
            if note then
                io.stdout:write("  note:   ", note, "\n")
            end
            return running and 0 or 3
        elseif sub == "url" then
            io.stdout:write(external_url() or embed.url(), "\n")
            return 0
        elseif sub == "psql" then
            local url = external_url()
            if not url then
                local err
                url, err = embed.ensure()
                if not url then
                    io.stderr:write("wm db psql: ", err, "\n")
                    return 1
                end
            end
            -- psql needs the terminal: run it in the foreground with os.execute.
            local argv = { "psql", ("%q"):format(url) }
            for i = 2, #args do
                argv[#argv + 1] = ("'%s'"):format(args[i]:gsub("'", "'\\''"))
            end
            local ok, _, code = os.execute(table.concat(argv, " "))
            if type(ok) == "number" then
                return ok == 0 and 0 or 1
            end
            return code or 0
        end
        io.stderr:write(sub and ("wm db: unknown subcommand '" .. sub .. "'\n\n") or "", usage, "\n")
        return 2
    end,
}
