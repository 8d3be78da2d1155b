-- application/x-www-form-urlencoded bodies (every HTML form of the portal,
-- the dashboard, the claim and pay pages).
--
--   form.decode(s) -> s with "+" as space and %XX decoded
--   form.parse(body) -> { name = value } (the last of repeated names wins)
local char, tonumber = string.char, tonumber

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

return _M
