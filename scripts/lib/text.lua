-- Plain-text helpers: the one home of the trimming, clipping and paragraph
-- handling that the agents, the offline author, the site renderer, the email
-- and the lead intake all need. Lengths are in bytes, and no function here
-- ever cuts inside a UTF-8 character.
--
--   text.trim(s)             -> s without leading and trailing whitespace
--   text.squish(s)           -> every run of whitespace and control characters
--                               as one space, trimmed
--   text.boundary(s, n)      -> the largest cut <= n that keeps UTF-8
--                               characters whole (#s when s fits)
--   text.clip(s, max[, ellipsis]) -> s when it fits in max bytes, else its
--                               longest whole-character prefix that leaves
--                               room for ellipsis, plus ellipsis
--   text.shorten(s, max)     -> at most max bytes ending at a word boundary
--                               (when that keeps at least half), without
--                               trailing punctuation: for headlines and quotes
--   text.capitalize(s)       -> s with its first letter upper case (ASCII)
--   text.sentences(s)        -> the sentences of s, trimmed, empty ones left out
--   text.unquote(s)          -> s without one pair of quotation marks around
--                               it (" or “ to open, " or ” to close)
--   text.line(v, max)        -> one line of display text: v a string or number;
--                               valid UTF-8 without controls or bidi overrides
--                               (lib.html.clean), squished, clipped with "…";
--                               nil when nothing is left
--   text.paragraph(v, max)   -> the same for a paragraph: its line breaks kept,
--                               runs of blank lines as one blank line
--   text.paragraphs(v, max, count) -> at most count lines (text.line of max
--                               bytes each) from the blank-line separated
--                               paragraphs of v, a string or a list of them
--
-- The functions of `s` take a string and raise on anything else (a nil here
-- is a bug upstream); line, paragraph and paragraphs take any value, since
-- they read agents' outputs and database rows (wm.null and tables give nil).
local html = require "lib.html"

local type, tostring, error, ipairs = type, tostring, error, ipairs
local byte, sub, find, match, gsub, upper = string.byte, string.sub, string.find, string.match, string.gsub,
    string.upper

local _M = { _VERSION = "0.1" }

local function check(s, fname)
    if type(s) ~= "string" then
        error("text." .. fname .. ": expected a string, got " .. type(s), 3)
    end
end

local function check_max(max, fname)
    if type(max) ~= "number" or max < 0 then
        error("text." .. fname .. ": max must be a number >= 0", 3)
    end
end

-- Linear whatever the input: "^%s*(.-)%s*$" backtracks over every run of
-- inner spaces.
local function trim(s)
    local i = find(s, "%S")
    if not i then
        return ""
    end
    return match(s, ".*%S", i)
end

function _M.trim(s)
    check(s, "trim")
    return trim(s)
end

local function squish(s)
    return trim((gsub(s, "[%s%c]+", " ")))
end

function _M.squish(s)
    check(s, "squish")
    return squish(s)
end

local function boundary(s, n)
    if n >= #s then
        return #s
    end
    -- Back up while the byte after the cut continues a character.
    while n > 0 do
        local c = byte(s, n + 1)
        if c < 0x80 or c >= 0xC0 then
            break
        end
        n = n - 1
    end
    return n
end

function _M.boundary(s, n)
    check(s, "boundary")
    check_max(n, "boundary")
    return boundary(s, n)
end

local function clip(s, max, ellipsis)
    if #s <= max then
        return s
    end
    ellipsis = ellipsis or ""
    local room = max - #ellipsis
    if room < 0 then
        room = 0
    end
    return sub(s, 1, boundary(s, room)) .. ellipsis
end

function _M.clip(s, max, ellipsis)
    check(s, "clip")
    check_max(max, "clip")
    return clip(s, max, ellipsis)
end

function _M.shorten(s, max)
    check(s, "shorten")
    check_max(max, "shorten")
    if #s <= max then
        return s
    end
    local c = sub(s, 1, boundary(s, max))
    -- Drop the word the cut went through, unless that loses too much.
    local w = match(c, "^(.*%S)%s+%S*$")
    if w and #w >= max * 0.5 then
        c = w
    end
    return (gsub(c, "[%s,;:%-]+$", ""))
end

function _M.capitalize(s)
    check(s, "capitalize")
    return (gsub(s, "^%l", upper))
end

function _M.sentences(s)
    check(s, "sentences")
    local out = {}
    for part in gsub(s, "([%.!%?]+)%s+", "%1\n"):gmatch("[^\n]+") do
        part = trim(part)
        if part ~= "" then
            out[#out + 1] = part
        end
    end
    return out
end

-- Matched as whole sequences: “ and ” are three bytes, which a pattern's
-- character class would take apart (and leave half a character behind).
local OPEN_QUOTES, CLOSE_QUOTES = { '"', "\226\128\156" }, { '"', "\226\128\157" }

function _M.unquote(s)
    check(s, "unquote")
    for _, o in ipairs(OPEN_QUOTES) do
        if sub(s, 1, #o) == o then
            for _, c in ipairs(CLOSE_QUOTES) do
                if #s >= #o + #c and sub(s, -#c) == c then
                    return sub(s, #o + 1, #s - #c)
                end
            end
        end
    end
    return s
end

-- What line and paragraph read: strings and numbers; nil for anything else.
local function readable(v)
    if type(v) == "number" then
        return tostring(v)
    end
    return type(v) == "string" and v or nil
end

local function line(v, max)
    check_max(max, "line")
    v = readable(v)
    if not v then
        return nil
    end
    local s = squish(html.clean(v))
    if s == "" then
        return nil
    end
    return clip(s, max, "…")
end
_M.line = line

function _M.paragraph(v, max)
    check_max(max, "paragraph")
    v = readable(v)
    if not v then
        return nil
    end
    local s = gsub(html.clean(v), "\r\n?", "\n")
    s = gsub(s, "[ \t]+\n", "\n")
    s = gsub(s, "\n\n+", "\n\n")
    s = trim(s)
    if s == "" then
        return nil
    end
    return clip(s, max, "…")
end

local function paragraphs(v, max, count, out)
    if type(v) == "table" then
        for _, x in ipairs(v) do
            paragraphs(x, max, count, out)
        end
        return out
    end
    if type(v) ~= "string" then
        return out
    end
    local s = gsub(html.clean(v), "\r\n?", "\n")
    for chunk in (s .. "\n\n"):gmatch("(.-)\n%s*\n") do
        if #out >= count then
            break
        end
        local p = line(chunk, max)
        if p then
            out[#out + 1] = p
        end
    end
    return out
end

function _M.paragraphs(v, max, count)
    check_max(max, "paragraphs")
    check_max(count, "paragraphs")
    return paragraphs(v, max, count, {})
end

return _M
