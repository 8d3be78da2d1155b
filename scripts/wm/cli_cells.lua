-- Cells of the CLI's tables (wm campaigns, customers, payments, hooks): a
-- value on one line, money, an age.
local _M = {}

-- "" for nil and NULL; whitespace (newlines in an error) folded to one space;
-- at most `n` characters when given.
function _M.text(x, n)
    if x == nil or x == wm.null then
        return ""
    end
    local s = tostring(x):gsub("%s+", " ")
    return n and s:sub(1, n) or s
end

-- "800.00 GTQ", "-25.00" (no currency given): cents as money.
function _M.money(cents, currency)
    if cents == nil or cents == wm.null then
        return ""
    end
    local s = ("%s%.2f"):format(cents < 0 and "-" or "", math.abs(cents) / 100)
    return currency and (s .. " " .. _M.text(currency)) or s
end

-- Seconds as "45s", "12m", "5h", "3d".
function _M.age(s)
    s = math.floor(s or 0)
    if s < 120 then
        return s .. "s"
    elseif s < 7200 then
        return math.floor(s / 60) .. "m"
    elseif s < 172800 then
        return math.floor(s / 3600) .. "h"
    end
    return math.floor(s / 86400) .. "d"
end

return _M
