-- wm reload: asks the running server to reload its scripts, by sending
-- SIGHUP to the pid in <paths.var>/wm.pid (written by `wm serve` while it
-- holds <paths.var>/wm.lock; see wm.pidlock).
return {
    summary = "make the running server reload its scripts (SIGHUP)",
    usage = [[usage: wm reload [--pid-file FILE]

Sends SIGHUP to the running `wm serve`, found through its pid file
(<paths.var>/wm.pid unless --pid-file is given); a pid file whose pid does
not hold <paths.var>/wm.lock is stale and gets no signal. The server then
compiles every script; if all compile, the next request or job uses the new
code, otherwise the old code stays and the server logs each error with its
file and line. Files are also reloaded automatically when they change.

Exit status: 0 when the signal was sent, 1 when no server was found.]],
    flags = { ["--pid-file"] = "string" },
    run = function(opts)
        local pid, err = require("wm.pidlock").signal_server(opts.pid_file)
        if not pid then
            io.stderr:write("wm reload: ", err, "\n")
            return 1
        end
        io.stdout:write(("wm reload: sent SIGHUP to %d\n"):format(pid))
        return 0
    end,
}
