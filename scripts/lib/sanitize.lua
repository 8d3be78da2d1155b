-- An HTML sanitiser for fragments written by an LLM (or anyone else).
--
--   sanitize.sanitize(html[, opts]) -> safe_html, report
--     opts.heading_base (2): the highest heading level the fragment may
--       use; h1..h6 are mapped to h2..h4, shifted to start at heading_base
--       and never skip a level (h2 then h4 becomes h2 then h3).
--     opts.max_bytes (200000): longer input is cut first (a tag cut in half
--       is dropped, as a browser drops a tag cut by the end of input).
--     report = { changed = bool, removed = { "element script (with content)",
--       "attribute onerror", "url javascript:... (href)", "comment", ... } }
--       (each distinct entry once, with " x<n>" when it happened n > 1 times;
--       at most 50 entries).
--
-- How: a tokenizer that follows the HTML5 tokenizer's states closely enough
-- to see the same tags a browser sees (tag names end at whitespace, / or >;
-- quoted and unquoted attribute values; comments, bogus comments, CDATA;
-- script/style/textarea/title/xmp/iframe/noembed/noframes/noscript/plaintext
-- contents are raw text), then a small tree builder that keeps only
-- allow-listed elements and attributes, closes what is left open, and writes
-- everything back out itself: text is re-escaped, attribute values are
-- re-quoted, so the output is well-formed whatever the input was.
--
-- Kept: p h2 h3 h4 ul ol li strong em b i a br blockquote span div section
-- figure figcaption table caption thead tbody tfoot tr th td.
-- Attributes: class (lowercased [a-z0-9-] tokens, none starting "wm-": those
-- belong to the page around the fragment), href on a (entity-decoded, then
-- lib.html.url: only http(s)/mailto/tel/relative survive), colspan/rowspan on
-- cells, scope on th. No id, no style, no on*, nothing else.
-- Dropped with their content: script style iframe frame frameset object embed
-- applet form input button select textarea option svg math link meta base
-- template noscript noembed noframes xmp plaintext title head audio video
-- source track img picture canvas dialog portal param.
-- Any other element is unwrapped (its tag goes, its content stays).
--
-- The parts, under lib/sanitize/: tokenizer.lua (the tokenizer),
-- entities.lua (character references), policy.lua (what is kept: elements,
-- classes, URLs and other attributes) and tree.lua (nesting and writing).
local tree = require "lib.sanitize.tree"
local entities = require "lib.sanitize.entities"

local type, error, ipairs, setmetatable = type, error, ipairs, setmetatable
local sub = string.sub

local _M = { _VERSION = "0.1" }

_M.decode_entities = entities.decode

function _M.sanitize(input, opts)
    if type(input) ~= "string" then
        if input == nil or (rawget(_G, "wm") and input == wm.null) then
            input = ""
        else
            error("usage: sanitize.sanitize(html[, opts])", 2)
        end
    end
    opts = opts or {}
    local base = opts.heading_base or 2
    if type(base) ~= "number" or base < 1 or base > 6 then
        error("sanitize: heading_base must be 1..6", 2)
    end
    local max_bytes = opts.max_bytes or 200000

    local removed, order = {}, {}
    local function note(what)
        if not removed[what] then
            order[#order + 1] = what
            removed[what] = 0
        end
        removed[what] = removed[what] + 1
    end
    if #input > max_bytes then
        input = sub(input, 1, max_bytes)
        note("input cut to " .. max_bytes .. " bytes")
    end

    local out = tree.build(input, base, note)

    local list = {}
    for _, what in ipairs(order) do
        local c = removed[what]
        list[#list + 1] = c > 1 and (what .. " x" .. c) or what
        if #list == 50 then
            list[#list + 1] = "..."
            break
        end
    end
    return out, { changed = #order > 0, removed = list }
end

setmetatable(_M, { __call = function(_, ...) return _M.sanitize(...) end })

return _M
