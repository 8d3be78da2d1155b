-- The concept: the business's creative DNA (businesses.creative_dna):
-- archetype, angle, visual theme, tone of voice and a design system (palette,
-- system font stacks, radius, density) that the renderer turns into CSS.
local common = require "agents.common"
local schema = require "lib.schema"
local text = require "lib.text"

local _M = { name = "concept", max_tokens = 4000 }

_M.template = {
    system_prompt = [[You are the Creative Director at WebMagic, a studio that builds a website for local
businesses that have great reviews but no website. From the business's details and the Analyst's
reading of its reviews you set its creative DNA: the angle the site takes, its visual theme,
its tone of voice and a small design system. The site is a single page with no images other than
simple inline shapes, so colour and type carry the identity.

## Angle and theme
{{angle_and_theme}}

## Palette
{{palette_rules}}

## Typography
{{typography_rules}}

## Shape and density
{{shape_rules}}

## Rules
{{data_rules}}]],
    output_format = [[{
  "archetype": "the Analyst's brand archetype (one of the 12, e.g. \"The Sage\")",
  "angle": "one sentence: the promise the site leads with",
  "visual_theme": "a few words naming the look (e.g. \"calm water blues with soft waves\")",
  "tone_of_voice": "three to six adjectives or a short phrase",
  "design_system": {
    "palette": {"primary": "#rrggbb", "secondary": "#rrggbb", "accent": "#rrggbb",
                "background": "#rrggbb", "surface": "#rrggbb", "text": "#rrggbb"},
    "fonts": {"heading": "a system font stack ending in a generic family",
              "body": "a system font stack ending in a generic family"},
    "radius": "a CSS length in px between 0px and 28px, e.g. \"10px\"",
    "density": "airy | balanced | compact"
  }
}]],
    placeholder_sections = { "angle_and_theme", "palette_rules", "typography_rules", "shape_rules", "data_rules" },
}

_M.sections = {
    {
        section_name = "angle_and_theme",
        description = "How the concept agent finds the angle and the visual theme.",
        content = [[The angle comes from the reviews: what customers praise most becomes the promise (for a
plumber praised for showing up within the hour: "Fast, tidy help when water is where it should
not be"). The visual theme should suit the trade and the archetype, and name a motif the page can
draw with simple shapes: waves, circles, arcs, blocks or grids. Avoid cliches that would fit any
business.]],
    },
    {
        section_name = "palette_rules",
        description = "Colour rules for the palette.",
        content = [[Six colours, each written as #rrggbb in lower case. background is the page colour and
surface the colour of cards and alternating bands: keep both light (or both dark) and close to
each other. text must read clearly on both (a contrast ratio of at least 4.5:1). primary is the
colour of buttons and links, secondary supports it, accent is used sparingly (stars, small
highlights). Choose colours that fit the trade and the archetype, not a generic blue.]],
    },
    {
        section_name = "typography_rules",
        description = "Font rules: system stacks only.",
        content = [[Use system font stacks only: the page loads no web fonts and makes no external request.
Write each stack as a comma-separated list of installed families ending in a generic family,
for example "Georgia, Cambria, 'Times New Roman', serif" or "system-ui, -apple-system,
'Segoe UI', Roboto, sans-serif". A serif heading suits crafts and tradition; a clean sans suits
trades and clinics; a rounded stack suits friendly, playful brands.]],
    },
    {
        section_name = "shape_rules",
        description = "Corner radius and spacing density.",
        content = [[radius is the corner rounding of cards and buttons in px (0px to 28px): small for precise,
technical brands, larger for friendly ones. density is how much room the page breathes: airy
for calm, premium or caring brands, compact for busy, practical ones, balanced otherwise.]],
    },
    {
        section_name = "data_rules",
        description = "Safety and output rules shared by every agent.",
        content = common.SAFETY,
    },
}

local str = schema.string
local HEX = { type = "string", pattern = "^#%x%x%x%x%x%x$", pattern_msg = "must be a colour written #rrggbb" }

local GENERIC = {
    serif = true, ["sans-serif"] = true, monospace = true, cursive = true, ["system-ui"] = true,
    ["ui-serif"] = true, ["ui-sans-serif"] = true, ["ui-monospace"] = true, ["ui-rounded"] = true,
}

-- A system font stack: family names only (letters, digits, spaces, hyphens,
-- optionally quoted), comma-separated, ending in a generic family. No url(),
-- no @import, no CSS punctuation: nothing that could load a web font.
local function font_stack(v)
    if v:find("[^%w%s,'\"%-]") then
        return "must be a font stack of family names only (no url(), @import or CSS)"
    end
    local last
    local n = 0
    for part in (v .. ","):gmatch("([^,]*),") do
        part = text.trim(part):gsub("^['\"](.*)['\"]$", "%1")
        if part == "" then
            return "has an empty family name"
        end
        n = n + 1
        last = part:lower()
    end
    if n > 10 then
        return "has too many families"
    end
    if not GENERIC[last] then
        return "must end with a generic family (serif, sans-serif, monospace, system-ui, ...)"
    end
    return nil
end

local function radius(v)
    local n = tonumber(v:match("^(%d+%.?%d*)px$"))
    if not n or n > 28 then
        return "must be a length between 0px and 28px, e.g. \"10px\""
    end
    return nil
end

_M.schema = schema.object {
    archetype = str { enum = common.ARCHETYPES, ci = true },
    angle = str { min = 10, max = 200, single_line = true },
    visual_theme = str { min = 3, max = 120, single_line = true },
    tone_of_voice = str { min = 3, max = 120, single_line = true },
    design_system = schema.object {
        palette = schema.object {
            primary = HEX, secondary = HEX, accent = HEX, background = HEX, surface = HEX, text = HEX,
        },
        fonts = schema.object {
            heading = str { min = 3, max = 200, check = font_stack },
            body = str { min = 3, max = 200, check = font_stack },
        },
        radius = str { check = radius },
        density = str { enum = { "airy", "balanced", "compact" }, ci = true },
    },
}

function _M.build_messages(ctx)
    ctx = ctx or {}
    return common.data_message({
        { name = "business", value = common.business_facts(ctx.business) },
        { name = "analyst", value = common.output(ctx.analyst) },
    }, "Set this business's creative DNA and write the JSON object now.")
end

return _M
