-- The tree builder and writer: takes the tokenizer's tags and text, keeps
-- the allow-listed elements (lib/sanitize/policy.lua), drops others with
-- their content or unwraps them, fixes nesting the way an HTML parser
-- would (lists get their li, tables their tbody/tr, phrasing containers
-- close before a block, headings map to h{base}..h6 without skipping a
-- level), closes what is left open, and writes everything back out
-- itself: text is re-escaped and attribute values re-quoted, so the output
-- is well-formed whatever the input was.
--
--   tree.build(input, heading_base, note) -> html
--       note(what) is told each thing removed or changed
local html = require "lib.html"
local text = require "lib.text"
local entities = require "lib.sanitize.entities"
local policy = require "lib.sanitize.policy"
local tokenizer = require "lib.sanitize.tokenizer"

local tonumber = tonumber
local sub, match, concat = string.sub, string.match, table.concat

local _M = {}

local RAWTEXT = tokenizer.RAWTEXT
local ALLOWED, PHRASING, PHRASING_ONLY, HEADING = policy.ALLOWED, policy.PHRASING, policy.PHRASING_ONLY,
    policy.HEADING
local TABLE_CTX, SECTIONS, DROP, VOID, FOREIGN = policy.TABLE_CTX, policy.SECTIONS, policy.DROP, policy.VOID,
    policy.FOREIGN

function _M.build(input, base, note)
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

    local sink = {}

    function sink.drop(what)
        note(what)
    end

    function sink.text(t)
        if skip then
            return
        end
        local txt = entities.decode(t, false)
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
            note("element " .. text.clip(html.clean(orig), 30, "...") .. " (unwrapped)")
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
            push(name, policy.attributes(name, attrs, note))
            return
        elseif SECTIONS[name] then
            local i = find_open("table")
            if not i then
                note("element " .. name .. " (outside a table, unwrapped)")
                return
            end
            close_to(i + 1)
            push(name, policy.attributes(name, attrs, note))
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
            push(name, policy.attributes(name, attrs, note))
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
            push(name, policy.attributes(name, attrs, note))
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
            push(name, policy.attributes(name, attrs, note))
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
            push(name, policy.attributes(name, attrs, note))
            return
        end

        if PHRASING[name] then
            if name == "a" then
                local i = find_open("a")
                if i then
                    close_to(i)
                end
            end
            local a, noted = policy.attributes(name, attrs, note)
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
        push(name, policy.attributes(name, attrs, note))
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

    tokenizer.tokenize(input, sink)
    if skip then
        note("element " .. skip.name .. " never closed (content dropped)")
    end
    if sp > 0 then
        note("unclosed tags closed")
        while sp > 0 do
            pop()
        end
    end
    return concat(out, "", 1, n)
end

return _M
