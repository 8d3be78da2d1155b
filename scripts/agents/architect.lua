-- The architect: the words of the site, as structured content the renderer
-- (sites/render.lua) lays out and escapes. The shape is the renderer's
-- contract: title, meta_description, hero, sections (tagged by kind),
-- footer_note. An "html" section carries an LLM-written fragment that the
-- renderer sanitises; everything else is plain text.
local common = require "agents.common"
local schema = require "lib.schema"

local _M = { name = "architect", max_tokens = 16000 }

_M.template = {
    system_prompt = [[You are the Copywriter and Site Architect at WebMagic, a studio that builds a one-page
website for local businesses that have great reviews but no website. You write every word of the
page, following the Art Director's brief: its sections in its order, its hero idea and its tone.
Your answer is structured content, not HTML: a renderer lays it out, so write plain text in every
field except the "html" section kind.

## Voice
{{voice_rules}}

## Sections
{{section_rules}}

## Search and length
{{seo_rules}}

## Rules
{{data_rules}}]],
    output_format = [[{
  "title": "the page title, at most 60 characters: business name, trade, city",
  "meta_description": "at most 160 characters",
  "hero": {"headline": "at most 90 characters", "subheadline": "one or two sentences", "cta_label": "2-4 words, e.g. \"Call now\""},
  "sections": [
    {"kind": "services", "heading": "...", "items": [{"name": "...", "description": "..."}]},
    {"kind": "about", "heading": "...", "body": "paragraphs separated by a blank line"},
    {"kind": "reviews", "heading": "...", "items": [{"author": "...", "rating": 5, "text": "quoted from a review"}]},
    {"kind": "process", "heading": "...", "steps": [{"title": "...", "description": "..."}]},
    {"kind": "faq", "heading": "...", "items": [{"question": "...", "answer": "..."}]},
    {"kind": "contact", "heading": "...", "body": "..."},
    {"kind": "html", "html": "<p>a short fragment: p, ul, ol, li, strong, em, h3 only</p>"}
  ],
  "footer_note": "one short line"
}
Include only the section kinds the brief lists, in its order; each kind at most once.]],
    placeholder_sections = { "voice_rules", "section_rules", "seo_rules", "data_rules" },
}

_M.sections = {
    {
        section_name = "voice_rules",
        description = "How the page sounds.",
        content = [[Write as the business, to a neighbour who needs it: short sentences, concrete details
from the reviews, the customer's own words where they fit. Follow the tone of voice in the
creative DNA and the brief's tone notes. No superlatives the reviews do not support, no
exclamation marks in headings, no filler ("we are passionate about quality").]],
    },
    {
        section_name = "section_rules",
        description = "What each section kind contains.",
        content = [[services: 3 to 8 services this kind of business offers that the data supports, each with
a one or two sentence description. about: two or three short paragraphs on who the business is
for and what customers say about it. reviews: 2 to 4 reviews copied from the review data: the
author as given, the rating as an integer from 1 to 5, and the text quoted exactly (you may
shorten it, never reword it). process: 3 to 5 steps from first call to finished job. faq: 3 to 6
questions people ask before hiring this kind of business, answered briefly without inventing
prices or guarantees. contact: one or two sentences inviting the visitor to call or visit; the
page adds the phone number and address itself. html: a short fragment using only p, ul, ol, li,
strong, em and h3 (no scripts, styles, links, images or attributes).]],
    },
    {
        section_name = "seo_rules",
        description = "Title, meta description and length limits.",
        content = [[The title names the business, the trade and the city in at most 60 characters. The meta
description (at most 160 characters) says what the business does, where, and why people choose
it. The whole answer should stay under about 2,500 words.]],
    },
    {
        section_name = "data_rules",
        description = "Safety and output rules shared by every agent.",
        content = common.SAFETY,
    },
}

local str = schema.string
local function line(max, min)
    return str { min = min or 1, max = max, single_line = true }
end
local function text(max, min)
    return str { min = min or 1, max = max }
end

local KINDS = {
    services = schema.object {
        kind = line(20), heading = line(120),
        items = schema.array(schema.object {
            name = line(120, 2),
            description = text(400, 10),
        }, { min = 1, max = 10 }),
    },
    about = schema.object { kind = line(20), heading = line(120), body = text(3000, 40) },
    reviews = schema.object {
        kind = line(20), heading = line(120),
        items = schema.array(schema.object {
            author = line(80),
            rating = schema.integer { min = 1, max = 5 },
            text = text(600, 5),
        }, { min = 1, max = 6 }),
    },
    process = schema.object {
        kind = line(20), heading = line(120),
        steps = schema.array(schema.object {
            title = line(120, 2),
            description = text(400, 5),
        }, { min = 2, max = 8 }),
    },
    faq = schema.object {
        kind = line(20), heading = line(120),
        items = schema.array(schema.object {
            question = line(200, 5),
            answer = text(700, 5),
        }, { min = 1, max = 8 }),
    },
    contact = schema.object { kind = line(20), heading = line(120), body = text(800, 5) },
    html = schema.object { kind = line(20), html = text(20000, 5) },
}

_M.schema = schema.object {
    title = line(60, 5),
    meta_description = line(160, 20),
    hero = schema.object {
        headline = line(90, 3),
        subheadline = text(300, 10),
        cta_label = line(30, 2),
    },
    sections = schema.array(schema.union("kind", KINDS), {
        min = 3, max = 10,
        check = function(list)
            local seen = {}
            for i, s in ipairs(list) do
                if seen[s.kind] then
                    return ("sections[%d]: a second %s section"):format(i, s.kind)
                end
                seen[s.kind] = true
            end
        end,
    }),
    footer_note = line(200, 3),
}

-- Reviews on the page must be real: each quoted text shares a run of words
-- with a review in the data.
function _M.check(out, ctx)
    local reviews = common.reviews(ctx and ctx.reviews, 50)
    for i, s in ipairs(out.sections) do
        if s.kind == "reviews" then
            if #reviews == 0 then
                return ("sections[%d]: reviews, but the business has no review texts"):format(i)
            end
            for j, it in ipairs(s.items) do
                if not common.quotes(it.text, reviews, 4) then
                    return ("sections[%d].items[%d].text: is not quoted from any review"):format(i, j)
                end
            end
        end
    end
    return nil
end

function _M.build_messages(ctx)
    ctx = ctx or {}
    local data = {
        { name = "business", value = common.business_facts(ctx.business) },
        { name = "reviews", value = wm.json.array(common.reviews(ctx.reviews, 10)) },
        { name = "analyst", value = common.output(ctx.analyst) },
        { name = "concept", value = common.output(ctx.concept) },
        { name = "brief", value = common.output(ctx.director) },
    }
    -- The quality gate rejected the previous page: what to fix this time.
    if type(ctx.feedback) == "table" and #ctx.feedback > 0 then
        data[#data + 1] = { name = "quality_feedback", value = wm.json.array(ctx.feedback) }
    end
    -- A support ticket's change to a live page: the page as it is and the
    -- operations to make (the customer's request, already interpreted).
    if type(ctx.edit) == "table" then
        data[#data + 1] = { name = "current_page", value = ctx.edit.current }
        data[#data + 1] = { name = "requested_changes", value = wm.json.array(ctx.edit.operations or {}) }
        return common.data_message(data, "Write the page's content as the JSON object now: the current page "
            .. "with the requested changes made, every other field unchanged.")
    end
    return common.data_message(data, "Write the page's content as the JSON object now.")
end

return _M
