-- The offline support agent: the common phrasings of a change request
-- turned into operations by pattern, the same request always giving the
-- same answer. Each sentence (or line) of the request is one clause; a
-- clause it does not recognise, and any request with markup, a web
-- address or words aimed at the model, becomes "needs_person".
--
--   support.answer(ctx) -> the support agent's output (agents/support.lua)
--       ctx.request = the customer's text, ctx.site.content = the page's
--       architect output (its section kinds)
local type, ipairs = type, ipairs
local lower, match, find, gsub = string.lower, string.match, string.find, string.gsub
local trim = require("lib.text").trim
local site_edit = require "lib.site_edit"

local _M = {}

local SECTION_WORDS = {
    faq = "faq", faqs = "faq", questions = "faq", ["questions and answers"] = "faq",
    reviews = "reviews", review = "reviews", testimonials = "reviews",
    services = "services", service = "services", about = "about", ["about us"] = "about",
    process = "process", ["how it works"] = "process", contact = "contact",
}

local TEXT_WORDS = {
    headline = "hero.headline", heading = "hero.headline", ["main heading"] = "hero.headline",
    subheadline = "hero.subheadline", subheading = "hero.subheadline", tagline = "hero.subheadline",
    title = "title", ["page title"] = "title", button = "hero.cta_label", ["button text"] = "hero.cta_label",
    footer = "footer_note", ["footer note"] = "footer_note", description = "meta_description",
    ["about text"] = "about.body", ["about us text"] = "about.body",
}

-- Words that are an attempt to steer the model or to put code or links
-- on the page: a person reads those.
local HOSTILE = { "<", ">", "://", "www%.", "javascript", "%f[%a]scripts?%f[%A]", "ignore", "instruction", "system prompt",
                  "you are now", "iframe", "onclick", "onerror", "redirect", "%.js%f[%W]", "tracking", "pixel" }

local function section_of(words)
    words = trim(gsub(gsub(lower(words or ""), "^the%s+", ""), "%s+section$", ""))
    return SECTION_WORDS[words]
end

-- The value a clause gives: the quoted part, else everything after "to" / "is" / "are".
local function quoted(s)
    return match(s, '"([^"]+)"') or match(s, "\226\128\156(.-)\226\128\157") or match(s, "'([^']+)'$")
end

local function rest_after(s, words)
    for _, w in ipairs(words) do
        local v = match(s, "%f[%a]" .. w .. "%s+(.+)$")
        if v then
            return trim((gsub(v, "[%.!]+$", "")))
        end
    end
end

local function clause_ops(c)
    local l = lower(c)
    -- Contact details.
    if find(l, "phone") or find(l, "number") then
        local v = match(c, "(%+?%(?%d[%d%s%-%.%(%)]+%d)")
        if v then
            return { kind = "contact", field = "phone", value = trim(v) }
        end
    end
    if find(l, "hours") or find(l, "we are open") or find(l, "we're open") then
        local v = quoted(c) or rest_after(c, { "are", "is", "to", "open" })
        if v then
            return { kind = "contact", field = "hours", value = v }
        end
    end
    if find(l, "e%-?mail") then
        local v = match(c, "([%w._%%+%-]+@[%w.%-]+%.%a%a+)")
        if v then
            return { kind = "contact", field = "email", value = v }
        end
    end
    if find(l, "address") or find(l, "we moved") or find(l, "we have moved") then
        local v = quoted(c) or rest_after(c, { "to", "is", "now" })
        if v then
            return { kind = "contact", field = "address", value = v }
        end
    end
    -- Colours.
    if find(l, "colou?r") or find(l, "^make it %a+$") or find(l, "^make the site %a+$") then
        for word in l:gmatch("%a+") do
            if site_edit.COLOURS[word] then
                return { kind = "colours", colour = word }
            end
        end
        local hex = match(c, "(#%x%x%x%x%x%x)")
        if hex then
            return { kind = "colours", primary = lower(hex) }
        end
    end
    -- Sections.
    local what = match(l, "^%s*remove%s+(.-)%s*$") or match(l, "^%s*delete%s+(.-)%s*$")
        or match(l, "^%s*take out%s+(.-)%s*$") or match(l, "^%s*get rid of%s+(.-)%s*$")
    if what and section_of(what) then
        return { kind = "remove_section", section = section_of(what) }
    end
    what = match(l, "^%s*add%s+an?%s+(.-)%s*$") or match(l, "^%s*add%s+(.-)%s*$")
    if what and section_of(what) then
        return { kind = "add_section", section_kind = section_of(what) }
    end
    local first = match(l, "^%s*move%s+(.-)%s+to the top%s*$") or match(l, "^%s*put%s+(.-)%s+first%s*$")
        or match(l, "^%s*show%s+(.-)%s+first%s*$")
    if first and section_of(first) then
        return { kind = "reorder_sections", order = wm.json.array { section_of(first), "services" } }
    end
    if find(l, "photo") or find(l, "picture") or find(l, "image") then
        return { kind = "swap_photo", description = c:sub(1, 500) }
    end
    -- New words for a named part: change/make/set the X to "...".
    local part, value = match(c, "^%s*[%a ]-%f[%a][Tt]he%s+([%a ]-)%s+to%s+(.+)$")
    if part then
        local target = TEXT_WORDS[lower(trim(part))]
        if target then
            local v = quoted(value) or trim((gsub(value, "[%.!]+$", "")))
            return { kind = "text", target = target, value = v }
        end
    end
    return nil
end

local function clauses(s)
    local out = {}
    s = gsub(s, "\r", "")
    for piece in (s .. "\n"):gmatch("(.-)\n") do
        -- A sentence ends at . ! ? followed by a space (not inside "555.1234").
        piece = gsub(piece, "([%.!?;])%s+", "%1\0")
        for c in (piece .. "\0"):gmatch("(.-)%z") do
            c = trim(gsub(c, "^%s*[Pp]lease%s+", ""))
            c = trim(gsub(c, "^[Aa]lso,?%s+", ""))
            c = gsub(c, "[%.;]+$", "")
            if c ~= "" then
                out[#out + 1] = c
            end
        end
    end
    return out
end

function _M.answer(ctx)
    local req = type(ctx.request) == "string" and ctx.request or ""
    local l = lower(req)
    for _, h in ipairs(HOSTILE) do
        if find(l, h) then
            return { interpretation = "The customer asked for something that may put code, links or instructions on "
                         .. "the page; a person should read it.",
                     operations = wm.json.array { { kind = "needs_person",
                                                     reason = "the request mentions code, links or instructions" } } }
        end
    end
    local ops, said = {}, {}
    for _, c in ipairs(clauses(req)) do
        local op = clause_ops(c)
        if not op then
            op = { kind = "needs_person", reason = ("not a change we make automatically: %s"):format(c:sub(1, 200)) }
        end
        if #ops < 10 then
            ops[#ops + 1] = op
            said[#said + 1] = op.kind == "needs_person" and "something a person should look at"
                or op.kind == "text" and ("new wording for the " .. op.target)
                or op.kind == "contact" and ("a new " .. op.field)
                or op.kind == "colours" and ("the colours " .. (op.colour or op.primary))
                or op.kind == "add_section" and ("a new " .. op.section_kind .. " section")
                or op.kind == "remove_section" and ("removing the " .. op.section .. " section")
                or op.kind == "reorder_sections" and ("the " .. op.order[1] .. " section first")
                or "a different photo"
        end
    end
    if #ops == 0 then
        ops[1] = { kind = "needs_person", reason = "the request is empty" }
        said[1] = "nothing specific"
    end
    return { interpretation = "The customer asks for " .. table.concat(said, "; ") .. ".",
             operations = wm.json.array(ops) }
end

return _M
