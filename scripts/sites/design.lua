-- The page's look, from the concept's design system and the director's
-- brief: the stylesheet (custom properties for colours, fonts, radius and
-- spacing ahead of templates/style.lua), the decorative hero art and the
-- hero's layout. Nothing from the agents reaches the CSS but validated
-- colours, font names rebuilt from [%w %-,'] and numbers.
--
--   design.stylesheet(dna, fixed) -> css, palette | nil, err
--   design.font_stack(v, default) -> a font-family value
--   design.art(dna, brief, key)   -> inline SVG
--   design.hero_style(brief, key) -> "split" | "center" | "band"
--   design.favicon(palette)       -> a data: URI of an SVG icon in the button colours
--                                    (the page's icon costs no request)
-- key (the business's slug) picks when the agents' words decide nothing.
local text = require "lib.text"
local input = require "sites.input"
local palette = require "sites.palette"

local type, tostring, tonumber = type, tostring, tonumber
local floor, min, max = math.floor, math.min, math.max
local match, lower, find, concat = string.match, string.lower, string.find, table.concat

local _M = {}

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
    local s = text.trim(v)
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
        part = text.trim(part)
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
        local s = lower(text.trim(v))
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
-- Hero art: inline SVG, decorative (hidden from print and assistive technology by the templates).

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

function _M.art(dna, brief, key)
    local words = lower(table.concat({
        type(dna.visual_theme) == "string" and dna.visual_theme or "",
        type(input.tbl(brief.hero).visual_motif) == "string" and input.tbl(brief.hero).visual_motif or "",
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

function _M.hero_style(brief, key)
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
-- Colours are palette output ("#rrggbb"). '#' must be escaped in a URL;
-- the rest is escaped so that the attribute needs no HTML entities.
function _M.favicon(pal)
    local svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
        .. "<rect width='16' height='16' rx='4' fill='" .. pal.btn_bg .. "'/>"
        .. "<circle cx='8' cy='8' r='3.5' fill='" .. pal.btn_fg .. "'/></svg>"
    return "data:image/svg+xml," .. (svg:gsub("[<>#']", { ["<"] = "%3C", [">"] = "%3E", ["#"] = "%23", ["'"] = "%27" }))
end

function _M.stylesheet(dna, fixed)
    local ds = input.tbl(dna.design_system)
    local pal = palette.build(ds, fixed)
    local fonts = input.tbl(ds.fonts)
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
    return css, pal
end

return _M
