-- The page's colours: the concept's palette, checked (#rrggbb or the
-- default) and made readable. Body text reaches 4.5:1 on the background
-- and the surface (7:1 when it had to be fixed), links, muted text and the
-- button reach 4.5:1, stars 3:1; the band hero's text reads on both ends
-- of its gradient. Each fix is listed in `fixed`.
--
--   palette.build(design_system, fixed) -> { primary, secondary, accent,
--       background, surface, text, muted, link, line, star, btn_bg, btn_fg,
--       band_1, band_2, band_fg }  (all "#rrggbb")
--   palette.contrast(a, b) -> the WCAG contrast ratio of two "#rrggbb"
local text = require "lib.text"
local input = require "sites.input"

local type, tonumber, ipairs, pairs = type, tonumber, ipairs, pairs
local floor, min, max = math.floor, math.min, math.max
local format, match, lower, sub = string.format, string.match, string.lower, string.sub

local _M = {}

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

function _M.build(ds, fixed)
    local p = input.tbl(ds.palette)
    local out = {}
    for k, def in pairs(DEFAULT_PALETTE) do
        local v = p[k]
        if type(v) == "string" then
            v = lower(text.trim(v))
        end
        if hex_ok(v) then
            out[k] = v
        else
            out[k] = def
            if input.present(p[k]) then
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

return _M
