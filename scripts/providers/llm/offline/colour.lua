-- Colour jitter for the offline concept: a palette colour moved a little,
-- by an amount fixed by the business, so two plumbers in one town do not
-- get the same blue.
--
--   colour.jitter("#rrggbb", key) -> "#rrggbb"
local choice = require "providers.llm.offline.choice"

local tonumber = tonumber
local floor, min, max = math.floor, math.min, math.max
local format, sub = string.format, string.sub

local _M = {}

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
function _M.jitter(hex, key)
    local h, s, l = rgb_to_hsl(hex_to_rgb(hex))
    h = (h + (choice.unit(key .. ":h") - 0.5) * (24 / 360)) % 1
    s = max(0, min(1, s + (choice.unit(key .. ":s") - 0.5) * 0.16))
    l = max(0.12, min(0.88, l + (choice.unit(key .. ":l") - 0.5) * 0.10))
    return hsl_to_hex(h, s, l)
end

return _M
