-- The offline LLM: a rule-based author that answers each agent with the JSON
-- a model would write, derived from the business (name, trade, city, rating,
-- its real review texts) and the earlier agents' outputs, through a small
-- per-trade knowledge table (offline_knowledge.lua). The same business always
-- gets the same answer; different businesses get different ones (choices and
-- colour jitter are seeded by the business id).
--
--   offline.complete{agent=, system=, messages=, max_tokens=, model=, context=}
--       -> {text=, stop_reason=, model=, usage={input_tokens, output_tokens,
--           cache_creation_input_tokens, cache_read_input_tokens}, request_id=}
--        | nil, err, info
--
-- It behaves like the real API where it matters to the code around it:
-- usage is estimated at about 4 characters per token; the system prompt is
-- "cached" (written on first use, read for 5 minutes after, at least
-- llm.offline_cache_min_tokens = 512 tokens); an answer longer than
-- max_tokens is cut there with stop_reason "max_tokens".
--
-- Misbehaviour on demand, for tests and drills: context.simulate (a mode, or
-- {agent = mode}), else config llm.simulate or env WM_LLM_SIMULATE ("mode" or
-- "agent:mode,agent:mode"). Modes: truncated (stop_reason max_tokens, JSON cut
-- short), malformed (prose and invalid JSON), placeholder (valid shape,
-- generic text), refusal, fenced (valid JSON inside ```json fences after
-- prose), empty, overloaded (a retryable error with retry_after = 1).
local common = require "agents.common"
local K = require "providers.llm.offline_knowledge"

local type, ipairs, tostring, tonumber, error, select = type, ipairs, tostring, tonumber, error, select
local floor, ceil, min, max = math.floor, math.ceil, math.min, math.max
local concat, sort, insert = table.concat, table.sort, table.insert
local format, gsub, lower, upper, match, find, sub = string.format, string.gsub, string.lower, string.upper,
    string.match, string.find, string.sub

local _M = { _VERSION = "0.1", name = "offline" }

local NULL = wm.null

local function present(v)
    return v ~= nil and v ~= NULL and v ~= ""
end

-- ---- seeded choices ------------------------------------------------------------------------

local function hnum(key)
    return tonumber(sub(wm.crypto.sha256_hex(key), 1, 8), 16)
end

-- A number in [0, 1) fixed by `key`.
local function unit(key)
    return hnum(key) / 4294967296
end

local function pick(list, key)
    return list[(hnum(key) % #list) + 1]
end

-- `list` in an order fixed by `key` (a copy).
local function shuffled(list, key)
    local out = {}
    for i, v in ipairs(list) do
        out[i] = v
    end
    for i = #out, 2, -1 do
        local j = (hnum(key .. ":" .. i) % i) + 1
        out[i], out[j] = out[j], out[i]
    end
    return out
end

-- ---- text helpers -------------------------------------------------------------------------

local function trim(s)
    return (match(s, "^%s*(.-)%s*$"))
end

-- At most `n` bytes, cut at a word boundary, never inside a UTF-8 sequence.
local function cut(s, n)
    if #s <= n then
        return s
    end
    local c = sub(s, 1, n)
    c = gsub(c, "[\192-\255][\128-\191]*$", "")
    local w = match(c, "^(.*%S)%s+%S*$")
    if w and #w >= n * 0.5 then
        c = w
    end
    return (gsub(c, "[%s,;:%-]+$", ""))
end

local function cap(s)
    return (gsub(s, "^%l", upper))
end

-- {name}-style slots filled in one pass (values are never re-scanned).
local function fill(s, vars)
    return (gsub(s, "{(%w+)}", function(k)
        return vars[k] or ""
    end))
end

local function esc(s)
    return (gsub(s, "[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                                   ["'"] = "&#39;" }))
end

-- ---- colour jitter ------------------------------------------------------------------------------

local function hex_to_rgb(h)
    return tonumber(sub(h, 2, 3), 16) / 255, tonumber(sub(h, 4, 5), 16) / 255, tonumber(sub(h, 6, 7), 16) / 255
end

local function rgb_to_hsl(r, g, b)
    local mx, mn = max(r, g, b), min(r, g, b)
    local l = (mx + mn) / 2
    if mx == mn then
        return 0, 0, l
    end
    local d = mx - mn
    local s = l > 0.5 and d / (2 - mx - mn) or d / (mx + mn)
    local h
    if mx == r then
        h = (g - b) / d + (g < b and 6 or 0)
    elseif mx == g then
        h = (b - r) / d + 2
    else
        h = (r - g) / d + 4
    end
    return h / 6, s, l
end

local function hsl_to_hex(h, s, l)
    local function hue(p, q, t)
        if t < 0 then t = t + 1 end
        if t > 1 then t = t - 1 end
        if t < 1 / 6 then return p + (q - p) * 6 * t end
        if t < 1 / 2 then return q end
        if t < 2 / 3 then return p + (q - p) * (2 / 3 - t) * 6 end
        return p
    end
    local r, g, b
    if s == 0 then
        r, g, b = l, l, l
    else
        local q = l < 0.5 and l * (1 + s) or l + s - l * s
        local p = 2 * l - q
        r, g, b = hue(p, q, h + 1 / 3), hue(p, q, h), hue(p, q, h - 1 / 3)
    end
    local function c(x)
        return max(0, min(255, floor(x * 255 + 0.5)))
    end
    return format("#%02x%02x%02x", c(r), c(g), c(b))
end

-- Hue within ±12°, saturation ±8%, lightness ±5%: the same family of colour,
-- a shade of its own per business.
local function jitter(hex, key)
    local h, s, l = rgb_to_hsl(hex_to_rgb(hex))
    h = (h + (unit(key .. ":h") - 0.5) * (24 / 360)) % 1
    s = max(0, min(1, s + (unit(key .. ":s") - 0.5) * 0.16))
    l = max(0.12, min(0.88, l + (unit(key .. ":l") - 0.5) * 0.10))
    return hsl_to_hex(h, s, l)
end

-- ---- the business ---------------------------------------------------------------------------------

local function trade_of(b)
    local cat = lower((type(b.category) == "string" and b.category or "") .. " "
        .. (type(b.subcategory) == "string" and b.subcategory or ""))
    for _, t in ipairs(K.trades) do
        for _, m in ipairs(t.match) do
            if find(cat, m, 1, true) then
                return t
            end
        end
    end
    return K.generic
end
_M.trade_of = trade_of

local function facts(ctx)
    local b = type(ctx.business) == "table" and ctx.business or {}
    local name = present(b.name) and common.clip(tostring(b.name), 120) or "this business"
    local city = present(b.city) and common.clip(tostring(b.city), 60) or nil
    local state = present(b.state) and common.clip(tostring(b.state), 30) or nil
    local rating = tonumber(b.rating)
    local count = tonumber(b.review_count)
    local t = trade_of(b)
    return {
        b = b,
        trade = t,
        key = tostring(present(b.id) and b.id or (present(b.gmb_id) and b.gmb_id) or name),
        name = name,
        city = city,
        state = state,
        where = city and (state and (city .. ", " .. state) or city) or nil,
        rating = rating and rating > 0 and rating <= 5 and rating or nil,
        count = count and count > 0 and floor(count) or nil,
        phone = present(b.phone) and common.clip(tostring(b.phone), 40) or nil,
        address = present(b.address) and common.clip(tostring(b.address), 200) or nil,
        reviews = common.reviews(ctx.reviews, 50),
        vars = { name = name, city = city or "town", trade = t.trade, short = t.short },
    }
end

-- "a plumber", "an electrician".
local function a_n(word)
    return (match(lower(word), "^[aeiou]") and "an " or "a ") .. word
end

local function rating_text(f)
    if f.rating and f.count then
        return format("%.1f stars from %d review%s", f.rating, f.count, f.count == 1 and "" or "s")
    elseif f.rating then
        return format("%.1f stars", f.rating)
    end
    return nil
end

-- ---- analyst ------------------------------------------------------------------------------------

local function theme_counts(reviews)
    local counts, phrases, seen = {}, {}, {}
    for _, r in ipairs(reviews) do
        local text = lower(r.text)
        for _, th in ipairs(K.themes) do
            local hit = false
            for _, w in ipairs(th.words) do
                local s = find(text, w, 1, true)
                if s and (s == 1 or not match(sub(text, s - 1, s - 1), "%w"))
                    and not match(sub(text, s + #w, s + #w), "%w") then
                    hit = true
                    if not seen[w] then
                        seen[w] = true
                        phrases[#phrases + 1] = w
                    end
                end
            end
            if hit then
                counts[th.key] = (counts[th.key] or 0) + 1
            end
        end
    end
    -- "fair" adds nothing when "fair price" is there.
    local kept = {}
    for _, p in ipairs(phrases) do
        local inside = false
        for _, q in ipairs(phrases) do
            if q ~= p and find(q, p, 1, true) then
                inside = true
            end
        end
        if not inside then
            kept[#kept + 1] = p
        end
    end
    phrases = kept
    local ranked = {}
    for i, th in ipairs(K.themes) do
        if counts[th.key] then
            ranked[#ranked + 1] = { theme = th, n = counts[th.key], i = i }
        end
    end
    sort(ranked, function(a, b)
        if a.n ~= b.n then
            return a.n > b.n
        end
        return a.i < b.i
    end)
    return ranked, phrases
end

local function sentences(text)
    local out = {}
    for s in gsub(text, "([%.!%?]+)%s+", "%1\n"):gmatch("[^\n]+") do
        out[#out + 1] = trim(s)
    end
    return out
end

local schema_mod = require "lib.schema"

-- The sentence of a good review that says the most, verbatim.
local function highlight(f, ranked)
    local best, best_score
    for ri, r in ipairs(f.reviews) do
        if not r.rating or r.rating >= 4 then
            for si, s in ipairs(sentences(r.text)) do
                local words = select(2, gsub(s, "%S+", ""))
                if words >= 5 and #s <= 200 and not schema_mod.placeholder(s) then
                    local score = (r.rating or 4) + (#s >= 40 and #s <= 140 and 3 or 0)
                    local ls = lower(s)
                    for _, rk in ipairs(ranked) do
                        for _, w in ipairs(rk.theme.words) do
                            if find(ls, w, 1, true) then
                                score = score + 2
                                break
                            end
                        end
                    end
                    score = score + unit(f.key .. ":hl:" .. ri .. ":" .. si)
                    if not best_score or score > best_score then
                        best, best_score = s, score
                    end
                end
            end
        end
    end
    if not best then
        for _, r in ipairs(f.reviews) do
            if not schema_mod.placeholder(r.text) and select(2, gsub(r.text, "%S+", "")) >= 4 then
                best = r.text
                break
            end
        end
    end
    if best then
        best = cut(best, 160)
        best = gsub(best, "^[\"“']+", "")
        best = gsub(best, "[\"”']+$", "")
        return best
    end
    local rt = rating_text(f)
    if rt then
        return "Rated " .. rt .. (f.city and (" in " .. f.city) or "")
    end
    return "Recommended by customers" .. (f.city and (" in " .. f.city) or "")
end

function _M.analyst(ctx)
    local f = facts(ctx)
    local t = f.trade
    local ranked, phrases = theme_counts(f.reviews)
    local archetype
    if ranked[1] and ranked[1].n >= 2 then
        archetype = ranked[1].theme.archetype
    elseif ranked[1] then
        for _, a in ipairs(t.archetypes) do
            if a == ranked[1].theme.archetype then
                archetype = a
            end
        end
    end
    archetype = archetype or pick(t.archetypes, f.key .. ":archetype")

    local hl = highlight(f, ranked)
    local summary = {}
    if #f.reviews > 0 and ranked[1] then
        summary[#summary + 1] = format("Customers of %s most often praise %s%s.", f.name, ranked[1].theme.label,
            ranked[2] and ("; many also mention " .. ranked[2].theme.label) or "")
        if ranked[3] then
            summary[#summary + 1] = format("Several single out %s.", ranked[3].theme.label)
        end
    elseif #f.reviews > 0 then
        summary[#summary + 1] = format("Customers of %s describe %s they are glad to have found%s.", f.name,
            a_n(t.trade), f.city and (" in " .. f.city) or "")
    else
        summary[#summary + 1] = format("%s is %s%s. No review texts were available, so this reading rests on the rating alone.",
            f.name, a_n(t.trade), f.city and (" in " .. f.city) or "")
    end
    local rt = rating_text(f)
    if rt then
        summary[#summary + 1] = format("The business holds %s.", rt)
    end

    local strengths = {}
    for i = 1, min(4, #ranked) do
        strengths[#strengths + 1] = ranked[i].theme.strength
    end
    if f.rating and f.rating >= 4.5 then
        strengths[#strengths + 1] = format("Rated %.1f stars by its customers", f.rating)
    end
    if #strengths < 3 and f.city then
        strengths[#strengths + 1] = format("A local %s serving %s", t.short, f.city)
    end
    if #strengths < 3 then
        strengths[#strengths + 1] = format("Focused on %s", t.short)
    end

    local language = {}
    for i = 1, min(8, #phrases) do
        language[i] = phrases[i]
    end
    if #language == 0 then
        language[1] = t.short .. (f.city and (" in " .. f.city) or "")
    end

    return {
        reviews_summary = cut(concat(summary, " "), 1200),
        review_highlight = hl,
        brand_archetype = archetype,
        strengths = wm.json.array(strengths),
        customer_language = wm.json.array(language),
    }
end

-- ---- concept ------------------------------------------------------------------------------------

function _M.concept(ctx)
    local f = facts(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or _M.analyst(ctx)
    local archetype = analyst.brand_archetype
    local ok = false
    for _, a in ipairs(common.ARCHETYPES) do
        ok = ok or a == archetype
    end
    if not ok then
        archetype = pick(t.archetypes, f.key .. ":archetype")
    end
    local base = pick(t.palettes, f.key .. ":palette")
    local palette = {
        primary = jitter(base.primary, f.key .. ":primary"),
        secondary = jitter(base.secondary, f.key .. ":secondary"),
        accent = jitter(base.accent, f.key .. ":accent"),
        background = base.background,
        surface = base.surface,
        text = base.text,
    }
    local pair = pick(t.fonts, f.key .. ":fonts")
    local radius = max(0, min(28, t.radius + (hnum(f.key .. ":radius") % 7) - 3))
    return {
        archetype = archetype,
        angle = cut(fill(pick(t.angles, f.key .. ":angle"), f.vars), 200),
        visual_theme = pick(t.themes, f.key .. ":theme"),
        tone_of_voice = K.tones[archetype] or "Warm, clear, honest",
        design_system = {
            palette = palette,
            fonts = { heading = K.fonts[pair[1]], body = K.fonts[pair[2]] },
            radius = format("%dpx", radius),
            density = K.density[archetype] or "balanced",
        },
    }
end

-- ---- director -----------------------------------------------------------------------------------

local MOTIFS = {
    { "wave", "soft waves rolling across the hero" }, { "water", "soft waves rolling across the hero" },
    { "bubble", "floating circles and bubbles" }, { "circle", "overlapping circles" },
    { "arc", "a rising arc like the sun" }, { "curve", "sweeping arcs and curves" },
    { "tile", "a tidy grid of tiles" }, { "grid", "a clean grid of blocks" }, { "block", "bold stacked blocks" },
}

function _M.director(ctx)
    local f = facts(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or _M.analyst(ctx)
    local concept = common.output(ctx.concept) or _M.concept(ctx)
    local archetype = concept.archetype or analyst.brand_archetype
    local has_reviews = #f.reviews > 0

    local sections
    if t.key == "bakery" or t.key == "restaurant" then
        sections = { "about", "services", "faq", "contact" }
        if has_reviews then
            insert(sections, 3, "reviews")
        end
    else
        sections = { "services", "about", "process", "faq", "contact" }
        if has_reviews then
            if f.rating and f.rating >= 4.8 and #f.reviews >= 3 then
                insert(sections, 1, "reviews")
            else
                insert(sections, 3, "reviews")
            end
        end
    end
    if #sections < 7 and unit(f.key .. ":html") < 0.5 then
        insert(sections, #sections, "html")
    end

    local motif
    local theme = lower(type(concept.visual_theme) == "string" and concept.visual_theme or "")
    for _, m in ipairs(MOTIFS) do
        if find(theme, m[1], 1, true) then
            motif = m[2]
            break
        end
    end
    motif = motif or pick({ "overlapping circles", "soft waves", "bold stacked blocks", "a rising arc" },
        f.key .. ":motif")

    local lang = {}
    for i, p in ipairs(type(analyst.customer_language) == "table" and analyst.customer_language or {}) do
        if i <= 3 then
            lang[#lang + 1] = '"' .. p .. '"'
        end
    end
    local tone = concept.tone_of_voice or K.tones[archetype] or "warm and clear"
    local notes = format("Sound %s.", lower(tone))
    if #lang > 0 then
        notes = notes .. format(" Borrow the customers' own words (%s) rather than marketing language.",
            concat(lang, ", "))
    end
    local strengths = type(analyst.strengths) == "table" and analyst.strengths or {}
    local dos = {
        "Lead with what customers praise most" .. (strengths[1] and (": " .. lower(strengths[1])) or ""),
        "Keep the phone number one tap away on every screen",
    }
    if f.city then
        dos[#dos + 1] = "Mention " .. f.city .. " where it helps visitors know they are in the right place"
    end
    return {
        layout = K.layouts[archetype] or "split: words beside a simple shape",
        sections = wm.json.array(sections),
        hero = {
            headline_idea = cut(type(concept.angle) == "string" and concept.angle
                or fill(t.angles[1], f.vars), 200),
            visual_motif = motif,
        },
        tone_notes = cut(notes, 600),
        ["do"] = wm.json.array(dos),
        dont = wm.json.array({
            "Promise prices, guarantees or licences the data does not show",
            "Use stock phrases that would fit any business",
            "Put exclamation marks in headings",
        }),
    }
end

-- ---- architect ------------------------------------------------------------------------------------

local function title_for(f)
    local t = f.trade
    local short = t.short == "HVAC" and "HVAC" or cap(t.short)
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
        if schema_mod.ulen(s) <= 60 then
            return s
        end
    end
    return cut(f.name, 60)
end

local function review_items(f)
    local good = {}
    for i, r in ipairs(f.reviews) do
        if (not r.rating or r.rating >= 4) and not schema_mod.placeholder(r.text)
            and not schema_mod.placeholder(r.author or "") and select(2, gsub(r.text, "%S+", "")) >= 4 then
            good[#good + 1] = { r = r, score = #r.text + unit(f.key .. ":rv:" .. i) * 50 }
        end
    end
    sort(good, function(a, b) return a.score > b.score end)
    local items = {}
    for i = 1, min(4, #good) do
        local r = good[i].r
        local rating = r.rating and max(1, min(5, floor(r.rating + 0.5))) or (f.rating and floor(f.rating + 0.5)) or 5
        items[#items + 1] = {
            author = (r.author and r.author ~= "") and cut(r.author, 80) or "A customer",
            rating = max(1, min(5, rating)),
            text = cut(r.text, 560),
        }
    end
    return items
end

function _M.architect(ctx)
    local f = facts(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or _M.analyst(ctx)
    local concept = common.output(ctx.concept) or _M.concept(ctx)
    local brief = common.output(ctx.director) or _M.director(ctx)
    local order = type(brief.sections) == "table" and brief.sections or { "services", "about", "contact" }
    local rt = rating_text(f)
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
            local list = shuffled(t.services, f.key .. ":services")
            local n = min(#list, 4 + hnum(f.key .. ":nsvc") % 3)
            local items = {}
            for i = 1, n do
                items[i] = { name = list[i].name, description = fill(list[i].description, f.vars) }
            end
            s = { kind = "services", heading = pick(food and { "On the menu", "What we make", "Come in for" }
                or { "Services", "What we do", "How we can help" }, f.key .. ":svh"), items = wm.json.array(items) }
        elseif kind == "about" then
            local ps = {}
            ps[1] = format("%s is %s%s.%s", f.name, a_n(t.trade), f.where and (" in " .. f.where) or "",
                rt and (" Customers rate it " .. rt .. ".") or "")
            if type(analyst.reviews_summary) == "string" then
                -- The summary without its rating sentence (the first paragraph has it).
                local kept = {}
                for _, sn in ipairs(sentences(analyst.reviews_summary)) do
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
            s = { kind = "about", heading = cut("About " .. f.name, 120), body = concat(ps, "\n\n") }
        elseif kind == "reviews" then
            local items = review_items(f)
            if #items > 0 then
                s = { kind = "reviews", heading = pick({ "What customers say", "In our customers' words",
                    "Reviews from our neighbours" }, f.key .. ":rvh"), items = wm.json.array(items) }
            end
        elseif kind == "process" then
            local steps = {}
            for i, st in ipairs(t.process) do
                steps[i] = { title = st.title, description = fill(st.description, f.vars) }
            end
            s = { kind = "process", heading = pick({ "How it works", "What to expect", "From first call to done" },
                f.key .. ":prh"), steps = wm.json.array(steps) }
        elseif kind == "faq" then
            local items = {}
            for i, q in ipairs(t.faq) do
                items[i] = { question = fill(q.question, f.vars), answer = fill(q.answer, f.vars) }
            end
            s = { kind = "faq", heading = pick({ "Questions and answers", "Frequently asked questions",
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
            s = { kind = "contact", heading = pick({ "Get in touch", "Contact us", "Talk to us" }, f.key .. ":cth"),
                body = concat(body, " ") }
        elseif kind == "html" then
            local city = esc(f.city or "our area")
            local html
            if food then
                html = format("<h3>Good to know</h3><ul><li>Everything is made fresh in %s</li>"
                    .. "<li>Call ahead for large orders</li></ul>", city)
            else
                html = format("<h3>Where we work</h3><p>We serve <strong>%s</strong> and the neighbourhoods "
                    .. "around it.</p><ul><li>Homes and small businesses</li><li>Call to check your street</li></ul>",
                    city)
            end
            s = { kind = "html", html = html }
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
    local meta_s = cut(concat(meta), 160)
    if schema_mod.ulen(meta_s) < 20 then
        meta_s = meta_s .. " Call or visit us today."
    end
    local headline = type(brief.hero) == "table" and brief.hero.headline_idea or concept.angle or f.name
    local sub_bits = { cap(t.trade) .. (f.where and (" in " .. f.where) or "") }
    if rt then
        sub_bits[#sub_bits + 1] = "rated " .. rt
    end
    local cta = f.phone and (food and "Call to order" or "Call now") or (food and "Visit us" or "Get in touch")
    return {
        title = title_for(f),
        meta_description = meta_s,
        hero = {
            headline = cut(headline, 90),
            subheadline = cut(concat(sub_bits, ", ") .. ". " .. (strengths[1] and (strengths[1] .. ".") or ""), 300),
            cta_label = cta,
        },
        sections = wm.json.array(sections),
        footer_note = cut("Proudly serving " .. (f.where or "our neighbours") .. ".", 200),
    }
end

-- ---- email composer -----------------------------------------------------------------------------

function _M.email_composer(ctx)
    local f = facts(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or _M.analyst(ctx)
    local variant = type(ctx.variants) == "table" and ctx.variants.approach or nil
    local short_name = cut(f.name, 40)
    local subjects = {
        format("A website for %s, built from your reviews", short_name),
        format("%s: your customers wrote your website", short_name),
        format("I made %s a website from its reviews", short_name),
    }
    local subject = pick(subjects, f.key .. ":subject")
    if schema_mod.ulen(subject) > 78 then
        subject = "A website built from your reviews"
    end
    local quote = type(analyst.review_highlight) == "string" and analyst.review_highlight or nil
    local rt = rating_text(f)
    local who = "I work with WebMagic, a small studio that builds websites for local businesses that customers "
        .. "love but that have no site of their own."
    local built = format("We turned what your customers say into a one-page website for %s, with your services%s "
        .. "and an easy way to reach you.", f.name, #f.reviews > 0 and ", their reviews" or "")
    local close = "It is ready to look at now. There is nothing to pay and nothing to sign: if you like it, reply "
        .. "and we will tell you how to make it yours. If not, you will not hear from us again."
    local paragraphs
    if variant == "b" then
        paragraphs = {
            format("A website for %s is ready for you to look at, made for your customers%s.", f.name,
                f.city and (" in " .. f.city) or ""),
            built .. " " .. who,
            close,
        }
    else
        local opener
        if quote and #f.reviews > 0 then
            opener = format("\"%s\" is what one of your customers wrote about %s%s.", quote, f.name,
                rt and (", and your reviews add up to " .. rt) or "")
        elseif rt then
            opener = format("%s has %s%s, which is rare.", f.name, rt, f.city and (" in " .. f.city) or "")
        else
            opener = format("Your customers%s clearly think highly of %s.", f.city and (" in " .. f.city) or "",
                f.name)
        end
        paragraphs = { opener, who .. " " .. built, close }
    end
    return {
        subject = subject,
        preview_text = cut(format("We built a preview website for %s from what its customers wrote. Take a look.", short_name), 140),
        greeting = cut(format("Hello %s team,", short_name), 120),
        paragraphs = wm.json.array(paragraphs),
        cta_label = pick({ "See your website", "Take a look", "View the preview" }, f.key .. ":cta"),
        sign_off = pick({ "Best regards,", "Thanks for reading,", "All the best," }, f.key .. ":signoff"),
    }
end

-- ---- misbehaviour -----------------------------------------------------------------------------------

local PLACEHOLDERS = {
    analyst = function(o)
        o.reviews_summary = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Business Name is great."
    end,
    concept = function(o)
        o.angle = "Business Name: quality service you can trust"
    end,
    director = function(o)
        o.tone_notes = "TODO: write the tone notes for this business."
    end,
    architect = function(o)
        o.title = "Business Name | [Your City]"
        o.hero.headline = "Welcome to [Your Business]"
    end,
    email_composer = function(o)
        o.greeting = "Hi [Your Name],"
        o.subject = "A new website for Business Name"
    end,
}

local function simulate_mode(agent, ctx)
    local sim = ctx and ctx.simulate
    if sim == nil then
        local cfg = (wm.config and wm.config.llm) or {}
        sim = cfg.simulate
        if sim == nil or sim == "" then
            sim = os.getenv("WM_LLM_SIMULATE")
        end
    end
    if type(sim) == "table" then
        return sim[agent]
    end
    if type(sim) ~= "string" or sim == "" then
        return nil
    end
    if find(sim, ":", 1, true) then
        for part in gsub(sim, "%s", ""):gmatch("[^,]+") do
            local a, m = match(part, "^([%w_]+):([%w_]+)$")
            if a == agent then
                return m
            end
        end
        return nil
    end
    return sim
end

-- ---- usage accounting -----------------------------------------------------------------------------

local cache = {}          -- model .. system hash -> expiry (seconds)
local CACHE_TTL = 300

local function tokens(n)
    return max(1, ceil(n / 4))
end

local function message_chars(messages)
    local n = 0
    for _, m in ipairs(messages or {}) do
        if type(m.content) == "string" then
            n = n + #m.content
        elseif type(m.content) == "table" then
            for _, blk in ipairs(m.content) do
                if type(blk) == "table" and type(blk.text) == "string" then
                    n = n + #blk.text
                end
            end
        end
    end
    return n
end

local function usage_for(opts, out_text)
    local cfg = (wm.config and wm.config.llm) or {}
    local min_cache = tonumber(cfg.offline_cache_min_tokens) or 512
    local sys = type(opts.system) == "string" and opts.system or ""
    local sys_tokens = #sys > 0 and tokens(#sys) or 0
    local msg_tokens = tokens(message_chars(opts.messages)) + 7 * #(opts.messages or {})
    local u = { input_tokens = msg_tokens, output_tokens = tokens(#out_text),
                cache_creation_input_tokens = 0, cache_read_input_tokens = 0 }
    if sys_tokens >= min_cache then
        local key = tostring(opts.model) .. ":" .. wm.crypto.sha256_hex(sys)
        local now = wm.now()
        if cache[key] and cache[key] > now then
            u.cache_read_input_tokens = sys_tokens
        else
            u.cache_creation_input_tokens = sys_tokens
        end
        cache[key] = now + CACHE_TTL
    else
        u.input_tokens = u.input_tokens + sys_tokens
    end
    return u
end

-- Forget the simulated prompt cache (tests).
function _M.reset_cache()
    cache = {}
end

-- ---- the call ---------------------------------------------------------------------------------------

local AUTHORS = {
    analyst = _M.analyst, concept = _M.concept, director = _M.director, architect = _M.architect,
    email_composer = _M.email_composer,
}

function _M.complete(opts)
    if type(opts) ~= "table" or type(opts.agent) ~= "string" then
        error("usage: offline.complete{agent=, system=, messages=, max_tokens=, model=, context=}", 2)
    end
    local author = AUTHORS[opts.agent]
    if not author then
        return nil, "fatal: the offline provider has no author for agent " .. opts.agent, {}
    end
    local ctx = type(opts.context) == "table" and opts.context or {}
    local mode = simulate_mode(opts.agent, ctx)
    local model = opts.model or "offline"
    local request_id = "offline_" .. sub(wm.crypto.sha256_hex(tostring(opts.system) .. common.json(opts.messages or {})), 1, 20)
    if mode == "overloaded" then
        return nil, "retryable: overloaded_error: simulated overload (529)", { status = 529, retry_after = 1 }
    end

    local out = author(ctx)
    if mode == "placeholder" and PLACEHOLDERS[opts.agent] then
        PLACEHOLDERS[opts.agent](out)
    end
    local text = common.json(out)
    local stop = "end_turn"
    local max_tokens = tonumber(opts.max_tokens) or 4096

    if mode == "truncated" then
        text = sub(text, 1, floor(#text * 0.6))
        stop = "max_tokens"
    elseif mode == "malformed" then
        text = "Here is the JSON you asked for:\n" .. gsub(text, '"([%w_]+)":', "'%1': ") .. ",\n}"
    elseif mode == "fenced" then
        text = "Sure! Here is the result.\n\n```json\n" .. text .. "\n```\n\nLet me know if you want changes."
    elseif mode == "refusal" then
        text = "I can't help with that request."
        stop = "refusal"
    elseif mode == "empty" then
        text = ""
    end

    local usage = usage_for(opts, text)
    if stop == "max_tokens" then
        usage.output_tokens = max_tokens
    elseif usage.output_tokens > max_tokens then
        -- Like the real thing: the answer stops at max_tokens.
        text = sub(text, 1, max_tokens * 4)
        usage.output_tokens = max_tokens
        stop = "max_tokens"
    end
    return {
        text = text,
        stop_reason = stop,
        model = model,
        usage = usage,
        request_id = request_id,
    }
end

return _M
