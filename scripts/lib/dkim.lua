-- DKIM signatures (RFC 6376) for the messages lib.mime builds: rsa-sha256,
-- relaxed/relaxed canonicalisation, for relays that do not sign themselves.
--
--   dkim.sign(eml, {domain=, selector=, key=PEM[, time=unix s][, headers={...}]})
--       -> eml with a DKIM-Signature header in front | nil, err
--   dkim.canon_body(body)      -> the relaxed body (RFC 6376 §3.4.4)
--   dkim.canon_header(field)   -> "name:value" relaxed (§3.4.2), no CRLF
--   dkim.config() -> {domain=, selector=, key=} | nil   (mail.dkim and its key)
--   dkim.HEADERS               the fields signed when present
--
-- The key is PEM (PKCS#1 or PKCS#8) from WM_MAIL_DKIM_PRIVATE_KEY
-- (mail.dkim.private_key, a secret) or the file named by
-- WM_MAIL_DKIM_KEY_FILE (mail.dkim.key_file). Signing happens in
-- wm.crypto.rsa_sign_sha256 (core/pki.c, OpenSSL).
local type, ipairs, tostring = type, ipairs, tostring
local gsub, sub, find, lower, match, concat = string.gsub, string.sub, string.find, string.lower,
    string.match, table.concat
local floor = math.floor

local _M = { _VERSION = "0.1" }

-- What a receiver needs to trust unchanged: who, to whom, what, when, the
-- structure the body is read with, and the unsubscribe headers (so a relay
-- cannot strip or swap them without breaking the signature).
_M.HEADERS = { "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
    "List-Unsubscribe", "List-Unsubscribe-Post" }

local function unhex(h)
    return (gsub(h, "%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function sha256(s)
    return unhex(wm.crypto.sha256_hex(s))
end

-- §3.4.4: whitespace runs within a line become one space, whitespace at
-- line ends goes, empty lines at the end go, and a non-empty body ends in
-- CRLF. Bare LF is read as a line end (a message held with LF endings
-- canonicalises the same as its CRLF form on the wire).
function _M.canon_body(body)
    if type(body) ~= "string" then
        error("usage: dkim.canon_body(body)", 2)
    end
    body = gsub(body, "\r?\n", "\n")
    body = gsub(body, "[ \t]+", " ")
    body = gsub(body, " \n", "\n")
    body = gsub(body, " $", "")
    body = gsub(body, "\n+$", "")
    if body == "" then
        return ""
    end
    return (gsub(body, "\n", "\r\n")) .. "\r\n"
end

-- §3.4.2: the name lower-cased, the value unfolded, whitespace runs made
-- one space, none at the end, none around the colon.
function _M.canon_header(field)
    local name, value = match(field, "^([^:]+):(.*)$")
    if not name then
        return nil
    end
    name = lower(gsub(name, "[ \t]+$", ""))
    value = gsub(value, "\r?\n", "")
    value = gsub(value, "[ \t]+", " ")
    value = gsub(gsub(value, "^ ", ""), " $", "")
    return name .. ":" .. value
end

-- The header block as a list of fields, each with its folded lines joined
-- by CRLF (as on the wire).
local function fields(head)
    local list = {}
    for line in (head .. "\r\n"):gmatch("(.-)\r?\n") do
        if find(line, "^[ \t]") and #list > 0 then
            list[#list] = list[#list] .. "\r\n" .. line
        elseif line ~= "" then
            list[#list + 1] = line
        end
    end
    return list
end

-- Splits a tag list value into lines of at most about 76 characters at the
-- given separator: whitespace folded in there is ignored by verifiers
-- (FWS is allowed around h='s colons and inside b= and bh=).
local function fold_at(s, width, sep)
    local out, cur = {}, ""
    local pieces = {}
    if sep then
        for p in (s .. sep):gmatch("(.-)" .. gsub(sep, "%p", "%%%0")) do
            pieces[#pieces + 1] = p
        end
        for i = 1, #pieces - 1 do
            pieces[i] = pieces[i] .. sep
        end
    else
        for i = 1, #s, width do
            pieces[#pieces + 1] = sub(s, i, i + width - 1)
        end
    end
    for _, p in ipairs(pieces) do
        if #cur + #p > width and cur ~= "" then
            out[#out + 1] = cur
            cur = ""
        end
        cur = cur .. p
    end
    out[#out + 1] = cur
    return concat(out, "\r\n\t")
end

function _M.sign(eml, opts)
    if type(eml) ~= "string" or type(opts) ~= "table" then
        error("usage: dkim.sign(eml, {domain=, selector=, key=})", 2)
    end
    local domain, selector, key = opts.domain, opts.selector, opts.key
    if type(domain) ~= "string" or not match(domain, "^[%w][%w.-]*%.[%a]+$") then
        return nil, "dkim: domain must be a domain name"
    end
    if type(selector) ~= "string" or not match(selector, "^[%w][%w.-]*$") then
        return nil, "dkim: selector must be letters, digits, '.' and '-'"
    end
    if type(key) ~= "string" or not find(key, "PRIVATE KEY", 1, true) then
        return nil, "dkim: no private key (PEM)"
    end
    local at = find(eml, "\r?\n\r?\n")
    if not at then
        return nil, "dkim: message has no body separator"
    end
    local head = sub(eml, 1, at - 1)
    local body = sub(eml, (match(eml, "^\r?\n\r?\n()", at)))

    -- Each named field, the last instance of it (§5.4.2: instances are
    -- taken from the bottom up; we sign one of each).
    local list = fields(head)
    local signed, names = {}, {}
    for _, want in ipairs(opts.headers or _M.HEADERS) do
        local lw = lower(want)
        for i = #list, 1, -1 do
            local n = match(list[i], "^([^:]+):")
            if n and lower(gsub(n, "[ \t]+$", "")) == lw then
                signed[#signed + 1] = _M.canon_header(list[i]) .. "\r\n"
                names[#names + 1] = lw
                break
            end
        end
    end
    local has_from = false
    for _, n in ipairs(names) do
        has_from = has_from or n == "from"
    end
    if not has_from then
        return nil, "dkim: the message has no From header"
    end

    local bh = wm.crypto.b64_encode(sha256(_M.canon_body(body)))
    local t = floor(opts.time or wm.now())
    local sig = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" .. lower(domain)
        .. "; s=" .. selector .. ";\r\n\tt=" .. t .. "; h=" .. fold_at(concat(names, ":"), 60, ":")
        .. ";\r\n\tbh=" .. bh .. ";\r\n\tb="
    local data = concat(signed) .. _M.canon_header(sig)
    local raw, err = wm.crypto.rsa_sign_sha256(key, data)
    if not raw then
        return nil, "dkim: signing failed: " .. tostring(err)
    end
    return sig .. fold_at(wm.crypto.b64_encode(raw), 72) .. "\r\n" .. eml
end

-- mail.dkim with its key, or nil when DKIM signing is off (no domain).
-- nil, err when it is on but cannot sign (no selector, no key, a key
-- OpenSSL cannot use): sending unsigned mail the operator asked to be signed
-- would fail DMARC at the receiver, so the send stage checks this before it
-- hands a message over. A key file is read once (wm.fs: off the loop) and
-- kept; each key is tried once.
local key_cache, key_ok = {}, {}
function _M.config()
    local c = (wm.config.mail or {}).dkim
    if type(c) ~= "table" or type(c.domain) ~= "string" or c.domain == "" then
        return nil
    end
    if type(c.selector) ~= "string" or c.selector == "" then
        return nil, "dkim: mail.dkim.domain is set but mail.dkim.selector is empty"
    end
    local key = c.private_key
    if type(key) ~= "string" or key == "" then
        local path = c.key_file
        if type(path) ~= "string" or path == "" then
            return nil, "dkim: mail.dkim.domain is set but there is no key (WM_MAIL_DKIM_PRIVATE_KEY or WM_MAIL_DKIM_KEY_FILE)"
        end
        key = key_cache[path]
        if not key then
            local err
            key, err = wm.fs.read_file(path, 65536)
            if not key then
                return nil, "dkim: cannot read the key file " .. path .. ": " .. tostring(err)
            end
            key_cache[path] = key
        end
    end
    -- A PEM in an environment variable often arrives with "\n" written out.
    key = gsub(key, "\\n", "\n")
    if not key_ok[key] then
        local sig, err = wm.crypto.rsa_sign_sha256(key, "")
        if not sig then
            return nil, "dkim: the private key cannot sign: " .. tostring(err)
        end
        key_ok[key] = true
    end
    return { domain = c.domain, selector = c.selector, key = key }
end

return _M
