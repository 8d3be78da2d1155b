-- Cells of the CLI's tables (wm campaigns, customers, payments, hooks): a
-- value on one line, money, an age; and a whole listing (rows).
local text = require "lib.text"

local _M = {}

-- "" for nil and NULL; whitespace and control characters (newlines in an
-- error, escapes in scraped text) folded to one space; at most `n` bytes
-- when given, cut between characters.
function _M.text(x, n)
    if x == nil or x == wm.null then
        return ""
    end
    -- Control characters become spaces: scraped and customer-written text
    -- must not reach a terminal as escape sequences.
    local s = tostring(x):gsub("[%s%c]+", " ")
    return n and text.clip(s, n) or s
end

-- A value of several lines for the terminal, each line after the first
-- indented by `indent`: line breaks kept, every other control character
-- (an escape sequence in customer-written text) a space.
function _M.block(x, indent)
    if x == nil or x == wm.null then
        return ""
    end
    local s = tostring(x):gsub("\r\n?", "\n"):gsub("[^%S\n]", " "):gsub("[%c]", function(c)
        return c == "\n" and c or " "
    end)
    return (s:gsub("\n", "\n" .. (indent or "")))
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

-- rows(rows, err, opts, {empty=, format=, header={...}, cells=function(row)}) -> true | nil, err
-- A listing as the CLI prints one: rows (nil: err, the query's) as JSON
-- with --json, `empty` when there are none, else the header and a line a
-- row, each through `format` (one string.format pattern for both).
function _M.rows(rows, err, opts, t)
    if not rows then
        return nil, err
    end
    local out = io.stdout
    if opts.json then
        out:write(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
    elseif #rows == 0 then
        out:write(t.empty, "\n")
    else
        out:write(t.format:format(unpack(t.header)), "\n")
        for _, r in ipairs(rows) do
            out:write(t.format:format(t.cells(r)), "\n")
        end
    end
    return true
end

return _M
