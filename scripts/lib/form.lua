-- application/x-www-form-urlencoded bodies (every HTML form of the portal,
-- the dashboard, the claim and pay pages).
--
--   form.decode(s) -> s with "+" as space and %XX decoded
--   form.parse(body) -> { name = value } (the last of repeated names wins)
--   form.multipart(body, content_type) -> { name = value } | nil, err
--     multipart/form-data (RFC 7578): each part's name and its bytes as
--     sent (a part's own Content-Transfer-Encoding is not undone; senders
--     send 8bit); the first of repeated names wins; file parts are kept
--     under their name like any other.
local char, tonumber = string.char, tonumber
local find, sub, match, lower = string.find, string.sub, string.match, string.lower

local _M = {}

local function hexchar(x)
    return char(tonumber(x, 16))
end

function _M.decode(s)
    return (s:gsub("+", " "):gsub("%%(%x%x)", hexchar))
end

function _M.parse(body)
    local out = {}
    for pair in (body or ""):gmatch("[^&]+") do
        local k, v = pair:match("^([^=]*)=?(.*)$")
        out[_M.decode(k)] = _M.decode(v)
    end
    return out
end

function _M.multipart(body, content_type)
    local boundary = match(content_type or "", '[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]="([^"]+)"')
        or match(content_type or "", "[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
    if not boundary or not match(lower(content_type), "^%s*multipart/form%-data") then
        return nil, "not multipart/form-data with a boundary"
    end
    body = body or ""
    local delim = "--" .. boundary
    local out = {}
    local pos = find(body, delim, 1, true)
    if not pos then
        return nil, "no part"
    end
    pos = pos + #delim
    while true do
        if sub(body, pos, pos + 1) == "--" then
            return out
        end
        local hstart = find(body, "\n", pos, true)
        if not hstart then
            return nil, "truncated part"
        end
        local hend, bstart = find(body, "\r?\n\r?\n", hstart + 1)
        if not hend then
            return nil, "truncated part headers"
        end
        local headers = sub(body, hstart + 1, hend - 1)
        -- The part ends at a line that is the delimiter alone (then a line
        -- end, or "--" for the last): the text "--boundary" inside a part
        -- followed by anything else is content.
        local next_delim, crlf
        local from = bstart
        repeat
            next_delim = find(body, "\n" .. delim, from + 1, true)
            if not next_delim then
                return nil, "unterminated part"
            end
            from = next_delim
            local after = sub(body, next_delim + 1 + #delim, next_delim + #delim + 2)
        until after == "--" or after == "" or match(after, "^\r?\n") ~= nil
        crlf = sub(body, next_delim - 1, next_delim - 1) == "\r" and 2 or 1
        next_delim = next_delim - crlf + 1
        local name = match(headers, '[Nn][Aa][Mm][Ee]="([^"]*)"') or match(headers, "[Nn][Aa][Mm][Ee]=([^;%s]+)")
        if name and out[name] == nil then
            out[name] = sub(body, bstart + 1, next_delim - 1)
        end
        pos = next_delim + crlf + #delim
    end
end

return _M
