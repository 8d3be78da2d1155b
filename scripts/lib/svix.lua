-- Svix webhook signatures (Recurrente delivers its webhooks through Svix).
--
--   svix.key(secret) -> raw key | nil, err
--       secret is "whsec_<base64>"; the HMAC key is the base64 part decoded.
--   svix.sign(secret, id, timestamp, body) -> "v1,<base64 signature>"
--   svix.headers(headers) -> id, timestamp, signature
--       from svix-id/svix-timestamp/svix-signature, or the webhook-* spellings
--       (white-labelled Svix senders); header names lower-cased.
--   svix.verify(secret, headers, body[, opts]) -> id | nil, reason
--       The signed content is id .. "." .. timestamp .. "." .. body, the raw
--       bytes received (never re-serialised JSON). The signature header is a
--       space-separated list of "v1,<base64>" entries (several during a secret
--       rotation); any one matching is enough, compared in constant time.
--       The timestamp must be within opts.tolerance seconds (default 300) of
--       opts.now (default the clock), in the past or the future; tolerance =
--       false skips that check (for published test vectors). reason is one of
--       "no secret", "bad secret", "missing headers", "bad timestamp",
--       "stale timestamp", "future timestamp", "no signature", "bad signature".
--   svix.secret() -> secret | nil, err
--       The Recurrente endpoint's secret: recurrente.webhook_secret
--       (WM_RECURRENTE_WEBHOOK_SECRET) when set. Otherwise, only with the
--       offline payments provider (which signs its own events with it), a
--       per-installation secret derived from the tracking key, so every host
--       sharing paths.var (or WM_TRACKING_SECRET) agrees on it without a file
--       of its own. With a real provider and no secret configured there is no
--       secret: every delivery is refused rather than accepted unchecked.
local type, tostring, tonumber, floor = type, tostring, tonumber, math.floor
local sub, gmatch, find = string.sub, string.gmatch, string.find

local _M = { _VERSION = "0.1", TOLERANCE = 300 }

local PREFIX = "whsec_"

function _M.key(secret)
    if type(secret) ~= "string" or secret == "" then
        return nil, "no secret"
    end
    if sub(secret, 1, #PREFIX) == PREFIX then
        secret = sub(secret, #PREFIX + 1)
    end
    local key = wm.crypto.b64_decode(secret)
    if not key or #key == 0 then
        return nil, "bad secret"
    end
    return key
end

local function signature(key, id, timestamp, body)
    return wm.crypto.b64_encode(wm.crypto.hmac_sha256(key, id .. "." .. timestamp .. "." .. body))
end

function _M.sign(secret, id, timestamp, body)
    local key = assert(_M.key(secret))
    return "v1," .. signature(key, tostring(id), tostring(timestamp), body)
end

function _M.headers(h)
    local id, ts, sig = h["svix-id"], h["svix-timestamp"], h["svix-signature"]
    if not (id or ts or sig) then
        id, ts, sig = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
    end
    return id, ts, sig
end

function _M.verify(secret, headers, body, opts)
    opts = opts or {}
    local key, kerr = _M.key(secret)
    if not key then
        return nil, kerr
    end
    local id, ts, sig = _M.headers(headers or {})
    if type(id) ~= "string" or id == "" or type(ts) ~= "string" or type(sig) ~= "string" or type(body) ~= "string" then
        return nil, "missing headers"
    end
    if not ts:match("^%d+$") or #ts > 12 then
        return nil, "bad timestamp"
    end
    local tolerance = opts.tolerance
    if tolerance == nil then
        tolerance = _M.TOLERANCE
    end
    if tolerance then
        local now = floor(opts.now or wm.now())
        local t = tonumber(ts)
        if t < now - tolerance then
            return nil, "stale timestamp"
        elseif t > now + tolerance then
            return nil, "future timestamp"
        end
    end
    local want = signature(key, id, ts, body)
    local any = false
    for entry in gmatch(sig, "%S+") do
        local comma = find(entry, ",", 1, true)
        if comma and sub(entry, 1, comma - 1) == "v1" then
            any = true
            if wm.crypto.equal(sub(entry, comma + 1), want) then
                return id
            end
        end
    end
    return nil, any and "bad signature" or "no signature"
end

function _M.secret()
    local cfg = wm.config.recurrente or {}
    local s = cfg.webhook_secret
    if type(s) == "string" and s ~= "" then
        return s
    end
    local provider = (wm.config.providers or {}).payments or "offline"
    if provider ~= "offline" then
        return nil, "recurrente.webhook_secret is not set (WM_RECURRENTE_WEBHOOK_SECRET)"
    end
    local key = require("lib.tracking").key()
    return PREFIX .. wm.crypto.b64_encode(wm.crypto.hmac_sha256(key, "recurrente webhook secret"))
end

return _M
