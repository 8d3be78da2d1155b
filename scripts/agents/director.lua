-- The art director: the design brief (generated_sites.design_brief) that the
-- architect writes to: layout, the ordered section kinds, the hero idea, tone
-- notes and do/don't lists.
local common = require "agents.common"
local schema = require "lib.schema"

local _M = { name = "director", max_tokens = 4000 }

_M.template = {
    system_prompt = [[You are the Art Director at WebMagic, a studio that builds a one-page website for local
businesses that have great reviews but no website. From the business's details, the Analyst's
reading of its reviews and the Creative Director's DNA, you write the design brief the copywriter
follows: the layout of the hero, which sections the page has and in what order, the idea of the
hero, and notes on tone.

## Layout
{{layout_rules}}

## Sections
{{section_rules}}

## The hero
{{hero_rules}}

## Rules
{{data_rules}}]],
    output_format = [[{
  "layout": "the hero layout: \"split\" (text beside a shape), \"centered\" or \"bold band\", plus a few words",
  "sections": ["ordered section kinds, each one of: services, about, reviews, process, faq, contact, html"],
  "hero": {"headline_idea": "the idea of the headline, in one line", "visual_motif": "the shapes the hero draws (waves, circles, arcs, blocks, grid)"},
  "tone_notes": "how the words should sound, 1-3 sentences",
  "do": ["2-6 specific things the copy and design should do"],
  "dont": ["2-6 specific things to avoid"]
}]],
    placeholder_sections = { "layout_rules", "section_rules", "hero_rules", "data_rules" },
}

_M.sections = {
    {
        section_name = "layout_rules",
        description = "How the director chooses the hero layout.",
        content = [[Choose "split" for practical trades where the call to action matters most, "centered" for
calm, caring or premium brands, "bold band" for energetic brands that want a strong first
impression. Say it in the layout field with a few words on why.]],
    },
    {
        section_name = "section_rules",
        description = "Which sections a page has and their order.",
        content = [[Pick 5 to 7 sections from: services, about, reviews, process, faq, contact, html. Every
page ends with contact. Include reviews only when the data has review texts, and put it early
when the reviews are the strongest argument. Use process when customers value how the work is
done, faq when people commonly hesitate before calling this kind of business, and html (a short
free-form fragment) only for something the other kinds cannot say, such as a service area list.
Each kind at most once.]],
    },
    {
        section_name = "hero_rules",
        description = "The hero idea and motif.",
        content = [[The headline idea comes from the angle and the reviews, in the customer's language, and
names the trade or the place when that helps a visitor know they are in the right spot. The
visual motif is one of the shapes the page can draw: waves, circles, arcs, blocks or a grid.]],
    },
    {
        section_name = "data_rules",
        description = "Safety and output rules shared by every agent.",
        content = common.SAFETY,
    },
}

local str = schema.string
local line = function(max)
    return str { min = 3, max = max, single_line = true }
end

_M.schema = schema.object {
    layout = line(160),
    sections = schema.array(str { enum = common.SECTION_KINDS, ci = true }, {
        min = 3, max = 7, unique = true,
        check = function(list)
            if list[#list] ~= "contact" then
                return "must end with contact"
            end
        end,
    }),
    hero = schema.object {
        headline_idea = line(200),
        visual_motif = line(120),
    },
    tone_notes = str { min = 10, max = 600 },
    ["do"] = schema.array(line(200), { min = 1, max = 8 }),
    dont = schema.array(line(200), { min = 1, max = 8 }),
}

-- A reviews section needs review texts to quote.
function _M.check(out, ctx)
    if #common.reviews(ctx and ctx.reviews, 1) == 0 then
        for _, kind in ipairs(out.sections) do
            if kind == "reviews" then
                return "sections: has reviews but the business has no review texts"
            end
        end
    end
    return nil
end

function _M.build_messages(ctx)
    ctx = ctx or {}
    local reviews = common.reviews(ctx.reviews, 10)
    return common.data_message({
        { name = "business", value = common.business_facts(ctx.business) },
        { name = "review_texts_available", value = #reviews },
        { name = "analyst", value = common.output(ctx.analyst) },
        { name = "concept", value = common.output(ctx.concept) },
    }, "Write the design brief as the JSON object now.")
end

return _M
