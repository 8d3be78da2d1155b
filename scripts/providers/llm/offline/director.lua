-- The offline director: the design brief, with the sections in an order
-- that suits the trade (reviews first for a business rated 4.8 or more),
-- a hero motif read from the concept's visual theme, and tone notes that
-- borrow the customers' own words.
--
--   director.answer(ctx) -> the director agent's output (agents/director.lua)
local common = require "agents.common"
local K = require "providers.llm.offline.knowledge"
local text = require "lib.text"
local choice = require "providers.llm.offline.choice"
local facts = require "providers.llm.offline.facts"
local answer_analyst = require("providers.llm.offline.analyst").answer
local answer_concept = require("providers.llm.offline.concept").answer

local type, ipairs = type, ipairs
local concat, insert = table.concat, table.insert
local format, lower, find = string.format, string.lower, string.find

local _M = {}

local MOTIFS = {
    { "wave", "soft waves rolling across the hero" }, { "water", "soft waves rolling across the hero" },
    { "bubble", "floating circles and bubbles" }, { "circle", "overlapping circles" },
    { "arc", "a rising arc like the sun" }, { "curve", "sweeping arcs and curves" },
    { "tile", "a tidy grid of tiles" }, { "grid", "a clean grid of blocks" }, { "block", "bold stacked blocks" },
}

function _M.answer(ctx)
    local f = facts.of(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or answer_analyst(ctx)
    local concept = common.output(ctx.concept) or answer_concept(ctx)
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
    if #sections < 7 and choice.unit(f.key .. ":html") < 0.5 then
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
    motif = motif or choice.pick({ "overlapping circles", "soft waves", "bold stacked blocks", "a rising arc" },
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
            headline_idea = text.shorten(type(concept.angle) == "string" and concept.angle
                or facts.fill(t.angles[1], f.vars), 200),
            visual_motif = motif,
        },
        tone_notes = text.shorten(notes, 600),
        ["do"] = wm.json.array(dos),
        dont = wm.json.array({
            "Promise prices, guarantees or licences the data does not show",
            "Use stock phrases that would fit any business",
            "Put exclamation marks in headings",
        }),
    }
end

return _M
