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
local html = require "lib.html"

local type, tostring, tonumber, error, pairs, ipairs = type, tostring, tonumber, error, pairs, ipairs
local byte, char, sub, find, lower, match, gsub, concat = string.byte, string.char, string.sub, string.find,
    string.lower, string.match, string.gsub, table.concat
local floor = math.floor

local _M = { _VERSION = "0.1" }

local function set(list)
    local t = {}
    for w in list:gmatch("%S+") do
        t[w] = true
    end
    return t
end

local ALLOWED = set [[p h2 h3 h4 ul ol li strong em b i a br blockquote span div section figure figcaption
    table caption thead tbody tfoot tr th td]]
local PHRASING = set [[strong em b i a span br]]
local PHRASING_ONLY = set [[p h2 h3 h4]]           -- containers that hold phrasing only
local HEADING = set [[h1 h2 h3 h4 h5 h6]]
local TABLE_CTX = set [[table thead tbody tfoot tr]] -- where text and most elements cannot be
local SECTIONS = set [[thead tbody tfoot]]
local DROP = set [[script style iframe frame frameset object embed applet form input button select
    textarea option optgroup svg math link meta base template noscript noembed noframes xmp plaintext
    title head audio video source track img image picture canvas dialog portal param keygen isindex
    datalist output]]
local RAWTEXT = set [[script style textarea title xmp iframe noembed noframes noscript]]
local VOID = set [[area base br col embed hr img input link meta param source track wbr keygen image
    isindex frame]]
local FOREIGN = set [[svg math]]

-- ---- entities ----

local NAMED = {
    amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = "\194\160",
    copy = "\194\169", reg = "\194\174", trade = "\226\132\162", hellip = "\226\128\166",
    mdash = "\226\128\148", ndash = "\226\128\147", lsquo = "\226\128\152", rsquo = "\226\128\153",
    ldquo = "\226\128\156", rdquo = "\226\128\157", sbquo = "\226\128\154", bdquo = "\226\128\158",
    laquo = "\194\171", raquo = "\194\187", bull = "\226\128\162", middot = "\194\183",
    deg = "\194\176", plusmn = "\194\177", times = "\195\151", divide = "\195\183",
    frac12 = "\194\189", frac14 = "\194\188", frac34 = "\194\190", euro = "\226\130\172",
    pound = "\194\163", yen = "\194\165", cent = "\194\162", sect = "\194\167", para = "\194\182",
    iexcl = "\194\161", iquest = "\194\191", aacute = "\195\161", eacute = "\195\169",
    iacute = "\195\173", oacute = "\195\179", uacute = "\195\186", ntilde = "\195\177",
    Aacute = "\195\129", Eacute = "\195\137", Iacute = "\195\141", Oacute = "\195\147",
    Uacute = "\195\154", Ntilde = "\195\145", uuml = "\195\188", Uuml = "\195\156",
    auml = "\195\164", ouml = "\195\182", Auml = "\195\132", Ouml = "\195\150", szlig = "\195\159",
    ccedil = "\195\167", Ccedil = "\195\135", agrave = "\195\160", egrave = "\195\168",
    ecirc = "\195\170", ocirc = "\195\180", acirc = "\195\162", star = "\226\152\134",
    starf = "\226\152\133", check = "\226\156\147", hearts = "\226\153\165", rarr = "\226\134\146",
    larr = "\226\134\144", ensp = "\226\128\130", emsp = "\226\128\131", thinsp = "\226\128\137",
    zwnj = "\226\128\140", zwj = "\226\128\141", shy = "\194\173",
    -- ASCII punctuation (HTML5 names), which attack strings love.
    colon = ":", Tab = "\t", NewLine = "\n", lpar = "(", rpar = ")", sol = "/", bsol = "\\",
    num = "#", quest = "?", excl = "!", period = ".", comma = ",", semi = ";", equals = "=",
    plus = "+", lowbar = "_", dollar = "$", percnt = "%", ast = "*", commat = "@", lsqb = "[",
    rsqb = "]", lcub = "{", rcub = "}", verbar = "|", grave = "`", hyphen = "-", dash = "\226\128\144",
    Hat = "^",
}
-- Entities a browser decodes even without the semicolon.
local LEGACY = set [[amp lt gt quot nbsp copy reg AMP LT GT QUOT]]
NAMED.AMP, NAMED.LT, NAMED.GT, NAMED.QUOT = "&", "<", ">", '"'

local CP1252 = {
    [0x80] = 0x20AC, [0x82] = 0x201A, [0x83] = 0x0192, [0x84] = 0x201E, [0x85] = 0x2026,
    [0x86] = 0x2020, [0x87] = 0x2021, [0x88] = 0x02C6, [0x89] = 0x2030, [0x8A] = 0x0160,
    [0x8B] = 0x2039, [0x8C] = 0x0152, [0x8E] = 0x017D, [0x91] = 0x2018, [0x92] = 0x2019,
    [0x93] = 0x201C, [0x94] = 0x201D, [0x95] = 0x2022, [0x96] = 0x2013, [0x97] = 0x2014,
    [0x98] = 0x02DC, [0x99] = 0x2122, [0x9A] = 0x0161, [0x9B] = 0x203A, [0x9C] = 0x0153,
    [0x9E] = 0x017E, [0x9F] = 0x0178,
}

local function utf8_char(cp)
    if cp < 0x80 then
        return char(cp)
    elseif cp < 0x800 then
        return char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
    elseif cp < 0x10000 then
        return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
        0x80 + cp % 64)
end

local function numeric(digits, hex)
    local cp
    if #digits > 8 then
        cp = 0x110000
    else
        cp = tonumber(digits, hex and 16 or 10)
    end
    if cp == 0 or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
        return "\239\191\189"
    end
    cp = CP1252[cp] or cp
    return utf8_char(cp)
end

-- Decodes character references as a browser would in text or (in_attr) in
-- an attribute value.
local function decode(s, in_attr)
    if not find(s, "&", 1, true) then
        return s
    end
    local out, n, pos, len = {}, 0, 1, #s
    while pos <= len do
        local amp = find(s, "&", pos, true)
        if not amp then
            n = n + 1
            out[n] = sub(s, pos)
            break
        end
        if amp > pos then
            n = n + 1
            out[n] = sub(s, pos, amp - 1)
        end
        local rep, stop
        local hx = match(s, "^#[xX](%x+)", amp + 1)
        if hx then
            rep = numeric(hx, true)
            stop = amp + 2 + #hx
            if sub(s, stop + 1, stop + 1) == ";" then
                stop = stop + 1
            end
        else
            local dg = match(s, "^#(%d+)", amp + 1)
            if dg then
                rep = numeric(dg, false)
                stop = amp + 1 + #dg
                if sub(s, stop + 1, stop + 1) == ";" then
                    stop = stop + 1
                end
            else
                local name = match(s, "^(%w+)", amp + 1)
                if name then
                    if sub(s, amp + 1 + #name, amp + 1 + #name) == ";" and NAMED[name] then
                        rep = NAMED[name]
                        stop = amp + 1 + #name
                    else
                        -- Longest legacy prefix without a semicolon.
                        for l = math.min(#name, 6), 2, -1 do
                            local pre = sub(name, 1, l)
                            if LEGACY[pre] then
                                local nxt = sub(s, amp + 1 + l, amp + 1 + l)
                                if not (in_attr and nxt:match("[%w=]")) then
                                    rep = NAMED[pre]
                                    stop = amp + l
                                end
                                break
                            end
                        end
                    end
                end
            end
        end
        if rep then
            n = n + 1
            out[n] = rep
            pos = stop + 1
        else
            n = n + 1
            out[n] = "&"
            pos = amp + 1
        end
    end
    return concat(out, "", 1, n)
end
_M.decode_entities = decode

-- ---- tokenizer ----
-- Calls sink.text(raw_text), sink.start(name, attrs, self_closing),
-- sink.finish(name), sink.drop(what) in document order. attrs is an array
-- of {name, raw_value} (values not yet decoded); duplicates are dropped.

local WS = "[\t\n\f\r ]"

local function tokenize(s, sink)
    local len = #s
    local ls -- lowercased copy, made on first need (raw text end search)
    local pos = 1

    local function bogus_comment(from, what)
        local gt = find(s, ">", from, true)
        sink.drop(what)
        return gt and gt + 1 or len + 1
    end

    -- Parses attributes from p (just after the tag name) up to and
    -- including ">"; returns attrs, self_closing, next_pos or nil at EOF.
    local function attributes(p)
        local attrs, seen = {}, {}
        local self_closing = false
        while true do
            p = find(s, "[^\t\n\f\r ]", p)
            if not p then
                return nil
            end
            local c = sub(s, p, p)
            if c == ">" then
                return attrs, self_closing, p + 1
            elseif c == "/" then
                if sub(s, p + 1, p + 1) == ">" then
                    return attrs, true, p + 2
                end
                p = p + 1
            else
                self_closing = false
                -- Attribute name: up to whitespace / > ; "=" is part of
                -- the name only as its first character.
                local e = find(s, "[\t\n\f\r />=]", p + 1)
                if not e then
                    return nil
                end
                local name = lower(sub(s, p, e - 1))
                local value = ""
                p = find(s, "[^\t\n\f\r ]", e)
                if not p then
                    return nil
                end
                if sub(s, p, p) == "=" then
                    p = find(s, "[^\t\n\f\r ]", p + 1)
                    if not p then
                        return nil
                    end
                    local q = sub(s, p, p)
                    if q == '"' or q == "'" then
                        local qe = find(s, q, p + 1, true)
                        if not qe then
                            return nil
                        end
                        value = sub(s, p + 1, qe - 1)
                        p = qe + 1
                    elseif q == ">" then
                        -- missing value: the tag ends here
                        value = ""
                    else
                        local ve = find(s, "[\t\n\f\r >]", p)
                        if not ve then
                            return nil
                        end
                        value = sub(s, p, ve - 1)
                        p = ve
                    end
                end
                if not seen[name] then
                    seen[name] = true
                    attrs[#attrs + 1] = { name, value }
                end
            end
        end
    end

    while pos <= len do
        local lt = find(s, "<", pos, true)
        if not lt then
            sink.text(sub(s, pos))
            break
        end
        if lt > pos then
            sink.text(sub(s, pos, lt - 1))
        end
        local c = sub(s, lt + 1, lt + 1)
        if c:match("%a") then
            local e = find(s, "[\t\n\f\r />]", lt + 1)
            if not e then
                sink.drop("tag cut off by the end of input")
                break
            end
            local name = lower(sub(s, lt + 1, e - 1))
            local attrs, sc, nxt = attributes(e)
            if not attrs then
                sink.drop("tag cut off by the end of input")
                break
            end
            pos = nxt
            sink.start(name, attrs, sc)
            if name == "plaintext" then
                break
            end
            if RAWTEXT[name] then
                ls = ls or lower(s)
                local p = pos
                local stop
                while true do
                    local f = find(ls, "</" .. name, p, true)
                    if not f then
                        break
                    end
                    local after = sub(ls, f + 2 + #name, f + 2 + #name)
                    if after == "" or after:match("[\t\n\f\r />]") then
                        stop = f
                        break
                    end
                    p = f + 1
                end
                if not stop then
                    sink.finish(name)
                    break
                end
                local _, _, nxt2 = attributes(stop + 2 + #name)
                sink.finish(name)
                if not nxt2 then
                    break
                end
                pos = nxt2
            end
        elseif c == "/" then
            local c2 = sub(s, lt + 2, lt + 2)
            if c2:match("%a") then
                local e = find(s, "[\t\n\f\r />]", lt + 2)
                if not e then
                    break
                end
                local name = lower(sub(s, lt + 2, e - 1))
                local attrs, _, nxt = attributes(e)
                if not attrs then
                    break
                end
                pos = nxt
                sink.finish(name)
            elseif c2 == ">" then
                pos = lt + 3
            elseif c2 == "" then
                sink.text("</")
                pos = len + 1
            else
                pos = bogus_comment(lt + 2, "comment")
            end
        elseif c == "!" then
            if sub(s, lt + 2, lt + 3) == "--" then
                sink.drop("comment")
                if sub(s, lt + 4, lt + 4) == ">" then
                    pos = lt + 5
                elseif sub(s, lt + 4, lt + 5) == "->" then
                    pos = lt + 6
                else
                    local e1 = find(s, "-->", lt + 4, true)
                    local e2 = find(s, "--!>", lt + 4, true)
                    if e1 and (not e2 or e1 < e2) then
                        pos = e1 + 3
                    elseif e2 then
                        pos = e2 + 4
                    else
                        pos = len + 1
                    end
                end
            elseif sub(s, lt + 2, lt + 8) == "[CDATA[" then
                sink.drop("cdata")
                local e = find(s, "]]>", lt + 9, true)
                pos = e and e + 3 or len + 1
            else
                pos = bogus_comment(lt + 2, "doctype or bogus comment")
            end
        elseif c == "?" then
            pos = bogus_comment(lt + 2, "processing instruction")
        else
            sink.text("<")
            pos = lt + 1
        end
    end
end

-- ---- tree builder and writer ----

local function clean_classes(v)
    local out, seen = {}, {}
    for tok in decode(v, true):gmatch("[^\t\n\f\r ]+") do
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

    local out, n = {}, 0
    local function emit(s)
        n = n + 1
        out[n] = s
    end

    -- Open elements { name=, children= }, stack[1..sp]. The depth is kept in
    -- sp rather than taken with #stack: LuaJIT 2.1.0-beta3 (Debian 12's) was
    -- seen to mis-trace #stack in these loops once they got hot.
    local stack, sp = {}, 0
    local skip                -- { name=, depth= } while dropping an element's content
    local last_heading = base - 1
    local unwrapped_a = 0
    local MAX_DEPTH = 40

    local function top()
        return stack[sp]
    end
    local function top_name()
        local t = stack[sp]
        return t and t.name
    end
    local function push(name, attrs)
        local t = top()
        if t then
            t.children = t.children + 1
        end
        emit("<" .. name .. (attrs or "") .. ">")
        if name ~= "br" then
            sp = sp + 1
            stack[sp] = { name = name, children = 0 }
        end
    end
    local function pop()
        local t = stack[sp]
        stack[sp] = nil
        sp = sp - 1
        emit("</" .. t.name .. ">")
        return t
    end
    local function in_table_ctx()
        return TABLE_CTX[top_name() or ""]
    end
    -- Inside ul/ol, anything but li goes into an implied li.
    local function ensure_li()
        local tn = top_name()
        if tn == "ul" or tn == "ol" then
            push("li")
        end
    end
    local function close_phrasing_containers()
        while true do
            local tn = top_name()
            if tn and (PHRASING[tn] or PHRASING_ONLY[tn]) then
                pop()
            else
                break
            end
        end
    end
    local function find_open(name, stop_at)
        for i = sp, 1, -1 do
            local nm = stack[i].name
            if nm == name then
                return i
            end
            if stop_at and stop_at[nm] then
                return nil
            end
        end
        return nil
    end
    local function close_to(i)
        while sp >= i do
            pop()
        end
    end
    local function heading_level(name)
        local lvl = tonumber(sub(name, 2))
        if lvl < 2 then
            lvl = 2
        elseif lvl > 4 then
            lvl = 4
        end
        lvl = lvl - 2 + base
        if lvl > last_heading + 1 then
            lvl = last_heading + 1
        end
        if lvl < base then
            lvl = base
        end
        if lvl > 6 then
            lvl = 6
        end
        return lvl
    end

    local function attrs_for(name, attrs)
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
                local dv = decode(av, true)
                local u = html.url(dv)
                if u == "#" and match(dv, "^%s*#?%s*$") == nil then
                    note("url " .. html.truncate(html.clean(gsub(dv, "%s+", " ")), 40, "...") .. " (href)")
                    return nil, true
                end
                parts[#parts + 1] = ' href="' .. html.attr(u) .. '"'
                if match(lower(u), "^https?:") then
                    parts[#parts + 1] = ' rel="nofollow noopener noreferrer"'
                end
            elseif (an == "colspan" or an == "rowspan") and (name == "td" or name == "th") then
                local v = tonumber(match(decode(av, true), "^%s*(%d+)%s*$") or "")
                if v and v >= 1 and v <= 50 then
                    parts[#parts + 1] = " " .. an .. '="' .. v .. '"'
                end
            elseif an == "scope" and name == "th" then
                local v = lower(match(decode(av, true), "^%s*(%a+)%s*$") or "")
                if v == "row" or v == "col" or v == "rowgroup" or v == "colgroup" then
                    parts[#parts + 1] = ' scope="' .. v .. '"'
                    has_scope = true
                end
            else
                note("attribute " .. html.truncate(html.clean(an), 30, "..."))
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

    local sink = {}

    function sink.drop(what)
        note(what)
    end

    function sink.text(t)
        if skip then
            return
        end
        local txt = decode(t, false)
        if in_table_ctx() then
            if match(txt, "^[\t\n\f\r ]*$") then
                emit(txt)
            else
                note("text outside table cells")
            end
            return
        end
        local tn = top_name()
        if (tn == "ul" or tn == "ol") then
            if match(txt, "^[\t\n\f\r ]*$") then
                emit(txt)
                return
            end
            push("li")
        end
        emit(html.escape(txt))
    end

    function sink.start(name, attrs, self_closing)
        if skip then
            if name == skip.name and not (self_closing and FOREIGN[name]) and not VOID[name] then
                skip.depth = skip.depth + 1
            end
            return
        end
        if DROP[name] then
            note("element " .. name .. ((VOID[name] or (self_closing and FOREIGN[name])) and "" or " (with content)"))
            if not VOID[name] and not RAWTEXT[name] and not (self_closing and FOREIGN[name]) then
                skip = { name = name, depth = 1 }
            end
            return
        end
        local orig = name
        if HEADING[name] then
            name = "h" .. heading_level(name)
        end
        if not ALLOWED[name] and not HEADING[name] then
            note("element " .. html.truncate(html.clean(orig), 30, "...") .. " (unwrapped)")
            return
        end
        if sp >= MAX_DEPTH then
            note("element " .. name .. " (nested too deeply)")
            return
        end

        -- Table structure.
        if name == "caption" then
            local t = top()
            if not (t and t.name == "table" and t.children == 0) then
                note("element caption (misplaced, unwrapped)")
                return
            end
            push(name, attrs_for(name, attrs))
            return
        elseif SECTIONS[name] then
            local i = find_open("table")
            if not i then
                note("element " .. name .. " (outside a table, unwrapped)")
                return
            end
            close_to(i + 1)
            push(name, attrs_for(name, attrs))
            return
        elseif name == "tr" then
            local i = find_open("table")
            if not i then
                note("element tr (outside a table, unwrapped)")
                return
            end
            -- Close up to the nearest section or the table.
            while sp > i and not SECTIONS[top_name()] do
                pop()
            end
            if top_name() == "table" then
                push("tbody")
            end
            push(name, attrs_for(name, attrs))
            return
        elseif name == "td" or name == "th" then
            local i = find_open("table")
            local cell
            for k = sp, (i or 1), -1 do
                local nm = stack[k].name
                if nm == "td" or nm == "th" then
                    cell = k
                    break
                end
            end
            if not i then
                note("element " .. name .. " (outside a table, unwrapped)")
                return
            end
            if cell and cell > i then
                close_to(cell)
            end
            while sp > i and top_name() ~= "tr" and not SECTIONS[top_name()] do
                pop()
            end
            if top_name() == "table" then
                push("tbody")
            end
            if top_name() ~= "tr" then
                push("tr")
            end
            push(name, attrs_for(name, attrs))
            return
        end

        -- Nothing else may sit directly in a table, row or section.
        if in_table_ctx() then
            note("element " .. name .. " (directly in a table, unwrapped)")
            return
        end

        if name == "li" then
            -- A new li closes the open one (through div/span/p/inline).
            for i = sp, 1, -1 do
                local nm = stack[i].name
                if nm == "li" then
                    close_to(i)
                    break
                elseif nm == "ul" or nm == "ol" or (not PHRASING[nm] and nm ~= "div" and nm ~= "p") then
                    break
                end
            end
            close_phrasing_containers()
            local tn = top_name()
            if tn ~= "ul" and tn ~= "ol" then
                push("ul")
            end
            push(name, attrs_for(name, attrs))
            return
        end

        if name == "figcaption" then
            if top_name() ~= "figure" then
                close_phrasing_containers()
            end
            if top_name() ~= "figure" then
                note("element figcaption (outside figure, unwrapped)")
                return
            end
            push(name, attrs_for(name, attrs))
            return
        end

        if PHRASING[name] then
            if name == "a" then
                local i = find_open("a")
                if i then
                    close_to(i)
                end
            end
            local a, noted = attrs_for(name, attrs)
            if not a then
                -- An a without a usable href is unwrapped.
                if not noted then
                    note("element a without href (unwrapped)")
                end
                unwrapped_a = unwrapped_a + 1
                return
            end
            ensure_li()
            push(name, a)
            return
        end

        -- Block elements: close what cannot contain them.
        close_phrasing_containers()
        if HEADING[name] then
            last_heading = tonumber(sub(name, 2))
        end
        ensure_li()
        push(name, attrs_for(name, attrs))
    end

    function sink.finish(name)
        if skip then
            if name == skip.name then
                skip.depth = skip.depth - 1
                if skip.depth == 0 then
                    skip = nil
                end
            end
            return
        end
        if HEADING[name] then
            for i = sp, 1, -1 do
                local nm = stack[i].name
                if HEADING[nm] then
                    close_to(i)
                    return
                end
                if not PHRASING[nm] then
                    break
                end
            end
            note("stray end tag " .. name)
            return
        end
        if not ALLOWED[name] or name == "br" then
            return
        end
        local scope = { table = true, td = true, th = true, caption = true }
        if name == "table" then
            scope = { td = false }
        elseif name == "td" or name == "th" or name == "caption" or SECTIONS[name] or name == "tr" then
            scope = { table = true }
        end
        local i = find_open(name, scope)
        if not i then
            if name == "a" and unwrapped_a > 0 then
                unwrapped_a = unwrapped_a - 1
                return
            end
            note("stray end tag " .. name)
            return
        end
        close_to(i)
    end

    tokenize(input, sink)
    if skip then
        note("element " .. skip.name .. " never closed (content dropped)")
    end
    if sp > 0 then
        note("unclosed tags closed")
        while sp > 0 do
            pop()
        end
    end

    local list = {}
    for _, what in ipairs(order) do
        local c = removed[what]
        list[#list + 1] = c > 1 and (what .. " x" .. c) or what
        if #list == 50 then
            list[#list + 1] = "..."
            break
        end
    end
    return concat(out, "", 1, n), { changed = #order > 0, removed = list }
end

setmetatable(_M, { __call = function(_, ...) return _M.sanitize(...) end })

return _M
