-- The offline concept: the creative DNA, from the analyst's archetype (or
-- the trade's own when it named none we know) and the trade's palettes,
-- fonts and angles, each chosen and shaded by the business.
--
--   concept.answer(ctx) -> the concept agent's output (agents/concept.lua)
local common = require "agents.common"
local K = require "providers.llm.offline.knowledge"
local text = require "lib.text"
local choice = require "providers.llm.offline.choice"
local colour = require "providers.llm.offline.colour"
local facts = require "providers.llm.offline.facts"
local answer_analyst = require("providers.llm.offline.analyst").answer

local ipairs = ipairs
local min, max = math.min, math.max
local format = string.format

local _M = {}

function _M.answer(ctx)
    local f = facts.of(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or answer_analyst(ctx)
    local archetype = analyst.brand_archetype
    local ok = false
    for _, a in ipairs(common.ARCHETYPES) do
        ok = ok or a == archetype
    end
    if not ok then
        archetype = choice.pick(t.archetypes, f.key .. ":archetype")
    end
    local base = choice.pick(t.palettes, f.key .. ":palette")
    local palette = {
        primary = colour.jitter(base.primary, f.key .. ":primary"),
        secondary = colour.jitter(base.secondary, f.key .. ":secondary"),
        accent = colour.jitter(base.accent, f.key .. ":accent"),
        background = base.background,
        surface = base.surface,
        text = base.text,
    }
    local pair = choice.pick(t.fonts, f.key .. ":fonts")
    local radius = max(0, min(28, t.radius + (choice.int(f.key .. ":radius") % 7) - 3))
    return {
        archetype = archetype,
        angle = text.shorten(facts.fill(choice.pick(t.angles, f.key .. ":angle"), f.vars), 200),
        visual_theme = choice.pick(t.themes, f.key .. ":theme"),
        tone_of_voice = K.tones[archetype] or "Warm, clear, honest",
        design_system = {
            palette = palette,
            fonts = { heading = K.fonts[pair[1]], body = K.fonts[pair[2]] },
            radius = format("%dpx", radius),
            density = K.density[archetype] or "balanced",
        },
    }
end

return _M
