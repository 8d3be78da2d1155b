-- What the sanitiser keeps: the allow-listed elements and how they nest,
-- the elements dropped with their content, and the attributes that
-- survive, each checked and written back by this module: class (up to 8
-- lowercased [a-z0-9-] tokens, none starting "wm-": those belong to the
-- page around the fragment), href on a (entity-decoded, then lib.html.url:
-- only http(s)/mailto/tel/relative survive; http(s) links get rel=
-- "nofollow noopener noreferrer"), colspan/rowspan 1-50 on cells, scope
-- on th (scope="col" when it has none). No id, no style, no on*.
--
--   policy.ALLOWED, PHRASING, PHRASING_ONLY, HEADING, TABLE_CTX, SECTIONS,
--   DROP, VOID, FOREIGN: sets of element names, each described where it is
--   defined
--   policy.attributes(name, attrs, note) -> ' a="v"...' | nil, noted
--       attrs as the tokenizer gives them; note(what) is told what was
--       removed; nil when an a has no usable href (noted = true when the
--       href itself was refused and already noted)
local html = require "lib.html"
local text = require "lib.text"
local entities = require "lib.sanitize.entities"

local tonumber, ipairs = tonumber, ipairs
local sub, find, lower, match, gsub, concat = string.sub, string.find, string.lower, string.match,
    string.gsub, table.concat

local _M = {}

local function set(list)
    local t = {}
    for w in list:gmatch("%S+") do
        t[w] = true
    end
    return t
end

-- Kept. An element in none of ALLOWED, HEADING and DROP is unwrapped: its
-- tag goes, its content stays.
_M.ALLOWED = set [[p h2 h3 h4 ul ol li strong em b i a br blockquote span div section figure figcaption
    table caption thead tbody tfoot tr th td]]
_M.PHRASING = set [[strong em b i a span br]]
_M.PHRASING_ONLY = set [[p h2 h3 h4]]           -- containers that hold phrasing only
_M.HEADING = set [[h1 h2 h3 h4 h5 h6]]
_M.TABLE_CTX = set [[table thead tbody tfoot tr]] -- where text and most elements cannot be
_M.SECTIONS = set [[thead tbody tfoot]]
-- Dropped with their content.
_M.DROP = set [[script style iframe frame frameset object embed applet form input button select
    textarea option optgroup svg math link meta base template noscript noembed noframes xmp plaintext
    title head audio video source track img image picture canvas dialog portal param keygen isindex
    datalist output]]
-- Elements without content or end tag.
_M.VOID = set [[area base br col embed hr img input link meta param source track wbr keygen image
    isindex frame]]
-- Where a self-closing tag really is empty (svg, math), so "<svg/>" opens
-- nothing to skip.
_M.FOREIGN = set [[svg math]]

local function clean_classes(v)
    local out, seen = {}, {}
    for tok in entities.decode(v, true):gmatch("[^\t\n\f\r ]+") do
        tok = lower(tok)
        if tok:match("^[a-z][a-z0-9%-]*$") and not find(tok, "--", 1, true) and sub(tok, -1) ~= "-"
            and #tok <= 40 and sub(tok, 1, 3) ~= "wm-"
            and not seen[tok] then
            seen[tok] = true
            out[#out + 1] = tok
            if #out == 8 then
                break
            end
        end
    end
    return concat(out, " ")
end

function _M.attributes(name, attrs, note)
    local parts = {}
    local has_scope
    for _, a in ipairs(attrs) do
        local an, av = a[1], a[2]
        if an == "class" then
            local cls = clean_classes(av)
            if cls ~= "" then
                parts[#parts + 1] = ' class="' .. html.attr(cls) .. '"'
            end
        elseif an == "href" and name == "a" then
            local dv = entities.decode(av, true)
            local u = html.url(dv)
            if u == "#" and match(dv, "^%s*#?%s*$") == nil then
                note("url " .. text.clip(html.clean(gsub(dv, "%s+", " ")), 40, "...") .. " (href)")
                return nil, true
            end
            parts[#parts + 1] = ' href="' .. html.attr(u) .. '"'
            if match(lower(u), "^https?:") then
                parts[#parts + 1] = ' rel="nofollow noopener noreferrer"'
            end
        elseif (an == "colspan" or an == "rowspan") and (name == "td" or name == "th") then
            local v = tonumber(match(entities.decode(av, true), "^%s*(%d+)%s*$") or "")
            if v and v >= 1 and v <= 50 then
                parts[#parts + 1] = " " .. an .. '="' .. v .. '"'
            end
        elseif an == "scope" and name == "th" then
            local v = lower(match(entities.decode(av, true), "^%s*(%a+)%s*$") or "")
            if v == "row" or v == "col" or v == "rowgroup" or v == "colgroup" then
                parts[#parts + 1] = ' scope="' .. v .. '"'
                has_scope = true
            end
        else
            note("attribute " .. text.clip(html.clean(an), 30, "..."))
        end
    end
    if name == "th" and not has_scope then
        parts[#parts + 1] = ' scope="col"'
    end
    if name == "a" and not match(concat(parts), ' href="') then
        return nil
    end
    return concat(parts)
end

return _M
