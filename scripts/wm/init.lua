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
    exec = core.exec,
    log = core.log,
    spawn = core.spawn,
    sleep = core.sleep,
    yield = core.yield,
    now = core.now,
    monotonic = core.monotonic,
    event = core.event,
    on_signal = core.on_signal,
    fs = {
        list_dir = core.list_dir,
        stat = core.stat,
        mkdir_p = core.mkdir_p,
        realpath = core.realpath,
    },
    text = {
        utf8_clean = core.utf8_clean,
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
    error(err, 0)
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
