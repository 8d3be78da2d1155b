-- The architect's sections as the views templates/sections.lua renders:
-- each kind (services, about, reviews, process, faq, contact, html) read
-- from what the agent wrote, cut to its limits, empty ones left out; html
-- goes through lib.sanitize; an unknown kind is listed in info.ignored. A
-- page always ends up with one contact section, and it carries the
-- business's own details.
--
--   content.sections(content, biz, info) -> { view, ... }
--       view = { kind, id, heading, ... }; ids are the kind ("more" for
--       html), "-2", "-3" for repeats; info = { sanitized = {}, ignored = {} }
--   content.stars(rating) -> "★★★★☆"
local html = require "lib.html"
local sanitize = require "lib.sanitize"
local text = require "lib.text"
local input = require "sites.input"

local type, tostring, ipairs = type, tostring, ipairs
local floor, min, max = math.floor, math.min, math.max
local match, lower, upper = string.match, string.lower, string.upper

local _M = {}

local tbl, arr, num = input.tbl, input.arr, input.num
local line, paragraphs = text.line, text.paragraphs

local function stars(r)
    local full = floor(r + 0.5)
    full = max(0, min(5, full))
    return string.rep("★", full) .. string.rep("☆", 5 - full)
end
_M.stars = stars

local DEFAULT_HEADING = {
    services = "Services", about = "About us", reviews = "What customers say", process = "How it works",
    faq = "Questions and answers", contact = "Contact",
}

function _M.sections(content, biz, info)
    local out = {}
    local seen = {}
    local have_contact = false
    for _, s in ipairs(arr(content.sections)) do
        s = tbl(s)
        local kind = type(s.kind) == "string" and lower(s.kind) or ""
        local v
        if kind == "services" then
            local items = {}
            for _, it in ipairs(arr(s.items)) do
                it = tbl(it)
                local name = line(it.name, 120)
                if name and #items < 9 then
                    local initial = match(name, "^[%z\1-\127\194-\244][\128-\191]*") or "•"
                    items[#items + 1] = { name = name, description = line(it.description, 400) or false,
                        initial = upper(initial) }
                end
            end
            if #items > 0 then
                v = { items = items, intro = line(s.intro, 400) or false }
            end
        elseif kind == "about" then
            local ps = paragraphs(s.body, 1200, 5)
            if #ps > 0 then
                v = { paragraphs = ps }
            end
        elseif kind == "reviews" then
            local items = {}
            for _, it in ipairs(arr(s.items)) do
                it = tbl(it)
                local text = line(it.text, 600)
                if text and #items < 6 then
                    local r = num(it.rating)
                    if r then
                        r = max(1, min(5, floor(r + 0.5)))
                    end
                    items[#items + 1] = { text = text, author = line(it.author, 80) or "A customer",
                        stars = r and stars(r) or false, rating = r and tostring(r) or "" }
                end
            end
            if #items > 0 then
                v = { items = items }
            end
        elseif kind == "process" then
            local steps = {}
            for _, it in ipairs(arr(s.steps or s.items)) do
                it = tbl(it)
                local title = line(it.title or it.name, 120)
                if title and #steps < 6 then
                    steps[#steps + 1] = { title = title, description = line(it.description, 400) or false }
                end
            end
            if #steps > 0 then
                v = { steps = steps }
            end
        elseif kind == "faq" then
            local items = {}
            for _, it in ipairs(arr(s.items)) do
                it = tbl(it)
                local q, a = line(it.question, 200), line(it.answer, 700)
                if q and a and #items < 8 then
                    items[#items + 1] = { question = q, answer = a }
                end
            end
            if #items > 0 then
                v = { items = items }
            end
        elseif kind == "contact" then
            if not have_contact then
                have_contact = true
                v = { paragraphs = paragraphs(s.body, 800, 3) }
            end
        elseif kind == "html" then
            if type(s.html) == "string" and #out < 20 then
                local safe, report = sanitize.sanitize(s.html, { heading_base = 2, max_bytes = 20000 })
                if report.changed then
                    info.sanitized[#info.sanitized + 1] = report
                end
                if match(safe, "%S") then
                    v = { html = safe }
                end
            end
        elseif kind ~= "" then
            info.ignored[#info.ignored + 1] = text.clip(html.clean(kind), 40)
        end
        if v then
            seen[kind] = (seen[kind] or 0) + 1
            local base = kind == "html" and "more" or kind
            v.id = seen[kind] > 1 and (base .. "-" .. seen[kind]) or base
            v.kind = kind
            v.heading = line(s.heading, 160) or DEFAULT_HEADING[kind] or ""
            out[#out + 1] = v
        end
    end
    if not have_contact then
        out[#out + 1] = { kind = "contact", id = seen.contact and "contact-2" or "contact",
            heading = DEFAULT_HEADING.contact, paragraphs = {} }
    end
    -- The contact block always carries the business's details.
    for _, v in ipairs(out) do
        if v.kind == "contact" then
            v.name = biz.name
            v.address_lines = biz.address_lines
            v.phone = biz.phone or false
            v.email = biz.email or false
        end
    end
    return out
end

return _M
