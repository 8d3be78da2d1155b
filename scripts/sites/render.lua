-- The site renderer: the agents' outputs in, one self-contained page out.
--
--   render.render(input) -> html, info | nil, err
--   input = {
--     business = { name, slug, phone, email, address, city, state, zip_code,
--                  latitude, longitude, category, rating, review_count },
--     dna      = creative_dna { archetype, angle, visual_theme, tone_of_voice,
--                  design_system = { palette = { primary, secondary, accent,
--                  background, surface, text } ("#rrggbb"), fonts = { heading,
--                  body }, radius, density } },
--     brief    = design_brief { layout, sections, hero = { headline_idea,
--                  visual_motif }, tone_notes, do, dont },
--     content  = architect output { title, meta_description, hero = { headline,
--                  subheadline, cta_label }, sections = { {kind="services"|
--                  "about"|"reviews"|"process"|"faq"|"contact"|"html", ...} },
--                  footer_note },
--     preview  = { banner = true, claim_url = "/claim/<token>" | nil },
--     url      = the site's own address for JSON-LD (optional; by default
--                wm.config.sites.site_url_pattern with the business's slug),
--     lang     = "en" (default) | another BCP 47 tag such as "es" or "es-GT"
--                (the page's own fixed words stay English),
--   }
--   info = { bytes = n, dropped = { "faq", ... }, sanitized = { report, ... },
--            fixed = { "text colour", ... } }
--   Tables may also arrive as JSON strings (jsonb columns); wm.null is nil.
--
--   render.csp() -> the Content-Security-Policy the server sends with sites.
--   render.MAX_BYTES = 30720
--
-- The page: HTML5, one h1, landmarks (header/nav/main/footer, the preview
-- banner an aside), headings in order, inline <style> only (palette from
-- validated #rrggbb colours, contrast fixed to at least 4.5:1), JSON-LD
-- LocalBusiness, no script, no event handler, no external request (no web
-- fonts, no images but inline SVG), a tel: and a mailto: link when the
-- business has them. Over MAX_BYTES, optional sections are dropped (html,
-- faq, process, reviews, about, services, in that order) and listed in
-- info.dropped; if it is still too large, nil, "page too large".
local html = require "lib.html"
local template = require "lib.template"
local sanitize = require "lib.sanitize"

local type, tostring, tonumber, ipairs, pairs, error = type, tostring, tonumber, ipairs, pairs, error
local floor, min, max = math.floor, math.min, math.max
local format, gsub, match, lower, upper, sub, find, concat =
    string.format, string.gsub, string.match, string.lower, string.upper, string.sub, string.find, table.concat

local _M = { _VERSION = "0.1", MAX_BYTES = 30720 }

local NULL = rawget(_G, "wm") and wm.null or nil

local CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    .. "form-action 'self'; frame-ancestors 'none'"

function _M.csp()
    return CSP
end

-- ---- input cleaning ----

local function present(v)
    return v ~= nil and v ~= NULL
end

local function tbl(v)
    if type(v) == "table" then
        return v
    end
    if type(v) == "string" and match(v, "^%s*[%[{]") then
        local ok, t = pcall(wm.json.decode, v)
        if ok and type(t) == "table" then
            return t
        end
    end
    return {}
end

local function arr(v)
    v = tbl(v)
    local out = {}
    for _, x in ipairs(v) do
        out[#out + 1] = x
    end
    return out
end

-- One line: clean UTF-8, whitespace collapsed, cut to max bytes.
local function line(v, maxb)
    if type(v) == "number" then
        v = tostring(v)
    end
    if type(v) ~= "string" then
        return nil
    end
    local s = gsub(html.clean(v), "%s+", " ")
    s = match(s, "^ *(.-) *$")
    if s == "" then
        return nil
    end
    return html.truncate(s, maxb or 300, "…")
end

-- Paragraphs: split on blank lines, each collapsed to one line.
local function paragraphs(v, maxb, maxn)
    if type(v) == "table" then
        local out = {}
        for _, x in ipairs(v) do
            for _, p in ipairs(paragraphs(x, maxb, maxn)) do
                if #out < (maxn or 6) then
                    out[#out + 1] = p
                end
            end
        end
        return out
    end
    if type(v) ~= "string" then
        return {}
    end
    local s = gsub(html.clean(v), "\r\n?", "\n")
    local out = {}
    for chunk in (s .. "\n\n"):gmatch("(.-)\n%s*\n") do
        local p = line(chunk, maxb or 1200)
        if p and #out < (maxn or 6) then
            out[#out + 1] = p
        end
    end
    return out
end

-- ---- colours ----

local function hex_ok(c)
    return type(c) == "string" and match(c, "^#%x%x%x%x%x%x$") ~= nil
end

local function rgb(c)
    return tonumber(sub(c, 2, 3), 16), tonumber(sub(c, 4, 5), 16), tonumber(sub(c, 6, 7), 16)
end

local function to_hex(r, g, b)
    local function cl(x)
        return max(0, min(255, floor(x + 0.5)))
    end
    return format("#%02x%02x%02x", cl(r), cl(g), cl(b))
end

local function luminance(c)
    local r, g, b = rgb(c)
    local function ch(x)
        x = x / 255
        return x <= 0.04045 and x / 12.92 or ((x + 0.055) / 1.055) ^ 2.4
    end
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
end

local function contrast(a, b)
    local la, lb = luminance(a), luminance(b)
    if la < lb then
        la, lb = lb, la
    end
    return (la + 0.05) / (lb + 0.05)
end
_M.contrast = contrast

local function mix(a, b, t)
    local r1, g1, b1 = rgb(a)
    local r2, g2, b2 = rgb(b)
    return to_hex(r1 + (r2 - r1) * t, g1 + (g2 - g1) * t, b1 + (b2 - b1) * t)
end

-- fg moved towards black or white until it reaches `ratio` against every
-- colour in bgs (the smallest change that does; black or white at worst).
local function ensure(fg, bgs, ratio)
    local function ok(c)
        for _, bg in ipairs(bgs) do
            if contrast(c, bg) < ratio then
                return false
            end
        end
        return true
    end
    if ok(fg) then
        return fg, false
    end
    for step = 1, 10 do
        local t = step / 10
        local dark, light = mix(fg, "#000000", t), mix(fg, "#ffffff", t)
        if ok(dark) then
            return dark, true
        end
        if ok(light) then
            return light, true
        end
    end
    -- Against several backgrounds even black or white may not do: take
    -- whichever is best.
    local best, bestc = "#000000", 0
    for _, c in ipairs({ "#000000", "#ffffff", "#111111" }) do
        local worst = math.huge
        for _, bg in ipairs(bgs) do
            worst = min(worst, contrast(c, bg))
        end
        if worst > bestc then
            best, bestc = c, worst
        end
    end
    return best, true
end

local DEFAULT_PALETTE = {
    primary = "#1d4ed8", secondary = "#0f766e", accent = "#f59e0b",
    background = "#ffffff", surface = "#f4f6fa", text = "#111827",
}

local function palette(ds, fixed)
    local p = tbl(ds.palette)
    local out = {}
    for k, def in pairs(DEFAULT_PALETTE) do
        local v = p[k]
        if type(v) == "string" then
            v = lower(match(v, "^%s*(.-)%s*$"))
        end
        if hex_ok(v) then
            out[k] = v
        else
            out[k] = def
            if present(p[k]) then
                fixed[#fixed + 1] = "palette." .. k .. " not #rrggbb: default used"
            end
        end
    end
    local changed
    -- Body text on the page background, then on the surface (which must
    -- stay close enough to the background for that).
    -- A failing text colour is pushed well past the minimum (7:1): a grey
    -- that only just passes reads as washed out.
    if contrast(out.text, out.background) < 4.5 then
        out.text, changed = ensure(out.text, { out.background }, 7)
    end
    if changed then
        fixed[#fixed + 1] = "text colour darkened/lightened for contrast"
    end
    if contrast(out.text, out.surface) < 4.5 then
        local s = out.surface
        for step = 1, 10 do
            s = mix(out.surface, out.background, step / 10)
            if contrast(out.text, s) >= 4.5 then
                break
            end
        end
        out.surface = s
        fixed[#fixed + 1] = "surface colour moved towards the background for contrast"
    end
    local bgs = { out.background, out.surface }
    out.muted = ensure(mix(out.text, out.background, 0.28), bgs, 4.5)
    out.link = ensure(out.primary, bgs, 4.5)
    -- Buttons: primary with white or near-black text, whichever reads better;
    -- the primary shifts if neither reaches 4.5.
    local btn = out.primary
    local fg = contrast("#ffffff", btn) >= contrast("#111111", btn) and "#ffffff" or "#111111"
    btn = ensure(btn, { fg }, 4.5)
    out.btn_bg, out.btn_fg = btn, fg
    out.line = mix(out.text, out.background, 0.85)
    out.star = ensure(out.accent, bgs, 3)
    -- The band hero: a gradient of the primary and a deeper shade of it, with
    -- text that has 4.5 against both ends.
    local b1 = btn
    local b2 = fg == "#ffffff" and mix(b1, "#000000", 0.25) or mix(b1, "#ffffff", 0.25)
    out.band_1, out.band_2, out.band_fg = b1, b2, fg
    if contrast(fg, b2) < 4.5 then
        out.band_2 = b1
    end
    return out
end

-- ---- fonts, radius, density ----

local STACKS = {
    sans = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
    serif = "Georgia, Cambria, 'Times New Roman', Times, serif",
    rounded = "ui-rounded, 'SF Pro Rounded', 'Hiragino Maru Gothic ProN', system-ui, sans-serif",
    mono = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
    slab = "Rockwell, 'Roboto Slab', 'DejaVu Serif', Georgia, serif",
    humanist = "Seravek, 'Gill Sans Nova', Ubuntu, Calibri, 'DejaVu Sans', source-sans-pro, sans-serif",
    geometric = "Avenir, Montserrat, Corbel, 'URW Gothic', source-sans-pro, sans-serif",
}
local GENERIC = { serif = true, ["sans-serif"] = true, monospace = true, cursive = true, fantasy = true,
    ["system-ui"] = true, ["ui-serif"] = true, ["ui-sans-serif"] = true, ["ui-monospace"] = true,
    ["ui-rounded"] = true }

-- A font-family value from the concept agent: either a stack name above,
-- or a list of family names made only of letters, digits, spaces and
-- hyphens (quoted or not). Anything else gets the default. The result is
-- rebuilt from the parts, so nothing but [%w %-,'] reaches the CSS.
local function font_stack(v, default)
    if type(v) ~= "string" then
        return default
    end
    local s = match(v, "^%s*(.-)%s*$")
    local ls = lower(s)
    if STACKS[ls] then
        return STACKS[ls]
    elseif ls == "system" or ls == "system-ui" or ls == "default" or ls == "sans-serif" then
        return STACKS.sans
    end
    if #s > 200 or s == "" then
        return default
    end
    local fams, generic = {}, false
    for part in (s .. ","):gmatch("([^,]*),") do
        part = match(part, "^%s*(.-)%s*$")
        local q = match(part, "^'([%w %-]+)'$") or match(part, '^"([%w %-]+)"$')
        local name = q or part
        if not match(name, "^[%w][%w %-]*$") or #name > 40 then
            return default
        end
        name = match(name, "^(.-)%s*$")
        if GENERIC[lower(name)] then
            generic = true
            fams[#fams + 1] = lower(name)
        elseif find(name, " ", 1, true) then
            fams[#fams + 1] = "'" .. name .. "'"
        else
            fams[#fams + 1] = name
        end
        if #fams > 8 then
            return default
        end
    end
    if #fams == 0 then
        return default
    end
    if not generic then
        local d = lower(s)
        fams[#fams + 1] = (find(d, "serif", 1, true) and not find(d, "sans", 1, true)) and "serif" or "sans-serif"
    end
    return concat(fams, ", ")
end
_M.font_stack = font_stack

local RADIUS_WORDS = { none = 0, sharp = 0, square = 0, subtle = 4, small = 4, soft = 8, medium = 10,
    rounded = 12, round = 12, large = 18, pill = 24, full = 24 }

local function radius(v)
    local px
    if type(v) == "number" then
        px = v
    elseif type(v) == "string" then
        local s = lower(match(v, "^%s*(.-)%s*$"))
        local n, unit = match(s, "^(%d+%.?%d*)%s*(%a*)$")
        n = tonumber(n)
        if n and (unit == "" or unit == "px") then
            px = n
        elseif n and unit == "rem" then
            px = n * 16
        else
            px = RADIUS_WORDS[s] or (match(s, "pill") and 24) or (match(s, "round") and 12)
                or (match(s, "sharp") and 0)
        end
    end
    if type(px) ~= "number" or px ~= px then
        px = 10
    end
    return floor(max(0, min(px, 28)) + 0.5)
end

local function density(v)
    local s = type(v) == "string" and lower(v) or ""
    if find(s, "compact", 1, true) or find(s, "dense", 1, true) or find(s, "tight", 1, true) then
        return "3.2rem"
    elseif find(s, "spacious", 1, true) or find(s, "airy", 1, true) or find(s, "generous", 1, true) then
        return "6rem"
    end
    return "4.5rem"
end

-- ---- business fields ----

local function phone_of(v)
    local s = line(v, 40)
    if not s then
        return nil
    end
    local digits = gsub(s, "[^%d]", "")
    if #digits < 7 or #digits > 15 then
        return nil
    end
    local plus = match(s, "^%s*%+") and "+" or ""
    if plus == "" and #digits == 10 then
        plus, digits = "+1", digits          -- NANP without the country code
    elseif plus == "" and #digits == 11 and sub(digits, 1, 1) == "1" then
        plus = "+"
    end
    -- Non-breaking spaces and hyphens keep the number on one line.
    local display = gsub(gsub(s, " ", "\194\160"), "%-", "\226\128\145")
    return { tel = "tel:" .. plus .. digits, display = display }
end

local function email_of(v)
    local s = line(v, 254)
    if not s or #s > 254 then
        return nil
    end
    if not match(s, "^[%w._%%+%-]+@[%w%-]+%.[%w.%-]+$") or find(s, "..", 1, true) then
        return nil
    end
    return { mailto = "mailto:" .. s, address = s }
end

local function num(v)
    local n = tonumber(v)
    if n and n == n and n ~= math.huge and n ~= -math.huge then
        return n
    end
    return nil
end

local function stars(r)
    local full = floor(r + 0.5)
    full = max(0, min(5, full))
    return string.rep("★", full) .. string.rep("☆", 5 - full)
end

local function titlecase(s)
    return (gsub(s, "^(%l)", upper))
end

local function slug_of(b)
    local s = type(b.slug) == "string" and b.slug or (type(b.name) == "string" and b.name or "")
    s = gsub(lower(s), "[^a-z0-9%-]", "-")
    s = gsub(gsub(gsub(s, "%-+", "-"), "^%-", ""), "%-$", "")
    return sub(s, 1, 63)
end

-- ---- hero art (inline SVG, decorative) ----

local ART = {
    circles = '<svg viewBox="0 0 400 400" focusable="false"><circle class="a1" cx="250" cy="150" r="150"/>'
        .. '<circle class="a2" cx="120" cy="280" r="90"/><circle class="a3" cx="260" cy="170" r="190"/></svg>',
    waves = '<svg viewBox="0 0 400 400" focusable="false"><path class="a1" d="M0 200 C80 140 160 260 240 200'
        .. ' S360 140 400 180 L400 250 C340 210 300 320 220 270 S70 220 0 280Z"/><path class="a2" d="M0 300'
        .. ' C90 250 170 350 260 300 S370 260 400 280 L400 330 C330 300 280 380 200 340 S60 320 0 350Z"/>'
        .. '<path class="a3" d="M0 150 C90 90 170 210 260 150 S370 100 400 130"/></svg>',
    blocks = '<svg viewBox="0 0 400 400" focusable="false"><rect class="a1" x="150" y="30" width="220"'
        .. ' height="220" rx="28"/><rect class="a2" x="60" y="190" width="150" height="150" rx="20"/>'
        .. '<rect class="a3" x="110" y="80" width="250" height="250" rx="36"/></svg>',
    arcs = '<svg viewBox="0 0 400 400" focusable="false"><path class="a1" d="M400 0 A300 300 0 0 0 100 300'
        .. ' L400 300Z"/><circle class="a2" cx="300" cy="110" r="70"/><path class="a3" d="M60 380 A320 320 0'
        .. ' 0 1 380 60"/></svg>',
}
local ART_ORDER = { "circles", "waves", "blocks", "arcs" }

local function pick(list, key)
    local h = 0
    for i = 1, #key do
        h = (h * 31 + key:byte(i)) % 2147483647
    end
    return list[(h % #list) + 1]
end

local function art_for(dna, brief, key)
    local words = lower(table.concat({
        type(dna.visual_theme) == "string" and dna.visual_theme or "",
        type(tbl(brief.hero).visual_motif) == "string" and tbl(brief.hero).visual_motif or "",
    }, " "))
    if find(words, "wave", 1, true) or find(words, "water", 1, true) or find(words, "flow", 1, true) then
        return ART.waves
    elseif find(words, "block", 1, true) or find(words, "geometric", 1, true) or find(words, "tile", 1, true)
        or find(words, "grid", 1, true) then
        return ART.blocks
    elseif find(words, "arc", 1, true) or find(words, "sun", 1, true) or find(words, "curve", 1, true) then
        return ART.arcs
    elseif find(words, "circle", 1, true) or find(words, "bubble", 1, true) or find(words, "dot", 1, true) then
        return ART.circles
    end
    return ART[pick(ART_ORDER, key)]
end

local function hero_style(brief, key)
    local l = lower(type(brief.layout) == "string" and brief.layout or "")
    if find(l, "center", 1, true) or find(l, "centre", 1, true) then
        return "center"
    elseif find(l, "split", 1, true) or find(l, "side", 1, true) then
        return "split"
    elseif find(l, "band", 1, true) or find(l, "bold", 1, true) or find(l, "full", 1, true) then
        return "band"
    end
    return pick({ "split", "center", "band" }, key)
end

-- ---- sections ----

local DEFAULT_HEADING = {
    services = "Services", about = "About us", reviews = "What customers say", process = "How it works",
    faq = "Questions and answers", contact = "Contact",
}
local NAV_LABEL = {
    services = "Services", about = "About", reviews = "Reviews", process = "How it works", faq = "FAQ",
    contact = "Contact",
}
local DROP_ORDER = { "html", "faq", "process", "reviews", "about", "services" }

local function build_sections(content, biz, info)
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
            info.ignored[#info.ignored + 1] = html.truncate(html.clean(kind), 40)
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

-- ---- the page ----

local function render_page(view, sections, drop)
    local T = require "sites.templates.sections"
    local parts, nav = {}, {}
    for _, s in ipairs(sections) do
        if not drop[s.kind] then
            parts[#parts + 1] = template.render(T[s.kind], s)
            if NAV_LABEL[s.kind] and not match(s.id, "%-%d+$") then
                nav[#nav + 1] = { id = s.id, label = NAV_LABEL[s.kind] }
            end
        end
    end
    view.sections = concat(parts)
    view.nav = nav
    view.has_nav = #nav > 0
    return template.render(require "sites.templates.page", view)
end

function _M.render(input)
    if type(input) ~= "table" then
        error("usage: render.render{business=, dna=, brief=, content=, preview=}", 2)
    end
    local b = tbl(input.business)
    local dna = tbl(input.dna)
    local brief = tbl(input.brief)
    local content = tbl(input.content)
    local preview = tbl(input.preview)
    local info = { dropped = {}, sanitized = {}, fixed = {}, ignored = {} }

    local name = line(b.name, 300)
    if not name then
        return nil, "business name missing"
    end
    local key = slug_of(b) ~= "" and slug_of(b) or name

    -- Business details.
    local street = line(b.address, 200)
    local city, state, zip = line(b.city, 100), line(b.state, 60), line(b.zip_code, 20)
    local locality = concat({ city or "", state and ((city and ", " or "") .. state) or "",
        zip and (" " .. zip) or "" })
    locality = match(locality, "^%s*(.-)%s*$")
    local address_lines = {}
    if street then
        address_lines[#address_lines + 1] = street
    end
    if locality ~= "" and not (street and city and find(lower(street), lower(city), 1, true)) then
        address_lines[#address_lines + 1] = locality
    end
    local phone = phone_of(b.phone)
    local email = email_of(b.email)
    local category = line(b.category, 80)
    local rating = num(b.rating)
    local reviews = num(b.review_count)
    if rating and (rating < 0 or rating > 5) then
        rating = nil
    end
    if reviews then
        reviews = floor(reviews)
        if reviews < 0 then
            reviews = nil
        end
    end
    local biz = { name = name, phone = phone, email = email, address_lines = address_lines }

    -- Design.
    local ds = tbl(dna.design_system)
    local pal = palette(ds, info.fixed)
    local fonts = tbl(ds.fonts)
    local f_body = font_stack(fonts.body, STACKS.sans)
    local f_head = font_stack(fonts.heading, f_body)
    local r = radius(ds.radius)
    local css_vars = concat({
        ":root{",
        "--primary:", pal.primary, ";--secondary:", pal.secondary, ";--accent:", pal.accent,
        ";--bg:", pal.background, ";--surface:", pal.surface, ";--text:", pal.text,
        ";--muted:", pal.muted, ";--link:", pal.link, ";--line:", pal.line, ";--star:", pal.star,
        ";--btn-bg:", pal.btn_bg, ";--btn-fg:", pal.btn_fg,
        ";--band-1:", pal.band_1, ";--band-2:", pal.band_2, ";--band-fg:", pal.band_fg,
        ";--font-body:", f_body, ";--font-heading:", f_head,
        ";--radius:", tostring(r), "px;--radius-btn:", tostring(r >= 20 and 999 or r), "px",
        ";--space:", density(ds.density), "}",
    })
    local css = css_vars .. require "sites.templates.style"
    -- Defence in depth: nothing in the stylesheet may end the element.
    if find(css, "<", 1, true) then
        return nil, "stylesheet contains '<'"
    end

    -- Words.
    local hero = tbl(content.hero)
    local title = line(content.title, 300) or (category and (name .. " — " .. titlecase(category)
        .. (city and (" in " .. city) or ""))) or name
    -- At most 70 characters as written in the source (validators count the
    -- escaped text: "&amp;" is five).
    local function src_len(x)
        local _, n = gsub(html.escape(x), "[^\128-\191]", "")
        return n
    end
    local cut = 69
    while src_len(title) > 70 and cut > 10 do
        title = html.truncate(title, cut, "…")
        cut = cut - 4
    end
    local description = line(content.meta_description, 300)
    if not description then
        local bits = { name }
        if category then
            bits[#bits + 1] = " — " .. category
        end
        if city then
            bits[#bits + 1] = " in " .. city .. (state and (", " .. state) or "")
        end
        if rating and reviews and reviews > 0 then
            bits[#bits + 1] = format(". Rated %.1f from %d reviews", rating, reviews)
        end
        description = html.truncate(concat(bits) .. ".", 300, "…")
    end
    local headline = line(hero.headline, 160) or line(tbl(brief.hero).headline_idea, 160)
        or (category and titlecase(category) .. (city and (" in " .. city) or "")) or "Welcome"
    local cta_label = line(hero.cta_label, 60) or (phone and "Call now") or "Get in touch"

    -- JSON-LD.
    local url = type(input.url) == "string" and input.url or nil
    if url and (html.url(url) ~= url or not match(url, "^https?://")) then
        url = nil
    end
    if not url then
        local pat = ((wm.config or {}).sites or {}).site_url_pattern
        local slug = slug_of(b)
        if type(pat) == "string" and find(pat, "%s", 1, true) and slug ~= "" then
            url = format(pat, slug)
        end
    end
    local ld = { ["@context"] = "https://schema.org", ["@type"] = "LocalBusiness", name = name }
    if url then
        ld.url = url
    end
    if description then
        ld.description = description
    end
    if street or city or state or zip then
        local addr = { ["@type"] = "PostalAddress" }
        addr.streetAddress = street
        addr.addressLocality = city
        addr.addressRegion = state
        addr.postalCode = zip
        ld.address = addr
    end
    if phone then
        ld.telephone = sub(phone.tel, 5)
    end
    if email then
        ld.email = email.address
    end
    local lat, lng = num(b.latitude), num(b.longitude)
    if lat and lng and lat >= -90 and lat <= 90 and lng >= -180 and lng <= 180 then
        ld.geo = { ["@type"] = "GeoCoordinates", latitude = lat, longitude = lng }
    end
    if rating and reviews and reviews > 0 then
        ld.aggregateRating = { ["@type"] = "AggregateRating", ratingValue = floor(rating * 10 + 0.5) / 10,
            reviewCount = reviews, bestRating = 5, worstRating = 1 }
    end

    local lang = type(input.lang) == "string" and match(input.lang, "^%a%a%a?$") or
        (type(input.lang) == "string" and match(input.lang, "^%a%a%a?%-%w%w%w?%w?$")) or "en"
    local view = {
        lang = lang,
        title = title,
        description = description,
        noindex = preview.banner == true,
        theme_color = pal.btn_bg,
        css = css,
        json_ld = html.json_ld(ld),
        name = name,
        hero_style = hero_style(brief, key),
        art = art_for(dna, brief, key),
        headline = headline,
        subheadline = line(hero.subheadline, 300) or false,
        rating = (rating and reviews and reviews > 0) and {
            stars = stars(rating),
            text = format("%.1f out of 5 from %d review%s", rating, reviews, reviews == 1 and "" or "s"),
        } or false,
        cta_href = phone and phone.tel or "#contact",
        -- A tel: link's text should not wrap (and a button's need not).
        cta_label = phone and gsub(cta_label, " ", "\194\160") or cta_label,
        secondary = false,
        address_line = #address_lines > 0 and concat(address_lines, ", ") or false,
        footer_note = line(content.footer_note, 300) or false,
        phone = phone or false,
        email = email or false,
        year = os.date("!%Y", floor(wm.now())),
        preview = preview.banner == true and {
            claim_href = type(preview.claim_url) == "string" and html.url(preview.claim_url) ~= "#"
                and html.url(preview.claim_url) or false,
        } or false,
    }

    local sections = build_sections(content, biz, info)
    local has = {}
    for _, s in ipairs(sections) do
        has[s.kind] = true
    end
    if has.services then
        view.secondary = { href = "#services", label = "Our services" }
    elseif phone then
        view.secondary = { href = "#contact", label = "Find us" }
    end
    if not phone then
        view.cta_href = "#contact"
    end

    local drop = {}
    local page = render_page(view, sections, drop)
    for _, kind in ipairs(DROP_ORDER) do
        if #page <= _M.MAX_BYTES then
            break
        end
        if has[kind] then
            drop[kind] = true
            info.dropped[#info.dropped + 1] = kind
            if kind == "services" and view.secondary and view.secondary.href == "#services" then
                view.secondary = false
            end
            page = render_page(view, sections, drop)
        end
    end
    if #page > _M.MAX_BYTES then
        return nil, format("page too large (%d bytes, limit %d)", #page, _M.MAX_BYTES)
    end
    if #info.dropped > 0 then
        wm.log.warn("site page over the size limit: optional sections dropped",
            { business = name, dropped = concat(info.dropped, ","), bytes = #page })
    end
    info.bytes = #page
    return page, info
end

return _M
