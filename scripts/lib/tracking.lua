-- Signed tokens for the open pixel, click redirects and unsubscribe links.
--
--   tracking.open_token(campaign_id)         -> token
--   tracking.click_token(campaign_id, url)   -> token   (url: http(s) only)
--   tracking.unsubscribe_token(campaign_id)  -> token
--   tracking.verify_open(token)        -> campaign_id | nil, err
--   tracking.verify_click(token)       -> campaign_id, url | nil, err
--   tracking.verify_unsubscribe(token) -> campaign_id | nil, err
--       err: "malformed" (not a token of ours at all) or "bad signature"
--       (tampered, another kind of token, or signed with another key).
--   tracking.open_url(base, id), click_url(base, id, url), unsubscribe_url(base, id)
--       -> "<base>/t/o/<token>.gif", "<base>/t/c/<token>", "<base>/u/<token>"
--
-- A token is base64url( mac16 .. payload ): payload = campaign_id [ "\n" url ],
-- mac16 = the first 16 bytes of HMAC-SHA256(key, kind .. "\0" .. payload),
-- kind being "open", "click" or "unsub" (so one kind never verifies as
-- another). The comparison is constant-time (wm.crypto.equal). Tokens use
-- only [A-Za-z0-9_-]: no "." (the pixel adds ".gif"), no "/".
--
-- The key: wm.config.tracking.secret (WM_TRACKING_SECRET) when set;
-- otherwise 32 random bytes kept hex-encoded in <paths.var>/tracking.key,
-- created on first use with mode 0600 (written in a private temporary folder
-- and hard-linked into place, so two hosts starting together agree on one
-- key). The key is read once per process.
local type, tostring, error = type, tostring, error
local sub, find, match = string.sub, string.find, string.match

local _M = { _VERSION = "0.1" }

local MAC_BYTES = 16
local key_cache

local function read_file(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

local function key_from_file(path)
    local s = read_file(path)
    if s then
        local hex = match(s, "^%s*(%x+)%s*$")
        if hex and #hex >= 64 then
            return hex
        end
        return nil, path .. ": not a hex key of at least 32 bytes"
    end
    return nil
end

local function create_key(var, path)
    local ok, err = wm.fs.mkdir_p(var)
    if not ok then
        return nil, err
    end
    local dir = var .. "/.tracking-key-" .. wm.crypto.random_token(9)
    -- A private folder: the key file inside is unreachable by others even
    -- before its own mode is narrowed.
    ok, err = wm.fs.mkdir_p(dir, tonumber("700", 8))
    if not ok then
        return nil, err
    end
    local tmp = dir .. "/tracking.key"
    local hex = wm.crypto.hex(wm.crypto.random_bytes(32))
    local f, ferr = io.open(tmp, "wb")
    if not f then
        wm.exec { argv = { "rm", "-rf", dir } }
        return nil, ferr
    end
    local wok, werr = f:write(hex, "\n")
    f:close()
    local res
    if wok then
        res = wm.exec { argv = { "chmod", "600", tmp } }
        if res and res.code == 0 then
            -- ln (link(2)) fails if the key exists already: then the other
            -- writer won and its key is the one.
            res = wm.exec { argv = { "ln", tmp, path } }
        end
    end
    wm.exec { argv = { "rm", "-rf", dir } }
    if not wok then
        return nil, "writing " .. tmp .. ": " .. tostring(werr)
    end
    local k, kerr = key_from_file(path)
    if not k then
        return nil, kerr or ("could not create " .. path .. ": " ..
            tostring(res and (res.stderr ~= "" and res.stderr or res.code)))
    end
    return k
end

-- key() -> key string (raises if no key can be had: nothing can be signed).
function _M.key()
    if key_cache then
        return key_cache
    end
    local cfg = wm.config.tracking or {}
    local secret = cfg.secret
    if type(secret) == "string" and secret ~= "" then
        key_cache = secret
        return key_cache
    end
    local var = (wm.config.paths or {}).var or "var"
    local path = var .. "/tracking.key"
    local k, err = key_from_file(path)
    if not k and not err then
        k, err = create_key(var, path)
    end
    if not k then
        error("tracking key: " .. tostring(err), 2)
    end
    key_cache = k
    return k
end

-- For tests: forget the cached key (e.g. after changing wm.config).
function _M.reset_key()
    key_cache = nil
end

local function mac(kind, payload)
    return sub(wm.crypto.hmac_sha256(_M.key(), kind .. "\0" .. payload), 1, MAC_BYTES)
end

local function check_id(fname, id)
    if type(id) == "number" then
        id = tostring(id)
    end
    if type(id) ~= "string" or id == "" or #id > 200 or find(id, "[%z\1-\31\127]") then
        error("tracking." .. fname .. ": campaign_id must be a non-empty string without control characters", 3)
    end
    return id
end

local function sign(kind, payload)
    return (wm.crypto.b64url_encode(mac(kind, payload) .. payload):gsub("=+$", ""))
end

local function verify(kind, token)
    if type(token) ~= "string" or token == "" or #token > 4096 or find(token, "[^%w_%-]") then
        return nil, "malformed"
    end
    local raw = wm.crypto.b64url_decode(token)
    if not raw or #raw <= MAC_BYTES then
        return nil, "malformed"
    end
    local got, payload = sub(raw, 1, MAC_BYTES), sub(raw, MAC_BYTES + 1)
    if not wm.crypto.equal(got, mac(kind, payload)) then
        return nil, "bad signature"
    end
    return payload
end

function _M.open_token(campaign_id)
    return sign("open", check_id("open_token", campaign_id))
end

function _M.unsubscribe_token(campaign_id)
    return sign("unsub", check_id("unsubscribe_token", campaign_id))
end

function _M.click_token(campaign_id, url)
    local id = check_id("click_token", campaign_id)
    if type(url) ~= "string" or not match(url, "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\]") or #url > 2000
        or find(url, "[%z\1-\32\127]") then
        error("tracking.click_token: url must be an absolute http(s) URL without spaces or controls", 2)
    end
    return sign("click", id .. "\n" .. url)
end

function _M.verify_open(token)
    local p, err = verify("open", token)
    if not p then
        return nil, err
    end
    return p
end

function _M.verify_unsubscribe(token)
    local p, err = verify("unsub", token)
    if not p then
        return nil, err
    end
    return p
end

function _M.verify_click(token)
    local p, err = verify("click", token)
    if not p then
        return nil, err
    end
    local nl = find(p, "\n", 1, true)
    if not nl then
        return nil, "malformed"
    end
    return sub(p, 1, nl - 1), sub(p, nl + 1)
end

local function base_of(base)
    if type(base) ~= "string" or not match(base, "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\%s]+") then
        error("tracking: base must be an absolute http(s) URL", 3)
    end
    return (base:gsub("/+$", ""))
end

function _M.open_url(base, campaign_id)
    return base_of(base) .. "/t/o/" .. _M.open_token(campaign_id) .. ".gif"
end

function _M.click_url(base, campaign_id, url)
    return base_of(base) .. "/t/c/" .. _M.click_token(campaign_id, url)
end

function _M.unsubscribe_url(base, campaign_id)
    return base_of(base) .. "/u/" .. _M.unsubscribe_token(campaign_id)
end

return _M
