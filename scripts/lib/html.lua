-- HTML output helpers. Every value that reaches a page goes through one of
-- these; none of them trusts its input.
--
--   html.clean(s)    -> string  valid UTF-8 (bad bytes become U+FFFD), without
--                      control characters (C0 but tab/LF/CR, DEL, C1) and
--                      without bidi overrides/isolates (U+202A-202E,
--                      U+2066-2069), which would let a name reorder the text
--                      around it.
--   html.escape(s)   -> string  for element content: clean(s) with & < > " '
--                      as character references.
--   html.attr(s)     -> string  for an attribute value that the caller
--                      always writes inside double quotes; same escaping.
--   html.url(u)      -> string  u when it is http(s):, mailto:, tel: or a
--                      relative reference (path, ?query, #fragment), else
--                      "#" (also for "//host", "/\\host", character
--                      references). " ' < > ` and space are percent-encoded.
--                      Still write the result through attr().
--   html.json_ld(v)  -> string  JSON for <script type="application/ld+json">:
--                      < > & U+2028 U+2029 become \u escapes, so no value
--                      can end the script element or start a comment.
--
-- nil and wm.null become "" (url: "#"); numbers and booleans are tostring'd;
-- a table or function is a programming error and raises.
local type, tostring, error = type, tostring, error
local byte, sub, gsub, find, lower, concat = string.byte, string.sub, string.gsub,
    string.find, string.lower, table.concat

local _M = { _VERSION = "0.1" }

local NULL = rawget(_G, "wm") and wm.null or nil

local function tostr(s, fname)
    local t = type(s)
    if t == "string" then
        return s
    elseif s == nil or (NULL ~= nil and s == NULL) then
        return ""
    elseif t == "number" or t == "boolean" then
        return tostring(s)
    end
    error("html." .. fname .. ": expected a string, got " .. t, 3)
end

-- Walks s as UTF-8, dropping what clean() drops; returns the new string, or
-- s itself when nothing changed (the common case is a single pass of find).
local REPLACEMENT = "\239\191\189"
local function clean(s)
    -- Fast path: printable ASCII plus tab/LF/CR needs no work.
    if not find(s, "[%z\1-\8\11\12\14-\31\127-\255]") then
        return s
    end
    local out, n, i, len = {}, 0, 1, #s
    local start = 1
    local function flush(upto)
        if upto >= start then
            n = n + 1
            out[n] = sub(s, start, upto)
        end
    end
    while i <= len do
        local c = byte(s, i)
        if c < 0x80 then
            if (c < 0x20 and c ~= 9 and c ~= 10 and c ~= 13) or c == 0x7f then
                flush(i - 1)
                start = i + 1
            end
            i = i + 1
        else
            local need, cp, min
            if c >= 0xc2 and c <= 0xdf then
                need, cp, min = 1, c - 0xc0, 0x80
            elseif c >= 0xe0 and c <= 0xef then
                need, cp, min = 2, c - 0xe0, 0x800
            elseif c >= 0xf0 and c <= 0xf4 then
                need, cp, min = 3, c - 0xf0, 0x10000
            end
            local ok = need ~= nil and i + need <= len
            if ok then
                for k = 1, need do
                    local cc = byte(s, i + k)
                    if cc < 0x80 or cc > 0xbf then
                        ok = false
                        break
                    end
                    cp = cp * 64 + (cc - 0x80)
                end
            end
            if ok and (cp < min or cp > 0x10ffff or (cp >= 0xd800 and cp <= 0xdfff)) then
                ok = false
            end
            if not ok then
                flush(i - 1)
                n = n + 1
                out[n] = REPLACEMENT
                i = i + 1
                start = i
            else
                local drop = (cp >= 0x80 and cp <= 0x9f)            -- C1 controls
                    or (cp >= 0x202a and cp <= 0x202e)              -- LRE RLE PDF LRO RLO
                    or (cp >= 0x2066 and cp <= 0x2069)              -- LRI RLI FSI PDI
                if drop then
                    flush(i - 1)
                    start = i + need + 1
                end
                i = i + need + 1
            end
        end
    end
    flush(len)
    return concat(out, "", 1, n)
end

local ENT = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

function _M.clean(s)
    return clean(tostr(s, "clean"))
end

function _M.escape(s)
    return (gsub(clean(tostr(s, "escape")), "[&<>\"']", ENT))
end

function _M.attr(s)
    return (gsub(clean(tostr(s, "attr")), "[&<>\"']", ENT))
end

local URL_PCT = { ['"'] = "%22", ["'"] = "%27", ["<"] = "%3C", [">"] = "%3E", ["`"] = "%60", [" "] = "%20" }

local ALLOWED_SCHEMES = { http = true, https = true, mailto = true, tel = true }

function _M.url(u)
    if u == nil or (NULL ~= nil and u == NULL) then
        return "#"
    end
    if type(u) ~= "string" then
        error("html.url: expected a string, got " .. type(u), 2)
    end
    -- What a browser does first (URL standard): strip leading and trailing
    -- C0 controls and spaces, remove every tab and newline inside.
    u = gsub(u, "^[%z\1-\32]+", "")
    u = gsub(u, "[%z\1-\32]+$", "")
    u = gsub(u, "[\t\n\r]", "")
    if u == "" then
        return "#"
    end
    -- Anything else below 0x20 (or a space, DEL) inside is never needed.
    if find(u, "[%z\1-\31\127]") then
        return "#"
    end
    -- Character references have no business in a URL that is about to be
    -- escaped (the caller gets raw text): "jav&#x61;script:" means someone
    -- is trying something.
    if find(u, "&#", 1, true) or find(u, "&%a+;") then
        return "#"
    end
    -- Characters that could end a quoted or unquoted attribute if a caller
    -- forgot attr(): percent-encode them (browsers would do the same).
    u = gsub(u, "[\"'<>` ]", URL_PCT)
    -- A ":" before the first / ? # makes the start a scheme: only a few are
    -- allowed, and anything that is not a clean scheme name is refused.
    local head = u:match("^([^/?#]*)")
    local colon = find(head, ":", 1, true)
    if colon then
        local scheme = sub(head, 1, colon - 1)
        if not scheme:match("^[%a][%w+.-]*$") or not ALLOWED_SCHEMES[lower(scheme)] then
            return "#"
        end
        local rest = sub(u, colon + 1)
        local ls = lower(scheme)
        if ls == "http" or ls == "https" then
            -- Must have a host: "http:evil" and "http:/x" are odd enough to refuse.
            if not rest:match("^//[^/?#\\]") then
                return "#"
            end
        end
        if find(u, "\\", 1, true) then
            return "#"
        end
        return u
    end
    -- Relative: a network-path reference ("//host", or "/\host", which
    -- browsers treat the same) would leave the site; refuse it.
    if u:match("^[/\\][/\\]") then
        return "#"
    end
    if find(u, "\\", 1, true) then
        return "#"
    end
    return u
end

local JSON_ESC = {
    ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026",
    ["\226\128\168"] = "\\u2028", ["\226\128\169"] = "\\u2029",
}

-- Makes every string in v clean() (a JSON encoder passes bad UTF-8 on) and
-- drops functions; returns a copy.
local function clean_tree(v, depth)
    if depth > 32 then
        error("html.json_ld: value nested too deeply", 4)
    end
    local t = type(v)
    if t == "string" then
        return clean(v)
    elseif t == "table" then
        local out = {}
        for k, x in pairs(v) do
            out[type(k) == "string" and clean(k) or k] = clean_tree(x, depth + 1)
        end
        return setmetatable(out, getmetatable(v))
    end
    return v
end

function _M.json_ld(v)
    if type(v) ~= "table" then
        error("html.json_ld: expected a table", 2)
    end
    local s, err = wm.json.encode(clean_tree(v, 0))
    if not s then
        error("html.json_ld: " .. tostring(err), 2)
    end
    -- These characters occur only inside JSON strings, so replacing them by
    -- \u escapes keeps the JSON equal and makes "</script" or "<!--"
    -- impossible in the output.
    s = gsub(s, "[<>&]", JSON_ESC)
    s = gsub(s, "\226\128[\168\169]", JSON_ESC)
    return s
end

return _M
