-- A support ticket's operations applied by code to a copy of what a site is
-- rendered from, and the page rendered again (sites/render.lua escapes
-- every value and sanitises "html" sections, like every site). No LLM: the
-- support agent's operations say what to change, this says how.
--
--   site_edit.inputs(site) -> inputs | nil, err
--       inputs = { content = the architect's output, dna = creative DNA,
--                  brief = the director's, business = the businesses row }
--       (the stored outputs of the site's business: what sites.mark_live
--       renders a sold site from).
--   site_edit.apply(inputs, ops) -> new_inputs, changes | nil, reason
--       A copy with every operation applied; changes = sentences for
--       support_tickets.ai_changes_made. nil, reason (in words for a
--       person) when an operation cannot be done safely by code: the ticket
--       then needs a person. add_section needs its section (section = {...},
--       written by the architect: see needs_architect).
--   site_edit.needs_architect(ops) -> true when an operation needs new words
--       written (add_section without its section)
--   site_edit.merge_structural(content, ops, fresh) -> content
--       the add_section operations filled from `fresh` (an architect output
--       for the same business): what the offline architect answers to an edit.
--   site_edit.render(site, inputs) -> html | nil, err   (the live page, no banner)
--   site_edit.clean_fragment(html) -> html   (an html section from a change)
--   site_edit.KINDS, site_edit.TEXT_TARGETS, site_edit.COLOURS
local render = require "sites.render"
local schema = require "lib.schema"
local text = require "lib.text"

local type, ipairs, pairs, tostring = type, ipairs, pairs, tostring
local format = string.format

local _M = {}

_M.KINDS = { "text", "contact", "colours", "add_section", "remove_section", "reorder_sections", "swap_photo",
             "needs_person" }

-- Where a text operation may write: the architect output's plain-text
-- fields (with their schema limits, checked on the whole result).
_M.TEXT_TARGETS = { "title", "meta_description", "hero.headline", "hero.subheadline", "hero.cta_label",
                    "footer_note", "about.body", "contact.body", "services.heading", "about.heading",
                    "reviews.heading", "process.heading", "faq.heading", "contact.heading" }
local TEXT_TARGET = {}
for _, t in ipairs(_M.TEXT_TARGETS) do
    TEXT_TARGET[t] = true
end

-- Colour words people use, as a primary and an accent the palette builder
-- then fixes for contrast.
_M.COLOURS = {
    blue = { "#1d4ed8", "#f59e0b" }, navy = { "#1e3a8a", "#f59e0b" }, green = { "#15803d", "#facc15" },
    red = { "#b91c1c", "#f59e0b" }, orange = { "#c2410c", "#1d4ed8" }, purple = { "#6d28d9", "#f59e0b" },
    teal = { "#0f766e", "#f59e0b" }, pink = { "#be185d", "#0f766e" }, black = { "#111827", "#f59e0b" },
    brown = { "#7c4a1e", "#15803d" }, grey = { "#374151", "#0ea5e9" }, gray = { "#374151", "#0ea5e9" },
    yellow = { "#a16207", "#1d4ed8" }, gold = { "#a16207", "#1e3a8a" },
}

local SECTION_KIND = {}
for _, k in ipairs(require("agents.common").SECTION_KINDS) do
    SECTION_KIND[k] = true
end

local function copy(v)
    if type(v) ~= "table" then
        return v
    end
    local out = {}
    for k, x in pairs(v) do
        out[k] = copy(x)
    end
    return setmetatable(out, getmetatable(v))
end

local function decoded(v)
    if type(v) == "string" then
        local ok, t = pcall(wm.json.decode, v)
        return ok and type(t) == "table" and t or nil
    end
    return type(v) == "table" and v or nil
end

function _M.inputs(site)
    local b, err = wm.db.run_one("SELECT * FROM businesses WHERE id = $1", site.business_id)
    if not b then
        return nil, err or "the site's business is gone"
    end
    local rows
    rows, err = wm.db.run([[SELECT agent, output FROM agent_outputs WHERE business_id = $1
        AND agent IN ('concept', 'director', 'architect')]], b.id)
    if not rows then
        return nil, err
    end
    local out = {}
    for _, r in ipairs(rows) do
        out[r.agent] = decoded(r.output)
    end
    if not out.architect then
        return nil, "the site has no stored architect output to edit"
    end
    return { content = out.architect, dna = decoded(b.creative_dna ~= wm.null and b.creative_dna) or out.concept or {},
             brief = out.director, business = b }
end

-- New text from a customer: one value, no markup and no links (the page
-- would escape them, but a customer asking for either needs a person).
local function clean_value(v, max, single)
    if type(v) ~= "string" then
        return nil, "no new text was given"
    end
    v = text.trim(v)
    if v == "" then
        return nil, "the new text is empty"
    end
    if v:find("[<>]") or v:lower():find("%a+://") or v:lower():find("www%.") or v:lower():find("javascript:") then
        return nil, "the new text contains markup or a web address"
    end
    if single and v:find("[\r\n]") then
        v = v:gsub("%s*[\r\n]+%s*", " ")
    end
    if schema.ulen(v) > max then
        return nil, format("the new text is longer than %d characters", max)
    end
    return v
end

local function find_section(content, kind)
    for i, s in ipairs(content.sections or {}) do
        if s.kind == kind then
            return s, i
        end
    end
end

local LIMITS = { title = 60, meta_description = 160, ["hero.headline"] = 90, ["hero.subheadline"] = 300,
                 ["hero.cta_label"] = 30, footer_note = 200, ["about.body"] = 3000, ["contact.body"] = 800 }

local function apply_text(inp, op, changes)
    local target = op.target
    if not TEXT_TARGET[target] then
        return nil, "there is no such place on the page to change (" .. tostring(target) .. ")"
    end
    local v, why = clean_value(op.value, LIMITS[target] or 120, not target:find("%.body$"))
    if not v then
        return nil, why
    end
    local c = inp.content
    local head, field = target:match("^([%w_]+)%.([%w_]+)$")
    if head == "hero" then
        c.hero = c.hero or {}
        c.hero[field] = v
    elseif head then
        local s = find_section(c, head)
        if not s then
            return nil, "the page has no " .. head .. " section"
        end
        s[field] = v
    else
        c[target] = v
    end
    changes[#changes + 1] = format("%s set to \"%s\"", target, v)
    return true
end

local HOURS_PREFIX = "Opening hours: "

-- Every string in t (nested) with each plain occurrence of old made new.
local function replace_everywhere(t, old, new)
    for k, v in pairs(t) do
        if type(v) == "string" then
            local out, i = {}, 1
            while true do
                local a, b = v:find(old, i, true)
                if not a then
                    break
                end
                out[#out + 1], out[#out + 2] = v:sub(i, a - 1), new
                i = b + 1
            end
            if i > 1 then
                out[#out + 1] = v:sub(i)
                t[k] = table.concat(out)
            end
        elseif type(v) == "table" then
            replace_everywhere(v, old, new)
        end
    end
end

-- A North American number however it was typed ("512.555.0199",
-- "5125550199", "+1 512 555 0199") in the form the listings give them,
-- "(512) 555-0199", so the page reads the same before and after; any other
-- number stays as typed.
local function phone_display(v)
    if v:find("[^%d%s%+%-%.%(%)]") then
        return v
    end
    local digits = v:gsub("%D", "")
    local plus = v:match("^%s*%+") ~= nil
    if #digits == 11 and digits:sub(1, 1) == "1" then
        digits = digits:sub(2)
    elseif #digits ~= 10 or plus then
        return v
    end
    -- NANP: area code and exchange start 2-9.
    if not digits:match("^[2-9]%d%d[2-9]") then
        return v
    end
    return ("(%s) %s-%s"):format(digits:sub(1, 3), digits:sub(4, 6), digits:sub(7))
end

local function apply_contact(inp, op, changes)
    local field = op.field
    local v, why
    if field == "phone" then
        v, why = clean_value(op.value, 40, true)
        local digits = v and select(2, v:gsub("%d", ""))
        if v and (not v:match("^[%d%s%+%-%.%(%)]+$") or digits < 7 or digits > 15) then
            v, why = nil, "the phone number does not look like one"
        elseif v then
            v = phone_display(v)
        end
    elseif field == "email" then
        v, why = clean_value(op.value, 254, true)
        if v and not v:match("^[%w._%%+%-]+@[%w.%-]+%.%a%a+$") then
            v, why = nil, "the email address does not look like one"
        end
    elseif field == "address" then
        v, why = clean_value(op.value, 200, true)
    elseif field == "hours" then
        v, why = clean_value(op.value, 300, true)
    else
        return nil, "unknown contact detail " .. tostring(field)
    end
    if not v then
        return nil, why
    end
    if field == "hours" then
        local c = inp.content
        local s = find_section(c, "contact")
        if not s then
            s = { kind = "contact", heading = "Contact", body = HOURS_PREFIX .. v }
            c.sections[#c.sections + 1] = s
        else
            local kept = {}
            for para in (tostring(s.body or "") .. "\n\n"):gmatch("(.-)\n\n+") do
                if para ~= "" and para:sub(1, #HOURS_PREFIX) ~= HOURS_PREFIX then
                    kept[#kept + 1] = para
                end
            end
            kept[#kept + 1] = HOURS_PREFIX .. v
            s.body = table.concat(kept, "\n\n")
        end
    else
        -- The page reads these from the business's facts, and the
        -- architect's words quote them ("Call us at (512) 555-0100."): the
        -- old value there too, or the page would show both.
        local was = inp.business[field]
        if type(was) == "string" and #was >= 5 and was ~= v then
            replace_everywhere(inp.content, was, v)
        end
        inp.business[field] = v
        inp.business_changed = inp.business_changed or {}
        inp.business_changed[field] = v
    end
    changes[#changes + 1] = format("%s set to \"%s\"", field, v)
    return true
end

local function apply_colours(inp, op, changes)
    local primary, accent
    local name = type(op.colour) == "string" and op.colour:lower() or nil
    if name and _M.COLOURS[name] then
        primary, accent = _M.COLOURS[name][1], _M.COLOURS[name][2]
    elseif type(op.primary) == "string" and op.primary:match("^#%x%x%x%x%x%x$") then
        primary = op.primary:lower()
        accent = type(op.accent) == "string" and op.accent:match("^#%x%x%x%x%x%x$") and op.accent:lower() or nil
    else
        return nil, "the colour " .. tostring(op.colour or op.primary) .. " is not one we can apply by itself"
    end
    local dna = inp.dna
    dna.design_system = type(dna.design_system) == "table" and dna.design_system or {}
    dna.design_system.palette = type(dna.design_system.palette) == "table" and dna.design_system.palette or {}
    local pal = dna.design_system.palette
    pal.primary = primary
    if accent then
        pal.accent = accent
    end
    inp.dna_changed = true
    changes[#changes + 1] = format("colours: primary %s%s", primary, accent and (", accent " .. accent) or "")
    return true
end

local function apply_remove(inp, op, changes)
    local _, i = find_section(inp.content, op.section)
    if not i then
        return nil, "the page has no " .. tostring(op.section) .. " section"
    end
    table.remove(inp.content.sections, i)
    changes[#changes + 1] = "removed the " .. op.section .. " section"
    return true
end

local function apply_reorder(inp, op, changes)
    local order = type(op.order) == "table" and op.order or {}
    local out, used = {}, {}
    for _, k in ipairs(order) do
        local s = find_section(inp.content, k)
        if s and not used[k] then
            out[#out + 1], used[k] = s, true
        end
    end
    if #out == 0 then
        return nil, "the new order names none of the page's sections"
    end
    -- Sections the order leaves out keep their place after the named ones.
    for _, s in ipairs(inp.content.sections) do
        if not used[s.kind] then
            out[#out + 1] = s
        end
    end
    inp.content.sections = out
    local kinds = {}
    for i, s in ipairs(out) do
        kinds[i] = s.kind
    end
    changes[#changes + 1] = "sections reordered: " .. table.concat(kinds, ", ")
    return true
end

local function apply_add(inp, op, changes)
    local s = op.section
    if type(s) ~= "table" or not SECTION_KIND[s.kind] then
        return nil, "no content was written for the new section"
    end
    if find_section(inp.content, s.kind) then
        return nil, "the page already has a " .. s.kind .. " section"
    end
    local at = #inp.content.sections + 1
    if type(op.after) == "string" then
        local _, i = find_section(inp.content, op.after)
        at = i and i + 1 or at
    end
    s = copy(s)
    if s.kind == "html" and type(s.html) == "string" then
        s.html = _M.clean_fragment(s.html)
    end
    table.insert(inp.content.sections, at, s)
    changes[#changes + 1] = "added a " .. s.kind .. " section"
    return true
end

-- An html section's fragment from a change (a customer's, or staff's
-- edit): sanitised as the renderer sanitises every fragment, and with no
-- links on top (a change adds none: a request for one is a person's job).
function _M.clean_fragment(html)
    local clean = require("lib.sanitize").sanitize(html)
    return (clean:gsub("<a%f[%s>][^>]*>", ""):gsub("</a>", ""))
end

local APPLY = {
    text = apply_text, contact = apply_contact, colours = apply_colours, remove_section = apply_remove,
    reorder_sections = apply_reorder, add_section = apply_add,
    -- The page has no photographs (inline SVG only) until uploads are
    -- wired in: a photo request is a person's job.
    swap_photo = function() return nil, "the page has no photo to swap yet" end,
    needs_person = function(_, op) return nil, type(op.reason) == "string" and op.reason or "a person must do this" end,
}

function _M.apply(inputs, ops)
    if type(ops) ~= "table" or #ops == 0 then
        return nil, "nothing to change"
    end
    local inp = { content = copy(inputs.content), dna = copy(inputs.dna or {}), brief = inputs.brief,
                  business = copy(inputs.business) }
    inp.content.sections = inp.content.sections or {}
    local changes = {}
    for i, op in ipairs(ops) do
        local fn = type(op) == "table" and APPLY[op.kind]
        if not fn then
            return nil, format("operation %d: unknown kind %s", i, tostring(type(op) == "table" and op.kind))
        end
        local ok, why = fn(inp, op, changes)
        if not ok then
            return nil, why
        end
    end
    local arch = require "agents.architect"
    local valid, verr = schema.validate(arch.schema, inp.content)
    if not valid then
        return nil, "the changed page would not be valid: " .. verr
    end
    return inp, changes
end

function _M.needs_architect(ops)
    for _, op in ipairs(ops or {}) do
        if op.kind == "add_section" and type(op.section) ~= "table" then
            return true
        end
    end
    return false
end

function _M.merge_structural(content, ops, fresh)
    local out = copy(content)
    local edits = {}
    for _, op in ipairs(ops or {}) do
        if op.kind == "add_section" then
            local s = find_section(fresh or {}, op.section_kind)
            if s then
                edits[#edits + 1] = { kind = "add_section", section = s, after = op.after }
            end
        elseif op.kind == "remove_section" or op.kind == "reorder_sections" then
            edits[#edits + 1] = op
        end
    end
    out.sections = out.sections or {}
    local inp = { content = out, dna = {}, business = {} }
    for _, op in ipairs(edits) do
        APPLY[op.kind](inp, op, {})
    end
    return inp.content
end

function _M.render(site, inputs)
    return render.render {
        url = require("domain.sites").url(site.subdomain),
        business = inputs.business,
        dna = inputs.dna,
        brief = inputs.brief,
        content = inputs.content,
    }
end

return _M
