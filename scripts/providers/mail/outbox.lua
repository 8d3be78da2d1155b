-- The embedded mail provider: every message becomes one RFC 5322 .eml file
-- under <paths.var>/outbox/ (nothing leaves the machine).
--
--   outbox.send{from=, to=, subject=, text=, html=, headers=, message_id=, campaign_id=}
--       -> {message_id = "<id@host>", path = "/.../outbox/<name>.eml"}
--        | nil, err, {sent = false, permanent = bool}
--   Nothing is sent until the rename, so every failure is sent = false.
--   The message is built by lib.mime (see there: CR/LF in any header value
--   is refused with "rejected: ..."). The file is written under a hidden
--   temporary name in the same folder and renamed into place, so a reader
--   never sees half a message. Its name is
--   <UTC yyyymmddThhmmss.mmmZ>-<campaign id>-<message id, filename-safe>.eml,
--   so `ls` lists the outbox in sending order.
--   outbox.dir() -> the outbox folder.
--   outbox.lookup(campaign_id, sending_host) -> "sent", message_id |
--   "not_sent" | nil: whether a campaign left in 'sending' (a crash between
--   the rename and the commit) was written; the file name says it for
--   certain. "not_sent" only when sending_host is this outbox
--   (outbox.sender()): another host's outbox is not this folder.
local mime = require "lib.mime"

local type, tostring = type, tostring
local format, gsub, floor = string.format, string.gsub, math.floor

local _M = { _VERSION = "0.1", name = "outbox" }

local NOT_SENT = { sent = false }

function _M.dir()
    local var = (wm.config.paths or {}).var or "var"
    return var .. "/outbox"
end

local function file_name(now, message_id, campaign_id)
    local ms = floor((now % 1) * 1000)
    local stamp = os.date("!%Y%m%dT%H%M%S", floor(now)) .. format(".%03dZ", ms)
    local id = gsub(gsub(message_id, "^<(.*)>$", "%1"), "[^%w.@_-]", "_")
    local campaign = campaign_id and ("-" .. gsub(tostring(campaign_id), "[^%w-]", "_")) or ""
    return stamp .. campaign .. "-" .. id:sub(1, 120) .. ".eml"
end

-- This outbox, as campaigns.sending_host records it: hosts with their own
-- paths.var have outboxes of their own.
function _M.sender()
    local var = (wm.config.paths or {}).var or "var"
    return wm.sys.hostname() .. ":" .. (wm.fs.realpath(var) or var) .. "/outbox"
end

function _M.lookup(campaign_id, sending_host)
    local tag = "-" .. gsub(tostring(campaign_id), "[^%w-]", "_") .. "-"
    for _, f in ipairs(wm.fs.list_dir(_M.dir()) or {}) do
        local at = f:find(tag, 1, true)
        if at and f:sub(1, 1) ~= "." and f:sub(-4) == ".eml" then
            local id = f:sub(at + #tag, -5)
            return "sent", "<" .. id .. ">"
        end
    end
    -- No file here proves nothing about another host's outbox.
    if sending_host == _M.sender() then
        return "not_sent"
    end
    return nil
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
        return nil, mid, { sent = false, permanent = true }
    end
    local dir = _M.dir()
    local ok, err = wm.fs.mkdir_p(dir)
    if not ok then
        return nil, "outbox: " .. tostring(err), NOT_SENT
    end
    local path = dir .. "/" .. file_name(now, mid, msg.campaign_id)
    -- Off the loop (thread pool); synced before the rename, which is last.
    local wok, werr = wm.fs.write_file(path, eml, { atomic = true, fsync = true })
    if not wok then
        return nil, "outbox: " .. tostring(werr), NOT_SENT
    end
    wm.log.info("mail written to the outbox", { path = path, message_id = mid })
    return { message_id = mid, path = path }
end

return _M
