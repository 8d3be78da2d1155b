-- RFC 5322 / MIME message building for the mail providers.
--
--   mime.build(msg) -> eml, message_id | nil, err
--     msg = { from = {name=, email=} | "email", to = {name=, email=} | "email",
--             subject = string, text = string, html = string (either or both),
--             headers = { ["Name"] = "value", ... } | { {"Name", "value"}, ... },
--             message_id = "<id@host>" | "id@host" | nil (one is made),
--             date = unix seconds | nil (now) }
--     The result has CRLF line endings and no line over 998 octets; bodies are
--     UTF-8 in quoted-printable with lines of at most 76 characters; a
--     message with text and html is multipart/alternative (text first).
--     Display names and the subject are RFC 2047 encoded words when they are
--     not plain ASCII. Any CR or LF (or other control character) in the
--     subject, an address, the message id or an extra header is refused with
--     "rejected: ..." (header injection); in a display name (scraped business
--     names) controls become spaces. Also refused: extra
--     headers that would replace a structural one (From, To, Cc, Bcc,
--     Subject, Date, Message-ID, MIME-Version, Content-*, ...).
--     With mail.dkim set (lib.dkim), the message is DKIM-signed; a DKIM
--     set-up without its key is an error (nil, "dkim: ..."), never an
--     unsigned message. msg.dkim = false builds it unsigned.
--   mime.encode_word(s) -> s or RFC 2047 encoded words (folded)
--   mime.quoted_printable(s) -> s encoded, CRLF line ends, lines <= 76
--   mime.format_address(addr) -> "Name <email>" | nil, err
--   mime.date(t) -> "Thu, 01 Jan 2026 12:00:00 +0000"
--   mime.message_id(domain) -> "<random@domain>"
local type, tostring, error, ipairs, pairs = type, tostring, error, ipairs, pairs
local byte, char, sub, find, format, match, gsub, concat, lower =
    string.byte, string.char, string.sub, string.find, string.format, string.match, string.gsub,
    table.concat, string.lower
local floor = math.floor
local lib_text = require "lib.text"
local dkim = require "lib.dkim"

local _M = { _VERSION = "0.1" }

local NULL = rawget(_G, "wm") and wm.null or nil

-- ---- encodings ----

local function is_ascii_printable(s)
    return not find(s, "[^\32-\126]")
end

-- Splits s into chunks of at most max bytes at UTF-8 character boundaries.
local function utf8_chunks(s, max)
    local out = {}
    while s ~= "" do
        local n = lib_text.boundary(s, max)
        if n == 0 then
            -- A run of continuation bytes longer than max (not UTF-8): split
            -- it rather than loop.
            n = max
        end
        out[#out + 1] = sub(s, 1, n)
        s = sub(s, n + 1)
    end
    return out
end

-- RFC 2047 B-encoded words, each 64 characters or fewer, joined by
-- CRLF SPACE (a header fold). ASCII-printable text is returned as is.
function _M.encode_word(s)
    if type(s) ~= "string" then
        error("usage: mime.encode_word(s)", 2)
    end
    if is_ascii_printable(s) and not find(s, "=?", 1, true) then
        return s
    end
    -- RFC 2047: a line holding encoded words is at most 76 characters. A
    -- word is "=?UTF-8?B?" + base64 + "?=": 39 bytes make 52 base64
    -- characters, 64 in all, which leaves room for "Subject: " in front.
    local words = {}
    for _, chunk in ipairs(utf8_chunks(s, 39)) do
        words[#words + 1] = "=?UTF-8?B?" .. wm.crypto.b64_encode(chunk) .. "?="
    end
    return concat(words, "\r\n ")
end

-- Quoted-printable (RFC 2045 6.7) of UTF-8 text: line breaks become CRLF;
-- "=" and bytes outside 33..126 are =XX; a space or tab before a line end is
-- encoded; a leading "." or "From " is encoded too, so no transport needs to
-- touch the text; soft breaks keep every line at 76 characters or fewer.
-- In C (core/codec.c): in Lua it was most of the mail benchmark's time.
function _M.quoted_printable(s)
    if type(s) ~= "string" then
        error("usage: mime.quoted_printable(s)", 2)
    end
    return wm.codec.quoted_printable(s)
end

-- ---- addresses and header values ----

local function bad_header_chars(s)
    return find(s, "[%z\1-\8\10-\31\127]") ~= nil
end

local function valid_email(e)
    if type(e) ~= "string" or #e > 254 or #e < 3 then
        return false
    end
    local loc, dom = match(e, "^([^@]+)@([^@]+)$")
    if not loc or #loc > 64 then
        return false
    end
    if not match(loc, "^[%w!#$%%&'*+/=?^_`{|}~.-]+$") or find(loc, "..", 1, true)
        or sub(loc, 1, 1) == "." or sub(loc, -1) == "." then
        return false
    end
    if not match(dom, "^[%w.-]+$") or find(dom, "..", 1, true) or not find(dom, ".", 1, true)
        or match(dom, "^[.-]") or match(dom, "[.-]$") then
        return false
    end
    return true
end
_M.valid_email = valid_email

local SPECIALS = '[()<>%[%]:;@\\,."]'

local function quote_name(name)
    if is_ascii_printable(name) then
        if find(name, SPECIALS) then
            return '"' .. gsub(name, '(["\\])', "\\%1") .. '"'
        end
        return name
    end
    return _M.encode_word(name)
end

-- format_address({name=, email=} | "email") -> "Name <email>" | nil, err
function _M.format_address(a, what)
    what = what or "address"
    local name, email
    if type(a) == "string" then
        email = a
    elseif type(a) == "table" then
        name, email = a.name, a.email
        if name == NULL then
            name = nil
        end
    else
        return nil, what .. " missing"
    end
    if type(email) ~= "string" then
        return nil, what .. ": no email"
    end
    if bad_header_chars(email) then
        return nil, "rejected: control character (CR/LF) in " .. what .. " address"
    end
    if not valid_email(email) then
        return nil, what .. ": invalid email " .. format("%q", sub(email, 1, 80))
    end
    if name ~= nil and type(name) ~= "string" then
        name = tostring(name)
    end
    if name then
        -- A display name (often a scraped business name) is only ever text:
        -- line breaks and other controls become spaces, and the result is
        -- quoted or encoded below, so it can never start a header.
        name = gsub(name, "[%z\1-\31\127]+", " ")
        name = lib_text.trim(name)
        if #name > 200 then
            name = utf8_chunks(name, 200)[1]
        end
    end
    if name and name ~= "" then
        local q = quote_name(name)
        if find(q, "=?", 1, true) then
            -- Fold before the address so the encoded line stays short.
            return q .. "\r\n <" .. email .. ">"
        end
        return q .. " <" .. email .. ">"
    end
    return email
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

function _M.date(t)
    t = floor(t or wm.now())
    local d = os.date("!*t", t)
    return format("%s, %02d %s %04d %02d:%02d:%02d +0000", DAYS[d.wday], d.day, MONTHS[d.month], d.year,
        d.hour, d.min, d.sec)
end

function _M.message_id(domain)
    if type(domain) ~= "string" or not match(domain, "^[%w.-]+$") then
        domain = gsub(wm.sys.hostname(), "[^%w.-]", "")
        if domain == "" then
            domain = "localhost"
        end
    end
    return "<" .. wm.crypto.hex(wm.crypto.random_bytes(16)) .. "@" .. lower(domain) .. ">"
end

-- Headers an extra header may not set: they are the message's structure.
local RESERVED = {}
for _, h in ipairs({ "from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "sender", "return-path", "received",
    "content-disposition", "resent-to", "resent-cc", "resent-bcc", "resent-from" }) do
    RESERVED[h] = true
end

-- Folds an ASCII unstructured value at spaces so lines stay near 78.
local function fold(name, value)
    local line = name .. ": " .. value
    if #line <= 78 then
        return line
    end
    local out, cur = {}, name .. ":"
    for word in value:gmatch("%S+") do
        if #cur + 1 + #word > 78 and cur ~= name .. ":" then
            out[#out + 1] = cur
            cur = " " .. word
        else
            cur = cur .. " " .. word
        end
    end
    out[#out + 1] = cur
    return concat(out, "\r\n")
end

local function normalize_extra(headers)
    local list = {}
    if headers == nil then
        return list
    end
    if type(headers) ~= "table" then
        return nil, "headers must be a table"
    end
    if headers[1] ~= nil then
        for _, h in ipairs(headers) do
            list[#list + 1] = { h[1], h[2] }
        end
    else
        local names = {}
        for k in pairs(headers) do
            names[#names + 1] = k
        end
        table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
        for _, k in ipairs(names) do
            list[#list + 1] = { k, headers[k] }
        end
    end
    for _, h in ipairs(list) do
        local k, v = h[1], h[2]
        if type(k) ~= "string" or not match(k, "^[!-9;-~]+$") then
            return nil, "rejected: bad header name " .. format("%q", tostring(k))
        end
        if RESERVED[lower(k)] then
            return nil, "rejected: header " .. k .. " cannot be set as an extra header"
        end
        if type(v) == "number" then
            v = tostring(v)
            h[2] = v
        end
        if type(v) ~= "string" then
            return nil, "header " .. k .. ": value must be a string"
        end
        if bad_header_chars(v) then
            return nil, "rejected: control character (CR/LF) in header " .. k
        end
        if not is_ascii_printable(gsub(v, "\t", " ")) then
            return nil, "rejected: non-ASCII value in header " .. k
        end
    end
    return list
end

local function boundary()
    return "=_wm_" .. wm.crypto.hex(wm.crypto.random_bytes(12))
end

function _M.build(msg)
    if type(msg) ~= "table" then
        error("usage: mime.build{from=, to=, subject=, text=, html=, headers=}", 2)
    end
    local from, err = _M.format_address(msg.from, "from")
    if not from then
        return nil, err
    end
    local to
    to, err = _M.format_address(msg.to, "to")
    if not to then
        return nil, err
    end
    local subject = msg.subject
    if type(subject) ~= "string" or subject == "" then
        return nil, "subject missing"
    end
    if bad_header_chars(subject) then
        return nil, "rejected: control character (CR/LF) in subject"
    end
    local text, html = msg.text, msg.html
    if text == NULL then
        text = nil
    end
    if html == NULL then
        html = nil
    end
    if (text ~= nil and type(text) ~= "string") or (html ~= nil and type(html) ~= "string") then
        return nil, "text and html must be strings"
    end
    if not text and not html then
        return nil, "no body: text or html is required"
    end
    local extra
    extra, err = normalize_extra(msg.headers)
    if not extra then
        return nil, err
    end
    local from_email = type(msg.from) == "table" and msg.from.email or msg.from
    local mid = msg.message_id
    if mid ~= nil then
        if type(mid) ~= "string" then
            return nil, "message_id must be a string"
        end
        if not match(mid, "^<.*>$") then
            mid = "<" .. mid .. ">"
        end
        if not match(mid, "^<[%w!#$%%&'*+/=?^_`{|}~.-]+@[%w.%-%[%]:]+>$") or #mid > 250 then
            return nil, "rejected: bad message_id"
        end
    else
        mid = _M.message_id(match(from_email, "@(.+)$"))
    end

    local h = {}
    h[#h + 1] = "Date: " .. _M.date(msg.date)
    h[#h + 1] = "From: " .. from
    h[#h + 1] = "To: " .. to
    local subj = gsub(subject, "\t", " ")
    if is_ascii_printable(subj) and not find(subj, "=?", 1, true) then
        h[#h + 1] = fold("Subject", subj)
    else
        h[#h + 1] = "Subject: " .. _M.encode_word(subj)
    end
    h[#h + 1] = "Message-ID: " .. mid
    h[#h + 1] = "MIME-Version: 1.0"
    for _, x in ipairs(extra) do
        h[#h + 1] = fold(x[1], x[2])
    end

    local function part(ctype, body)
        return "Content-Type: " .. ctype .. "; charset=UTF-8\r\n"
            .. "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            .. _M.quoted_printable(body)
    end

    local eml
    if text and html then
        local b = boundary()
        while find(text, b, 1, true) or find(html, b, 1, true) do
            b = boundary()
        end
        h[#h + 1] = 'Content-Type: multipart/alternative; boundary="' .. b .. '"'
        eml = concat(h, "\r\n") .. "\r\n\r\n" .. concat({
            "This is a multi-part message in MIME format.",
            "--" .. b,
            part("text/plain", text),
            "--" .. b,
            part("text/html", html),
            "--" .. b .. "--",
            "",
        }, "\r\n")
    else
        eml = concat(h, "\r\n") .. "\r\n" .. part(text and "text/plain" or "text/html", text or html) .. "\r\n"
    end
    if msg.dkim ~= false then
        local d
        d, err = dkim.config()
        if err then
            return nil, err
        end
        if d then
            eml, err = dkim.sign(eml, d)
            if not eml then
                return nil, err
            end
        end
    end
    return eml, mid
end

return _M
