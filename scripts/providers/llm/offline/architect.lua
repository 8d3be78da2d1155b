-- The offline architect: the page's words, section by section in the
-- director's order (services, about, the best reviews verbatim, process,
-- faq, contact, a small html block), plus title, meta description and hero.
--
--   architect.answer(ctx) -> the architect agent's output (agents/architect.lua)
local common = require "agents.common"
local html = require "lib.html"
local schema = require "lib.schema"
local text = require "lib.text"
local choice = require "providers.llm.offline.choice"
local facts = require "providers.llm.offline.facts"
local answer_analyst = require("providers.llm.offline.analyst").answer
local answer_concept = require("providers.llm.offline.concept").answer
local answer_director = require("providers.llm.offline.director").answer

local type, ipairs, select = type, ipairs, select
local floor, min, max = math.floor, math.min, math.max
local concat, sort = table.concat, table.sort
local format, gsub, lower, find, sub = string.format, string.gsub, string.lower, string.find, string.sub

local _M = {}


local function title_for(f)
    local t = f.trade
    local short = t.short == "HVAC" and "HVAC" or text.capitalize(t.short)
    local tries = {}
    if f.city and f.state then
        tries[#tries + 1] = format("%s — %s in %s, %s", f.name, short, f.city, f.state)
    end
    if f.city then
        tries[#tries + 1] = format("%s — %s in %s", f.name, short, f.city)
        tries[#tries + 1] = format("%s — %s", f.name, f.city)
    end
    tries[#tries + 1] = format("%s — %s", f.name, short)
    for _, s in ipairs(tries) do
        if schema.ulen(s) <= 60 then
            return s
        end
    end
    return text.shorten(f.name, 60)
end

local function review_items(f)
    local good = {}
    for i, r in ipairs(f.reviews) do
        if (not r.rating or r.rating >= 4) and not schema.placeholder(r.text)
            and not schema.placeholder(r.author or "") and select(2, gsub(r.text, "%S+", "")) >= 4 then
            good[#good + 1] = { r = r, score = #r.text + choice.unit(f.key .. ":rv:" .. i) * 50 }
        end
    end
    sort(good, function(a, b) return a.score > b.score end)
    local items = {}
    for i = 1, min(4, #good) do
        local r = good[i].r
        local rating = r.rating and max(1, min(5, floor(r.rating + 0.5))) or (f.rating and floor(f.rating + 0.5)) or 5
        items[#items + 1] = {
            author = (r.author and r.author ~= "") and text.shorten(r.author, 80) or "A customer",
            rating = max(1, min(5, rating)),
            text = text.shorten(r.text, 560),
        }
    end
    return items
end

function _M.answer(ctx)
    local f = facts.of(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or answer_analyst(ctx)
    local concept = common.output(ctx.concept) or answer_concept(ctx)
    local brief = common.output(ctx.director) or answer_director(ctx)
    local order = type(brief.sections) == "table" and brief.sections or { "services", "about", "contact" }
    -- A support ticket's edit: the sections it asks to add are written too.
    if type(ctx.edit) == "table" and type(ctx.edit.operations) == "table" then
        order = { unpack(order) }
        for _, op in ipairs(ctx.edit.operations) do
            if op.kind == "add_section" and type(op.section_kind) == "string" then
                order[#order + 1] = op.section_kind
            end
        end
    end
    local rt = facts.rating_text(f)
    local strengths = type(analyst.strengths) == "table" and analyst.strengths or {}
    local food = t.key == "bakery" or t.key == "restaurant"

    local sections = {}
    local seen = {}
    for _, kind in ipairs(order) do
        local s
        if seen[kind] then
            kind = nil
        end
        if kind == "services" then
            local list = choice.shuffled(t.services, f.key .. ":services")
            local n = min(#list, 4 + choice.int(f.key .. ":nsvc") % 3)
            local items = {}
            for i = 1, n do
                items[i] = { name = list[i].name, description = facts.fill(list[i].description, f.vars) }
            end
            s = { kind = "services", heading = choice.pick(food and { "On the menu", "What we make", "Come in for" }
                or { "Services", "What we do", "How we can help" }, f.key .. ":svh"), items = wm.json.array(items) }
        elseif kind == "about" then
            local ps = {}
            ps[1] = format("%s is %s%s.%s", f.name, facts.with_article(t.trade), f.where and (" in " .. f.where) or "",
                rt and (" Customers rate it " .. rt .. ".") or "")
            if type(analyst.reviews_summary) == "string" then
                -- The summary without its rating sentence (the first paragraph has it).
                local kept = {}
                for _, sn in ipairs(text.sentences(analyst.reviews_summary)) do
                    if not find(sn, "^The business holds ") then
                        kept[#kept + 1] = sn
                    end
                end
                if #kept > 0 then
                    ps[2] = concat(kept, " ")
                end
            end
            if #strengths > 0 then
                local list = {}
                for i = 1, min(3, #strengths) do
                    list[i] = lower(sub(strengths[i], 1, 1)) .. sub(strengths[i], 2)
                end
                ps[#ps + 1] = "What people notice first: " .. concat(list, "; ") .. "."
            end
            s = { kind = "about", heading = text.shorten("About " .. f.name, 120), body = concat(ps, "\n\n") }
        elseif kind == "reviews" then
            local items = review_items(f)
            if #items > 0 then
                s = { kind = "reviews", heading = choice.pick({ "What customers say", "In our customers' words",
                    "Reviews from our neighbours" }, f.key .. ":rvh"), items = wm.json.array(items) }
            end
        elseif kind == "process" then
            local steps = {}
            for i, st in ipairs(t.process) do
                steps[i] = { title = st.title, description = facts.fill(st.description, f.vars) }
            end
            s = { kind = "process", heading = choice.pick({ "How it works", "What to expect", "From first call to done" },
                f.key .. ":prh"), steps = wm.json.array(steps) }
        elseif kind == "faq" then
            local items = {}
            for i, q in ipairs(t.faq) do
                items[i] = { question = facts.fill(q.question, f.vars), answer = facts.fill(q.answer, f.vars) }
            end
            s = { kind = "faq", heading = choice.pick({ "Questions and answers", "Frequently asked questions",
                "Before you call" }, f.key .. ":fqh"), items = wm.json.array(items) }
        elseif kind == "contact" then
            local body = {}
            body[1] = f.phone and format("Call us at %s%s.", f.phone,
                food and " to order ahead or book a table" or " and tell us what you need")
                or "Get in touch and tell us what you need."
            if f.address then
                body[2] = "You can find us at " .. f.address .. "."
            elseif f.city then
                body[2] = "We serve " .. f.city .. " and the surrounding area."
            end
            s = { kind = "contact", heading = choice.pick({ "Get in touch", "Contact us", "Talk to us" }, f.key .. ":cth"),
                body = concat(body, " ") }
        elseif kind == "html" then
            local city = html.escape(f.city or "our area")
            local markup
            if food then
                markup = format("<h3>Good to know</h3><ul><li>Everything is made fresh in %s</li>"
                    .. "<li>Call ahead for large orders</li></ul>", city)
            else
                markup = format("<h3>Where we work</h3><p>We serve <strong>%s</strong> and the neighbourhoods "
                    .. "around it.</p><ul><li>Homes and small businesses</li><li>Call to check your street</li></ul>",
                    city)
            end
            s = { kind = "html", html = markup }
        end
        if s then
            seen[kind] = true
            sections[#sections + 1] = s
        end
    end
    if not seen.contact then
        sections[#sections + 1] = { kind = "contact", heading = "Get in touch",
            body = f.phone and ("Call us at " .. f.phone .. ".") or "Get in touch and tell us what you need." }
    end

    local meta = { f.name, " — ", t.short, f.where and (" in " .. f.where) or "", "." }
    if rt then
        meta[#meta + 1] = " Rated " .. rt .. "."
    end
    if strengths[1] then
        meta[#meta + 1] = " " .. strengths[1] .. "."
    end
    local meta_s = text.shorten(concat(meta), 160)
    if schema.ulen(meta_s) < 20 then
        meta_s = meta_s .. " Call or visit us today."
    end
    local headline = type(brief.hero) == "table" and brief.hero.headline_idea or concept.angle or f.name
    local sub_bits = { text.capitalize(t.trade) .. (f.where and (" in " .. f.where) or "") }
    if rt then
        sub_bits[#sub_bits + 1] = "rated " .. rt
    end
    local cta = f.phone and (food and "Call to order" or "Call now") or (food and "Visit us" or "Get in touch")
    return {
        title = title_for(f),
        meta_description = meta_s,
        hero = {
            headline = text.shorten(headline, 90),
            subheadline = text.shorten(concat(sub_bits, ", ") .. ". " .. (strengths[1] and (strengths[1] .. ".") or ""), 300),
            cta_label = cta,
        },
        sections = wm.json.array(sections),
        footer_note = text.shorten("Proudly serving " .. (f.where or "our neighbours") .. ".", 200),
    }
end

return _M
