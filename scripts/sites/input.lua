-- What the site renderer receives is only half trusted: agent outputs and
-- database rows, tables or JSON strings (jsonb columns), wm.null for NULL.
-- These read it without ever raising (lib.text has the line and paragraph
-- readers).
--
--   input.present(v)  -> v is neither nil nor wm.null
--   input.tbl(v)      -> v as a table (a JSON object or array string is
--                        decoded), else {}
--   input.arr(v)      -> the array part of input.tbl(v)
--   input.num(v)      -> a finite number, else nil
local type, tonumber, ipairs, pcall = type, tonumber, ipairs, pcall
local match = string.match

local _M = {}

local NULL = rawget(_G, "wm") and wm.null or nil

function _M.present(v)
    return v ~= nil and v ~= NULL
end

local function tbl(v)
    if type(v) == "table" then
        return v
    end
    if type(v) == "string" and match(v, "^%s*[%[{]") then
        local ok, t = pcall(wm.json.decode, v)
        if ok and type(t) == "table" then
            return t
        end
    end
    return {}
end
_M.tbl = tbl

function _M.arr(v)
    v = tbl(v)
    local out = {}
    for _, x in ipairs(v) do
        out[#out + 1] = x
    end
    return out
end

function _M.num(v)
    local n = tonumber(v)
    if n and n == n and n ~= math.huge and n ~= -math.huge then
        return n
    end
    return nil
end

return _M
