-- The embedded mail provider: every message becomes one RFC 5322 .eml file
-- under <paths.var>/outbox/ (nothing leaves the machine).
--
--   outbox.send{from=, to=, subject=, text=, html=, headers=, message_id=}
--       -> {message_id = "<id@host>", path = "/.../outbox/<name>.eml"} | nil, err
--   The message is built by lib.mime (see there: CR/LF in any header value
--   is refused with "rejected: ..."). The file is written under a hidden
--   temporary name in the same folder and renamed into place, so a reader
--   never sees half a message. Its name is
--   <UTC yyyymmddThhmmss.mmmZ>-<message id, filename-safe>.eml, so `ls`
--   lists the outbox in sending order.
--   outbox.dir() -> the outbox folder.
local mime = require "lib.mime"

local type, tostring = type, tostring
local format, gsub, floor = string.format, string.gsub, math.floor

local _M = { _VERSION = "0.1", name = "outbox" }

function _M.dir()
    local var = (wm.config.paths or {}).var or "var"
    return var .. "/outbox"
end

local function file_name(now, message_id)
    local ms = floor((now % 1) * 1000)
    local stamp = os.date("!%Y%m%dT%H%M%S", floor(now)) .. format(".%03dZ", ms)
    local id = gsub(gsub(message_id, "^<(.*)>$", "%1"), "[^%w.@_-]", "_")
    return stamp .. "-" .. id:sub(1, 120) .. ".eml"
end

function _M.send(msg)
    if type(msg) ~= "table" then
        error("usage: outbox.send{from=, to=, subject=, text=, html=, headers=}", 2)
    end
    local now = wm.now()
    local eml, mid = mime.build {
        from = msg.from, to = msg.to, subject = msg.subject, text = msg.text, html = msg.html,
        headers = msg.headers, message_id = msg.message_id, date = now,
    }
    if not eml then
        return nil, mid
    end
    local dir = _M.dir()
    local ok, err = wm.fs.mkdir_p(dir)
    if not ok then
        return nil, "outbox: " .. tostring(err)
    end
    local path = dir .. "/" .. file_name(now, mid)
    -- Off the loop (thread pool); synced before the rename, which is last.
    local wok, werr = wm.fs.write_file(path, eml, { atomic = true, fsync = true })
    if not wok then
        return nil, "outbox: " .. tostring(werr)
    end
    wm.log.info("mail written to the outbox", { path = path, message_id = mid })
    return { message_id = mid, path = path }
end

return _M
