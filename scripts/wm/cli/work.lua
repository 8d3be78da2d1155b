-- wm work: the job scheduler and cron, without HTTP (a worker host).
return {
    summary = "run the job scheduler and cron without HTTP (a worker host)",
    usage = [[usage: wm work [--no-cron] [--migrate]

Runs the job scheduler in this process: it claims jobs of every stage in
scripts/stages/ (and WM_SCRIPTS_PATH/*/stages/), up to each kind's
concurrency, until SIGINT or SIGTERM; then running jobs get
jobs.stop_deadline seconds to finish and the rest are handed back. Any number
of `wm work` and `wm serve` processes can share one database: each job runs
on one of them. wm work takes no lock on paths.var and writes no pid file,
so it runs beside the `wm serve` that holds that folder.

  --no-cron    do not fire cron entries from this host
  --migrate    apply pending migrations first]],
    flags = { ["--no-cron"] = "boolean", ["--migrate"] = "boolean" },
    run = function(opts)
        if opts.migrate then
            local n, err = require("wm.migrate").up()
            if not n then
                io.stderr:write("wm work: ", err, "\n")
                return 1
            end
        end
        local ok, err = wm.jobs.start_worker { cron = not opts.no_cron }
        if not ok then
            io.stderr:write("wm work: ", tostring(err), "\n")
            return 1
        end
        local stop = wm.event()
        local function on_stop(sig)
            wm.log.info("stopping", { signal = sig })
            stop:set()
        end
        wm.on_signal("int", on_stop)
        wm.on_signal("term", on_stop)
        -- logrotate's SIGUSR1 (meant for the log files) must not kill a worker host.
        wm.on_signal("usr1", function() wm.log.reopen() end)
        stop:wait()
        wm.jobs.stop_worker()
        wm.on_signal("int", nil)
        wm.on_signal("term", nil)
        wm.on_signal("usr1", nil)
        wm.db.close()
        wm.log.info("stopped")
        return 0
    end,
}
