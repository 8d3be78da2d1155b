-- The tokenizer: follows the HTML5 tokenizer's states closely enough to
-- see the same tags a browser sees. Tag names end at whitespace, / or >;
-- attribute values are quoted or not; comments (including "<!-->" and
-- "--!>"), bogus comments, CDATA, doctypes and processing instructions
-- become drops; the contents of RAWTEXT elements are not markup, and
-- <plaintext> ends all markup.
--
--   tokenizer.tokenize(s, sink) calls, in document order:
--     sink.text(raw_text), sink.start(name, attrs, self_closing),
--     sink.finish(name), sink.drop(what)
--   attrs is an array of {name, raw_value} (values not yet decoded; a
--   repeated attribute keeps its first value, as in a browser).
--   tokenizer.RAWTEXT: the elements whose content is raw text.
local sub, find, lower = string.sub, string.find, string.lower

local _M = {}

local RAWTEXT = {}
for w in ("script style textarea title xmp iframe noembed noframes noscript"):gmatch("%S+") do
    RAWTEXT[w] = true
end
_M.RAWTEXT = RAWTEXT

function _M.tokenize(s, sink)
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

return _M
