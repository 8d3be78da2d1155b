-- Tracking events that arrived while the database was down, kept in files
-- under <paths.var>/spool/tracking/ until the database answers again.
--
--   spool.key() -> a new event key (the dedupe_key of tracking_events)
--   spool.add(event) -> true | nil, err
--       event: a table with a `key` (from spool.key) and what the applier
--       needs; written to <time>-<key>.json (a temporary file renamed into
--       place) and handed to the replayer.
--   spool.set_applier(fn)   fn(event) -> true | nil, err, sqlstate; records one
--       event, idempotently by event.key (scripts/web/tracking.lua sets it);
--       the first call in a process kicks the replayer for files left by an
--       earlier one
--   spool.kick()            starts the replayer when files are waiting
--   spool.replay() -> applied, left   one pass over the files (tests call it)
--   spool.dir()
--
-- The replayer is a task that applies the files oldest first, deleting each
-- after its transaction committed, and sleeps (1 s doubling to 10 s) while the
-- database is down; it ends when the folder is empty. A host that dies between
-- the commit and the delete applies that file again later, which inserts
-- nothing (ON CONFLICT on the key): every event counts once. So do two
-- processes (`wm serve --workers`) replaying one folder.
--
-- Each file is synced before it is renamed into place (wm.fs.write_file,
-- off the loop): once the redirect is answered, the event survives a crash
-- of the host. At most MAX_FILES wait; beyond that an event is logged and
-- dropped rather than fill the disk during a long outage.
local outage = require "lib.outage"

local _M = {}

local MAX_FILES = 50000
local BACKOFF_MIN, BACKOFF_MAX = 1, 10

local applier
local running = false
local scanned = false
local pending = 0              -- files this process knows are waiting

function _M.dir()
    return ((wm.config.paths or {}).var or "var") .. "/spool/tracking"
end

function _M.key()
    return wm.crypto.random_token(12)
end

function _M.set_applier(fn)
    local first = applier == nil
    applier = fn
    if first then
        -- Files an earlier process left (it stopped while the database was
        -- down) are replayed now, not at the next click. In a task of its
        -- own: route files do no I/O while they load.
        wm.spawn(_M.kick)
    end
end

local function files()
    local names = wm.fs.list_dir(_M.dir()) or {}
    local out = {}
    for _, n in ipairs(names) do
        if n:match("^%d[%d.]*%-[%w_%-]+%.json$") then
            out[#out + 1] = n
        end
    end
    table.sort(out)
    return out
end

local function read_file(path)
    return (wm.fs.read_file(path))
end

-- One pass: applies every file it can; stops at the first outage. A file
-- the database refuses (or that does not decode) is renamed to *.bad and
-- logged, so that one bad event cannot hold back the others.
function _M.replay()
    local dir = _M.dir()
    local list = files()
    local applied = 0
    for i, name in ipairs(list) do
        local path = dir .. "/" .. name
        local ev = read_file(path)
        ev = ev and wm.json.decode(ev)
        if ev == nil then
            -- Gone (another process applied it), or not JSON.
            if read_file(path) then
                wm.log.error("tracking spool: unreadable event dropped", { file = path })
                os.rename(path, path .. ".bad")
            end
        else
            local ok, err, state = applier(ev)
            if ok then
                os.remove(path)
                applied = applied + 1
            elseif outage.confirm(err, state) then
                wm.log.warn("tracking spool: replay paused", { file = name, error = tostring(err) })
                pending = #list - i + 1
                return applied, pending
            else
                -- The database answered no: trying again would block the spool.
                wm.log.error("tracking spool: event refused, set aside", { file = path, error = tostring(err) })
                os.rename(path, path .. ".bad")
            end
        end
    end
    pending = 0
    return applied, 0
end

local function run()
    local delay = BACKOFF_MIN
    while true do
        local applied, left = _M.replay()
        if applied > 0 then
            wm.log.info("tracking spool: events recorded", { events = applied, left = left })
        end
        -- No wait between the last look and clearing the flag, so an add()
        -- in between cannot be stranded (tasks take turns only at waits).
        if left == 0 and #files() == 0 then
            running = false
            return
        end
        if left > 0 then
            wm.sleep(delay)
            delay = math.min(delay * 2, BACKOFF_MAX)
        else
            delay = BACKOFF_MIN
        end
    end
end

function _M.kick()
    if running or not applier then
        return
    end
    if not scanned then
        scanned = true
        pending = #files()
    end
    if pending == 0 then
        return
    end
    running = true
    wm.spawn(function()
        local ok, err = xpcall(run, debug.traceback)
        if not ok then
            running = false
            wm.log.error("tracking spool: replayer failed", { error = tostring(err) })
        end
    end)
end

function _M.add(ev)
    if type(ev) ~= "table" or type(ev.key) ~= "string" or not ev.key:match("^[%w_%-]+$") then
        error("usage: tracking_spool.add{key = spool.key(), ...}", 2)
    end
    if not scanned then
        scanned = true
        pending = #files()
    end
    if pending >= MAX_FILES then
        return nil, "spool full (" .. MAX_FILES .. " events waiting)"
    end
    local dir = _M.dir()
    local ok, err = wm.fs.mkdir_p(dir)
    if ok then
        ok, err = wm.fs.write_file(("%s/%017.6f-%s.json"):format(dir, wm.now(), ev.key), wm.json.encode(ev),
                                   { atomic = true, fsync = true })
    end
    if not ok then
        return nil, err
    end
    pending = pending + 1
    _M.kick()
    return true
end

return _M
