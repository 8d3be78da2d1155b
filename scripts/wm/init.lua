-- The global `wm` table: the C core ("wm.core", "wm.core.pg") plus the Lua
-- wrappers that make it pleasant. Loaded once by the host at boot; every
-- script, stage and route sees the result as the global `wm`.
local core = require "wm.core"
-- Before any script loads: record who requires whom, for hot reload.
require("wm.deps").install()

local wm = {
    version = WM_BOOT.version,
    root = WM_BOOT.root,
    null = core.null,
    json = core.json,
    crypto = core.crypto,
    codec = core.codec,
    exec = core.exec,
    log = core.log,
    spawn = core.spawn,
    sleep = core.sleep,
    yield = core.yield,
    now = core.now,
    monotonic = core.monotonic,
    event = core.event,
    on_signal = core.on_signal,
    -- read_file and write_file wait on the thread pool (core/fs.c), so a
    -- task's file I/O never blocks the loop; stat and mkdir_p run inline
    -- (they are used while modules load, where a task cannot yield).
    fs = {
        list_dir = core.list_dir,
        stat = core.stat,
        mkdir_p = core.mkdir_p,
        realpath = core.realpath,
        read_file = core.read_file,
        write_file = core.write_file,
    },
    text = {
        utf8_clean = core.utf8_clean,
    },
    -- clean(bytes[, max_pixels]) -> {type = "png"|"jpeg"|"webp", width=, height=,
    --   data = the file without its metadata, removed = n} | nil, err (core/image.c)
    image = {
        clean = core.image_clean,
    },
    -- query(name, "TXT"|"A", {servers = "ip[:port],...", timeout = s, tries = n})
    --   -> records (A: addresses, with .canonical) | nil, err
    dns = {
        query = function(name, rtype, opts)
            opts = opts or {}
            return core.dns_query(name, rtype, opts.servers,
                                  math.floor((opts.timeout or 2) * 1000), opts.tries or 2)
        end,
    },
    sys = {
        getuid = core.getuid,
        getpid = core.getpid,
        isatty = core.isatty,
        hostname = core.hostname,
        live_tasks = core.live_tasks,
        unhandled_errors = core.unhandled_errors,
    },
}
_G.wm = wm

local config = require "wm.config"
local cfg, err = config.load(WM_BOOT.root, WM_BOOT.config_file)
if not cfg then
    -- An operator's mistake, not a program's: the message says what to fix,
    -- a Lua traceback would only bury it.
    io.stderr:write("wm: ", tostring(err), "\n")
    os.exit(1)
end
wm.config = cfg
wm.log.set_level(cfg.log.level)

wm.db = require "wm.db"
wm.jobs = require "wm.jobs"

-- Optional subsystems attach themselves when present.
for _, name in ipairs({ "http", "route" }) do
    local ok, mod = pcall(require, "wm.attach_" .. name)
    if ok and type(mod) == "function" then
        mod(wm)
    end
end

return wm
