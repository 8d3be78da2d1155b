-- Reading mail that arrives in the bounce/reply mailbox: a small MIME reader
-- and the report formats mail systems send back. Pure functions over the
-- raw text (outside input): they never raise, a message they cannot read is
-- nil, err.
--
--   dsn.parse(raw) -> msg | nil, err
--     msg = { headers = {lower name = value (first one, unfolded)},
--             ctype = "type/subtype" (lower), params = {lower name = value},
--             body = decoded body (leaf parts), parts = {msg...} (multipart) }
--   dsn.text(msg) -> the first text/plain part's text (or text/html's, tags
--     dropped), "" when none
--   dsn.html_text(html) -> readable text of an HTML body: line and paragraph
--     ends kept, tags dropped (for classifying and keeping, not showing)
--   dsn.headers(block) -> {lower name = value}, count: a header block (LF
--     line ends) unfolded, the first of repeated names kept
--   dsn.report(msg) -> nil | report
--     An RFC 3464 delivery status notification (multipart/report;
--     report-type=delivery-status):
--       { type = "delivery-status", recipients = {{final_recipient=,
--         original_recipient=, action=, status=, diagnostic=}, ...},
--         original = headers of the returned message (or {}) }
--     An RFC 5965 ARF complaint (report-type=feedback-report):
--       { type = "feedback-report", feedback_type =, original = headers }
--     nil, err for a report whose status part cannot be read.
--   dsn.permanent(status) -> true for 5.x.x, false for 4.x.x, nil otherwise
local type, tonumber, ipairs = type, tonumber, ipairs
local lower, match, gsub, gmatch, find, sub, char =
    string.lower, string.match, string.gsub, string.gmatch, string.find, string.sub, string.char
local b64_decode = wm.crypto.b64_decode

local _M = { _VERSION = "0.1" }

local MAX_DEPTH = 6
local MAX_PARTS = 200
local MAX_RAW = 20 * 1024 * 1024

-- Header block -> { lower name = value }: folded lines joined, the first
-- of repeated names kept (the one nearest the body for a forged duplicate
-- would be the last; the first is what the receiving system added).
local function headers(block)
    local h, n = {}, 0
    block = gsub(block, "\n[ \t]+", " ")
    for line in gmatch(block, "[^\n]+") do
        local k, v = match(line, "^([!-9;-~]+):[ \t]*(.-)%s*$")
        if k then
            k = lower(k)
            n = n + 1
            if h[k] == nil then
                h[k] = v
            end
        end
    end
    return h, n
end
_M.headers = headers

-- "type/subtype; a=b; c=\"d\"" -> "type/subtype", {a="b", c="d"}
local function content_type(v)
    v = v or ""
    local t = lower(match(v, "^%s*([^;%s]+)") or "text/plain")
    local params = {}
    for k, q in gmatch(v, ";%s*([%w%-_.*]+)%s*=%s*(%b\"\")") do
        params[lower(k)] = sub(q, 2, -2)
    end
    for k, u in gmatch(v, ";%s*([%w%-_.*]+)%s*=%s*([^\";%s]+)") do
        k = lower(k)
        if params[k] == nil then
            params[k] = u
        end
    end
    if not find(t, "/", 1, true) then
        t = "text/plain"
    end
    return t, params
end

-- Base64 as mail carries it: wm.crypto's decoder skips the line breaks;
-- a sender's other stray bytes are dropped before a second try, and what
-- still does not decode is no text.
local function base64(s)
    return b64_decode(s) or b64_decode((gsub(s, "[^%w+/]", ""))) or ""
end

local function quoted_printable(s)
    s = gsub(s, "=[ \t]*\n", "")
    return (gsub(s, "=(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

local function decode(body, cte)
    cte = lower(cte or "")
    if find(cte, "base64", 1, true) then
        return base64(body)
    elseif find(cte, "quoted-printable", 1, true) then
        return quoted_printable(body)
    end
    return body
end

local function read(raw, depth, count)
    count[1] = count[1] + 1
    if depth > MAX_DEPTH or count[1] > MAX_PARTS then
        return nil, "too deeply nested or too many parts"
    end
    local hb, body = match(raw, "^(.-)\n\n(.*)$")
    if not hb then
        hb, body = raw, ""
    end
    local h, n = headers(hb)
    local msg = { headers = h, nheaders = n }
    msg.ctype, msg.params = content_type(h["content-type"])
    if sub(msg.ctype, 1, 10) == "multipart/" then
        local b = msg.params.boundary
        if not b or b == "" or #b > 200 then
            return nil, "a multipart part without a boundary"
        end
        msg.parts = {}
        local delim = "\n--" .. b
        local s = "\n" .. body
        local pos = find(s, delim, 1, true)
        if not pos then
            return nil, "no part starts with the boundary"
        end
        while pos do
            local after = pos + #delim
            if sub(s, after, after + 1) == "--" then
                break
            end
            local nl = find(s, "\n", after, true)
            if not nl then
                break
            end
            local nxt = find(s, delim, nl, true)
            local part, err = read(sub(s, nl + 1, (nxt or #s + 1) - 1), depth + 1, count)
            if not part then
                return nil, err
            end
            msg.parts[#msg.parts + 1] = part
            pos = nxt
        end
    elseif msg.ctype == "message/rfc822" or msg.ctype == "message/global" then
        local inner, err = read(decode(body, h["content-transfer-encoding"]), depth + 1, count)
        if not inner then
            return nil, err
        end
        msg.parts = { inner }
    else
        msg.body = decode(body, h["content-transfer-encoding"])
    end
    return msg
end

function _M.parse(raw)
    if type(raw) ~= "string" or raw == "" then
        return nil, "empty message"
    end
    if #raw > MAX_RAW then
        return nil, "message too large"
    end
    raw = gsub(raw, "\r\n?", "\n")
    local ok, msg, err = pcall(read, raw, 1, { 0 })
    if not ok then
        return nil, "unreadable message"
    end
    if not msg then
        return nil, err
    end
    if msg.nheaders == 0 or not match(raw, "^[!-9;-~]+:") then
        return nil, "no header fields"
    end
    return msg
end

local function each(msg, fn)
    if fn(msg) then
        return msg
    end
    for _, p in ipairs(msg.parts or {}) do
        local got = each(p, fn)
        if got then
            return got
        end
    end
end

function _M.html_text(html)
    return (gsub(gsub(gsub(html, "<[Bb][Rr]%s*/?>", "\n"), "</[Pp]>", "\n\n"), "<[^>]*>", ""))
end

function _M.text(msg)
    local p = each(msg, function(m) return m.ctype == "text/plain" and m.body end)
    if p then
        return p.body
    end
    p = each(msg, function(m) return m.ctype == "text/html" and m.body end)
    if p then
        return _M.html_text(p.body)
    end
    return ""
end

-- The headers of the message a report returns (message/rfc822: its own
-- headers; text/rfc822-headers: its body is the header block).
local function original(msg)
    local p = each(msg, function(m) return m.ctype == "message/rfc822" or m.ctype == "message/global" end)
    if p and p.parts and p.parts[1] then
        return p.parts[1].headers
    end
    p = each(msg, function(m) return m.ctype == "text/rfc822-headers" and m.body end)
    if p then
        return (headers(gsub(p.body, "\r\n?", "\n")))
    end
    return {}
end

local function addr(v)
    if type(v) ~= "string" then
        return nil
    end
    v = gsub(v, "^%s*[%w%-]+%s*;%s*", "")    -- "rfc822; a@b" -> "a@b"
    return lower(match(v, "<([^>]*)>") or match(v, "^%s*(%S+)") or "")
end

function _M.report(msg)
    if msg.ctype ~= "multipart/report" then
        return nil
    end
    local rt = lower(msg.params["report-type"] or "")
    if rt == "delivery-status" then
        local p = each(msg, function(m)
            return (m.ctype == "message/delivery-status" or m.ctype == "message/global-delivery-status") and m.body
        end)
        if not p then
            return nil, "a delivery report without its message/delivery-status part"
        end
        -- Per-message fields, then one block per recipient, blank lines between.
        local blocks = {}
        for block in gmatch(gsub(p.body, "\r\n?", "\n") .. "\n\n", "(.-)\n%s*\n") do
            if match(block, "%S") then
                blocks[#blocks + 1] = (headers(block))
            end
        end
        local rcpts = {}
        for i = 2, #blocks do
            local b = blocks[i]
            local st = match(b.status or "", "^%s*([245]%.%d+%.%d+)")
            if b["final-recipient"] or b["original-recipient"] then
                rcpts[#rcpts + 1] = {
                    final_recipient = addr(b["final-recipient"]), original_recipient = addr(b["original-recipient"]),
                    action = lower(match(b.action or "", "^%s*(%a+)") or ""), status = st,
                    diagnostic = b["diagnostic-code"] and sub(b["diagnostic-code"], 1, 500),
                }
            end
        end
        if #rcpts == 0 then
            return nil, "a delivery report naming no recipient"
        end
        return { type = "delivery-status", recipients = rcpts, original = original(msg) }
    elseif rt == "feedback-report" then
        local p = each(msg, function(m) return m.ctype == "message/feedback-report" and m.body end)
        if not p then
            return nil, "a feedback report without its message/feedback-report part"
        end
        local f = headers(gsub(p.body, "\r\n?", "\n"))
        return { type = "feedback-report", feedback_type = lower(f["feedback-type"] or "abuse"),
                 original = original(msg) }
    end
    return nil
end

function _M.permanent(status)
    local c = type(status) == "string" and match(status, "^%s*([245])%.%d+%.%d+")
    if c == "5" then
        return true
    elseif c == "4" then
        return false
    end
    return nil
end

return _M
