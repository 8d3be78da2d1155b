-- wm serve: the HTTP server (routes from scripts/web/, /healthz, /metrics).
-- With --workers N > 1 this process becomes a supervisor: it starts N worker
-- processes (`wm serve --worker I`) that share the port through SO_REUSEPORT,
-- restarts one that dies, and on SIGTERM/SIGINT stops them all gracefully.
local httpd = require "wm.core.httpd"
local http_server = require "wm.http_server"
local router = require "wm.router"

local SIGHUP, SIGUSR1, SIGTERM, SIGKILL = 1, 10, 15, 9

-- Hot reload (scripts/wm/reload.lua): the router rebuilds its table from the
-- route files after each reload; SIGHUP (`wm reload`) reloads by hand.
local function start_reload()
    local ok, reload = pcall(require, "wm.reload")
    if not ok then
        wm.log.warn("http: hot reload unavailable", { error = tostring(reload) })
        return nil
    end
    reload.on_reload("router", function()
        return router.rebuild()
    end)
    local started, err = reload.start { watch = wm.config.http.watch_scripts ~= false }
    if not started then
        wm.log.warn("http: not watching scripts", { error = tostring(err) })
    end
    return reload
end

local function stop_reload(reload)
    if reload then
        reload.stop()
    end
end

local usage = [==[usage: wm serve [--listen HOST:PORT] [--workers N] [--routes DIR[:DIR...]] [--drain SECONDS]

Serves HTTP: the routes in scripts/web/*.lua (plus any --routes folders),
static files under /static/, /healthz and /metrics.

  --listen HOST:PORT   address to listen on (default: config http.listen,
                       127.0.0.1:8080); port 0 picks a free port (one worker)
  --workers N          N processes share the port (SO_REUSEPORT), one per
                       core is a good start (default: config http.workers, 1)
  --routes DIR[:DIR]   more folders of route files, loaded after scripts/web
  --drain SECONDS      on SIGTERM/SIGINT, how long requests in flight may
                       take before their connections are cut (default 10)
  --no-jobs            serve HTTP only: no job scheduler, no cron, no
                       migrations (run `wm work` elsewhere)
  --quiet              no banner and progress lines on stdout
  --force-shared       run beside the server that holds paths.var (its
                       var/wm.lock): no lock, no pid file, so `wm reload`
                       does not reach this one

By default wm serve is the whole main job: it applies pending migrations,
seeds the coverage grid when it is empty, and runs the job scheduler and
cron (the autopilot) beside HTTP; with --workers, worker 1 runs the jobs.

Scripts: a change under scripts/ is loaded at once (a file that does not
compile is logged and changes nothing); http.watch_scripts=false
(WM_HTTP_WATCH_SCRIPTS=false) reloads only on `wm reload`.

Limits: config http.max_header_bytes, max_body_bytes, max_connections,
header_timeout, idle_timeout (WM_HTTP_<KEY> in the environment). Access log:
one JSON line per request unless log.access=false (WM_LOG_ACCESS=false).
A second SIGTERM/SIGINT stops at once.

One server per paths.var: wm serve holds <paths.var>/wm.lock (released by
the kernel when the process ends, however it ends) and writes wm.pid for
`wm reload`; a second one on the same folder refuses and says who holds it.

Links in emails and the sites' addresses follow --listen unless
sites.base_url and sites.site_url_pattern are configured (`wm config`).]==]

local function split_dirs(s)
    local out = {}
    if s then
        for d in tostring(s):gmatch("[^:]+") do
            local real = wm.fs.realpath(d)
            out[#out + 1] = real or d
        end
    end
    return out
end

-- The database as the loop needs it: migrated, and with a coverage grid.
local prepare_steps
local function prepare_database()
    local ok, res, err = pcall(prepare_steps)
    if not ok then
        return nil, tostring(res)
    end
    return res, err
end
function prepare_steps()
    if (wm.config.database.auto_migrate ~= false) then
        local n, err = require("wm.migrate").up()
        if not n then
            return nil, err
        end
        if n > 0 then
            wm.log.info("migrations applied", { count = n })
        end
    end
    -- The prompts in scripts/agents/ are the source of truth: bring the
    -- prompt tables up to date with them.
    local synced, serr = require("lib.prompts").sync()
    if not synced then
        return nil, "syncing prompts: " .. tostring(serr)
    end
    if wm.config.autopilot.enabled then
        local ok, err = require("lib.grid").seed_if_empty()
        if not ok then
            return nil, "seeding the coverage grid: " .. tostring(err)
        end
    end
    return true
end

-- One process serving until a signal.
local function serve_here(opts, listen, dirs, drain)
    local worker = opts.worker
    if worker then
        httpd.die_with_parent()
    end
    -- The signal handlers come first: a SIGTERM during start-up (while the
    -- database starts, before the watcher) stops the server gracefully
    -- instead of killing it. The handler only asks; the stop happens below.
    local done = wm.event()
    local srv, stopping = nil, false
    local function on_signal(name)
        if stopping then
            wm.log.warn("http: second signal, closing now", { signal = name })
            if srv then
                srv:close()
            end
            return
        end
        stopping = true
        wm.log.info("http: stopping", { signal = name, drain_seconds = drain })
        done:set()
    end
    wm.on_signal("term", on_signal)
    wm.on_signal("int", on_signal)
    local function unhook()
        wm.on_signal("term", nil)
        wm.on_signal("int", nil)
    end
    -- The job scheduler runs in a lone server, or in worker 1 of a group.
    local run_jobs = not opts.no_jobs and (worker == nil or worker == 1)
    -- A database that does not answer is no reason to stop serving: sites
    -- answer from their cache (lib.site_cache), clicks from their token, the
    -- rest 503. The loop starts when the database is back.
    local waiting_for_db = false
    if worker == nil and run_jobs then
        local ok, err = prepare_database()
        if not ok and require("lib.outage").is_down(err) and not stopping then
            waiting_for_db = true
            io.stderr:write("wm serve: the database is not answering (", tostring(err), "); serving sites "
                .. "from their cache, and the loop starts when it answers\n")
        elseif not ok then
            unhook()
            io.stderr:write("wm serve: ", tostring(err), "\n")
            return stopping and 0 or 1
        end
    end
    local err
    srv, err = http_server.start { listen = listen, dirs = dirs, reuseport = worker ~= nil, worker = worker }
    if not srv then
        unhook()
        io.stderr:write("wm serve: ", tostring(err), "\n")
        return 1
    end
    -- Links in emails and the sites' addresses follow the address really
    -- bound (--listen, port 0) unless sites.base_url and
    -- sites.site_url_pattern are configured.
    local bh, bp = srv:address()
    if bh and bp and (bh .. ":" .. bp) ~= wm.config.http.listen then
        require("wm.config").follow_listen(wm.config, bh .. ":" .. bp, opts.listen and "--listen" or "bound")
    end
    local reload = start_reload()
    if worker == nil and not waiting_for_db and not stopping then
        require("web.admin.setup_notice").print()
    end
    local jobs_started = false
    if run_jobs and not stopping and not waiting_for_db then
        local ok, jerr = wm.jobs.start_worker { cron = true }
        if not ok then
            io.stderr:write("wm serve: the job scheduler did not start: ", tostring(jerr), "\n")
            http_server.stop(0)
            stop_reload(reload)
            unhook()
            return 1
        end
        jobs_started = true
    elseif waiting_for_db then
        wm.spawn(function()
            local delay, tries = 1, 0
            while not stopping do
                done:wait(delay)
                if stopping then
                    return
                end
                local ok, err = prepare_database()
                if ok then
                    local started, jerr = wm.jobs.start_worker { cron = true }
                    if started then
                        jobs_started = true
                        wm.log.info("the database answers again: the loop starts")
                        return
                    end
                    err = jerr
                end
                tries = tries + 1
                if tries % 12 == 1 then
                    wm.log.warn("still waiting for the database; sites answer from their cache",
                                { error = tostring(err) })
                end
                delay = math.min(delay * 2, 5)
            end
        end)
    end
    local progress_done = wm.event()
    if worker == nil and not opts.quiet and not stopping then
        local h, p = srv:address()
        wm.spawn(function()
            require("wm.progress").run(h and (h .. ":" .. tostring(p)) or listen, progress_done, 10)
        end)
    end
    done:wait()
    http_server.stop(drain)
    wm.log.info("http: stopped")
    if jobs_started then
        wm.jobs.stop_worker()
    end
    progress_done:set()
    unhook()
    stop_reload(reload)
    -- Handlers still running had their connections cut by the drain
    -- timeout: do not wait for them (the runtime cancels them at exit).
    local left = wm.sys.live_tasks() - 1
    if left > 0 then
        wm.log.warn("http: cancelling tasks still running after the drain", { tasks = left })
        require("wm.core").stop_loop()
    end
    return 0
end

local function supervise(opts, listen, dirs, drain, n)
    local host, port = http_server.parse_listen(listen)
    if not host then
        io.stderr:write("wm serve: ", port, "\n")
        return 2
    end
    if port == 0 then
        io.stderr:write("wm serve: --workers needs a fixed port (port 0 picks one per worker)\n")
        return 2
    end
    local exe = httpd.exepath()
    local base = { exe }
    if WM_BOOT.config_file then
        base[#base + 1] = "--config"
        base[#base + 1] = WM_BOOT.config_file
    end
    for _, a in ipairs({ "serve", "--listen", listen, "--drain", tostring(drain) }) do
        base[#base + 1] = a
    end
    if #dirs > 0 then
        base[#base + 1] = "--routes"
        base[#base + 1] = table.concat(dirs, ":")
    end
    local env = { WM_ROOT = wm.root }
    if not opts.no_jobs then
        local ok, err = prepare_database()
        if not ok then
            io.stderr:write("wm serve: ", tostring(err), "\n")
            return 1
        end
    end
    if opts.no_jobs then
        base[#base + 1] = "--no-jobs"
    end
    -- Workers must not race to start the embedded cluster: start it here.
    local dbc = wm.config.database or {}
    if (dbc.url or "") == "" and os.getenv("WM_DATABASE_URL") == nil then
        local ok, info = pcall(function() return require("wm.pgembed").ensure() end)
        if ok and info then
            env.WM_DATABASE_URL = info
        else
            wm.log.warn("http: embedded database not started; /healthz will say so",
                { error = tostring(info) })
        end
    end

    local stopping = false
    local wake = wm.event()
    local pids = {}
    local running = n
    local done = wm.event()
    local failed = false

    local function stop_all(sig)
        stopping = true
        wake:set()
        for _, pid in pairs(pids) do
            httpd.kill_worker(pid, sig)
        end
    end

    wm.log.info("http: supervisor", { workers = n, listen = listen, pid = wm.sys.getpid() })
    for i = 1, n do
        wm.spawn(function()
            local backoff, first = 0.5, true
            while not stopping do
                local argv = {}
                for k, v in ipairs(base) do
                    argv[k] = v
                end
                argv[#argv + 1] = "--worker"
                argv[#argv + 1] = tostring(i)
                local t0 = wm.monotonic()
                local pid, err = httpd.spawn_worker { argv = argv, env = env }
                if not pid then
                    wm.log.error("http: cannot start worker", { worker = i, error = err })
                    failed = true
                    stop_all(SIGTERM)
                    break
                end
                pids[i] = pid
                local code, sig = httpd.wait_worker(pid)
                pids[i] = nil
                if stopping then
                    break
                end
                local lived = wm.monotonic() - t0
                if first and lived < 2 and code ~= 0 then
                    wm.log.error("http: worker failed at start; stopping", { worker = i, code = code })
                    failed = true
                    stop_all(SIGTERM)
                    break
                end
                first = false
                wm.log.warn("http: worker exited; restarting", { worker = i, pid = pid, code = code,
                                                                 signal = sig })
                backoff = lived > 10 and 0.5 or math.min(backoff * 2, 10)
                wake:wait(backoff)
            end
            running = running - 1
            if running == 0 then
                done:set()
            end
        end)
    end

    local signals = 0
    local function on_signal(name)
        signals = signals + 1
        if signals == 1 then
            wm.log.info("http: stopping workers", { signal = name })
            stop_all(SIGTERM)
        else
            stop_all(SIGKILL)
        end
    end
    wm.on_signal("term", on_signal)
    wm.on_signal("int", on_signal)
    -- `wm reload` signals this process; each worker reloads itself.
    wm.on_signal("hup", function()
        for _, pid in pairs(pids) do
            httpd.kill_worker(pid, SIGHUP)
        end
    end)
    -- logrotate signals this process (postrotate); each worker reopens its
    -- access file.
    wm.on_signal("usr1", function()
        for _, pid in pairs(pids) do
            httpd.kill_worker(pid, SIGUSR1)
        end
    end)
    done:wait()
    wm.on_signal("term", nil)
    wm.on_signal("int", nil)
    wm.on_signal("hup", nil)
    wm.on_signal("usr1", nil)
    wm.log.info("http: all workers stopped")
    return failed and 1 or 0
end

return {
    summary = "the main job: HTTP (sites, tracking, /healthz, /metrics), jobs and cron",
    usage = usage,
    flags = { ["--listen"] = "string", ["--workers"] = "number", ["--routes"] = "string",
              ["--drain"] = "number", ["--worker"] = "number", ["--no-jobs"] = "boolean",
              ["--quiet"] = "boolean", ["--force-shared"] = "boolean" },
    run = function(opts, args)
        if #args > 0 then
            io.stderr:write("wm serve: unexpected argument '", args[1], "'\n\n", usage, "\n")
            return 2
        end
        local hc = wm.config.http or {}
        local listen = opts.listen or hc.listen or "127.0.0.1:8080"
        local n = math.floor(tonumber(opts.workers or hc.workers or 1) or 1)
        local drain = opts.drain or 10
        local dirs = split_dirs(opts.routes)
        if n < 1 then
            io.stderr:write("wm serve: --workers must be at least 1\n")
            return 2
        end
        -- One server per paths.var: the lone server or the supervisor
        -- holds var/wm.lock and writes the pid file; its workers do not.
        local pidlock = require "wm.pidlock"
        if not opts.worker then
            if opts.force_shared then
                wm.log.warn("serve: --force-shared: no lock on paths.var and no pid file; "
                    .. "`wm reload` does not reach this server", { var = wm.config.paths.var })
            else
                local ok, err = pidlock.acquire { command = "wm serve --listen " .. listen }
                if not ok then
                    io.stderr:write("wm serve: ", err, "\n")
                    return 1
                end
            end
        end
        local code
        if opts.worker or n == 1 then
            code = serve_here(opts, listen, dirs, drain)
        else
            code = supervise(opts, listen, dirs, drain, n)
        end
        pidlock.release()
        return code
    end,
}
