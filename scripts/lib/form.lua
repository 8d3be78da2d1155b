-- application/x-www-form-urlencoded bodies (every HTML form of the portal,
-- the dashboard, the claim and pay pages).
--
--   form.decode(s) -> s with "+" as space and %XX decoded
--   form.parse(body) -> { name = value } (the last of repeated names wins)
--   form.multipart(body, content_type) -> { name = value } | nil, err
--     multipart/form-data (RFC 7578) read by lib.uploads' strict reader
--     (uploads.read): each part's name and its bytes as sent (a part's own
--     Content-Transfer-Encoding is not undone; senders send 8bit); the first
--     of repeated names wins; file parts are kept under their name like any
--     other (after the fields of that name).
local char, tonumber, ipairs = string.char, tonumber, ipairs

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

-- Inbound Parse's form: its size is bounded by the HTTP server's body limit,
-- its values (a whole message's text and html) and attachments by nothing less.
local MULTIPART_LIMITS = { max_files = 100, max_file_bytes = math.huge, max_fields = 100,
                           max_field_bytes = math.huge, max_parts = 200, max_total_bytes = math.huge }

function _M.multipart(body, content_type)
    local f, err = require("lib.uploads").read(body, content_type, MULTIPART_LIMITS)
    if not f then
        return nil, err
    end
    local out = f.fields
    for _, file in ipairs(f.files) do
        if out[file.field] == nil then
            out[file.field] = file.data
        end
    end
    return out
end

return _M
