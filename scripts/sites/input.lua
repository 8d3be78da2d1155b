-- What the site renderer receives is only half trusted: agent outputs and
-- database rows, tables or JSON strings (jsonb columns), wm.null for NULL.
-- These read it without ever raising.
--
--   input.present(v)  -> v is neither nil nor wm.null
--   input.tbl(v)      -> v as a table (a JSON object or array string is
--                        decoded), else {}
--   input.arr(v)      -> the array part of input.tbl(v)
--   input.num(v)      -> a finite number, else nil
--   input.line(v, max_bytes) -> one line of clean text, nil when empty
--   input.paragraphs(v, max_bytes, max_count) -> a list of such lines,
--                        split on blank lines (v a string or a list)
local html = require "lib.html"

local type, tostring, tonumber, ipairs, pcall = type, tostring, tonumber, ipairs, pcall
local gsub, match = string.gsub, string.match

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

-- One line: clean UTF-8, whitespace collapsed, cut to max bytes.
local function line(v, maxb)
    if type(v) == "number" then
        v = tostring(v)
    end
    if type(v) ~= "string" then
        return nil
    end
    local s = gsub(html.clean(v), "%s+", " ")
    s = match(s, "^ *(.-) *$")
    if s == "" then
        return nil
    end
    return html.truncate(s, maxb or 300, "…")
end
_M.line = line

-- Paragraphs: split on blank lines, each collapsed to one line.
local function paragraphs(v, maxb, maxn)
    if type(v) == "table" then
        local out = {}
        for _, x in ipairs(v) do
            for _, p in ipairs(paragraphs(x, maxb, maxn)) do
                if #out < (maxn or 6) then
                    out[#out + 1] = p
                end
            end
        end
        return out
    end
    if type(v) ~= "string" then
        return {}
    end
    local s = gsub(html.clean(v), "\r\n?", "\n")
    local out = {}
    for chunk in (s .. "\n\n"):gmatch("(.-)\n%s*\n") do
        local p = line(chunk, maxb or 1200)
        if p and #out < (maxn or 6) then
            out[#out + 1] = p
        end
    end
    return out
end
_M.paragraphs = paragraphs

function _M.num(v)
    local n = tonumber(v)
    if n and n == n and n ~= math.huge and n ~= -math.huge then
        return n
    end
    return nil
end

return _M
