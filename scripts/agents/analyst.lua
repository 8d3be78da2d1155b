-- The analyst: reads a business's reviews and says what its customers value,
-- in their words: reviews_summary, review_highlight (the email's hook, quoted
-- from a real review), brand_archetype (one of the 12), strengths and the
-- customer's own phrases.
local common = require "agents.common"
local schema = require "lib.schema"

local _M = { name = "analyst", max_tokens = 4000 }

_M.template = {
    system_prompt = [[You are the Analyst at WebMagic, a studio that builds a website for local businesses that
have great reviews but no website of their own. You read one business's public listing and its
customer reviews and describe, in plain words, what its customers value. Later steps design the
site and write to the owner from your analysis, so be specific and faithful to the reviews.

## Reading the reviews
{{review_reading}}

## The review highlight
{{review_highlight}}

## The brand archetype
{{brand_archetype}}

## Rules
{{data_rules}}]],
    output_format = [[{
  "reviews_summary": "2-4 sentences: what customers consistently praise, with concrete details",
  "review_highlight": "one short verbatim excerpt from one review (10-160 characters)",
  "brand_archetype": "one of: The Innocent, The Everyman, The Hero, The Outlaw, The Explorer, The Creator, The Ruler, The Magician, The Lover, The Caregiver, The Jester, The Sage",
  "strengths": ["3-6 short strengths, each grounded in the reviews"],
  "customer_language": ["3-8 words or short phrases customers actually used"]
}]],
    placeholder_sections = { "review_reading", "review_highlight", "brand_archetype", "data_rules" },
}

_M.sections = {
    {
        section_name = "review_reading",
        description = "How the analyst reads reviews and what it looks for.",
        content = [[Look for what comes up again and again: punctuality, price and honesty, quality of the
work, friendliness, cleanliness, communication, speed, expertise. Prefer what several customers
say over what one says. Note the words customers themselves use ("showed up on time", "fair
price") and keep them as they wrote them. If there are few or no reviews, say what the rating
and review count show and keep the summary modest.]],
    },
    {
        section_name = "review_highlight",
        description = "The hook quoted in the outreach email and on the site.",
        content = [[Choose one sentence or phrase from a single review that would make the owner proud when
they read it: specific, warm, and about this business. Copy it exactly as written (you may
shorten it by cutting words at the start or end, never by rewording). Do not add quotation marks.
If there are no review texts, write a short factual line from the rating and review count.]],
    },
    {
        section_name = "brand_archetype",
        description = "How the analyst picks one of the 12 brand archetypes.",
        content = [[Pick the one archetype that best fits how customers experience the business: The Hero
(rescues, fixes, urgent help), The Caregiver (patient, kind, looks after people), The Sage
(expert, explains, knows best), The Everyman (honest, down to earth, fair), The Creator
(craft, beauty, made with care), The Ruler (premium, order, reliability), The Magician
(transformations), The Jester (fun), The Lover (indulgence, intimacy), The Explorer (adventure),
The Innocent (simple, wholesome, pure), The Outlaw (breaks the mould).]],
    },
    {
        section_name = "data_rules",
        description = "Safety and output rules shared by every agent.",
        content = common.SAFETY,
    },
}

local str = schema.string

_M.schema = schema.object {
    reviews_summary = str { min = 40, max = 1200 },
    review_highlight = str { min = 10, max = 200, single_line = true },
    brand_archetype = str { enum = common.ARCHETYPES, ci = true },
    strengths = schema.array(str { min = 3, max = 160, single_line = true }, { min = 1, max = 8 }),
    customer_language = schema.array(str { min = 2, max = 80, single_line = true }, { min = 1, max = 12 }),
}

-- The highlight must quote a review: when review texts exist, it shares a
-- run of at least four consecutive words with one of them (or is wholly
-- inside one when shorter). A model that invents a quote fails here.
function _M.check(out, ctx)
    local reviews = common.reviews(ctx and ctx.reviews, 50)
    if #reviews > 0 and not common.quotes(out.review_highlight, reviews, 4) then
        return "review_highlight: is not quoted from any review"
    end
    return nil
end

function _M.build_messages(ctx)
    ctx = ctx or {}
    return common.data_message({
        { name = "business", value = common.business_facts(ctx.business) },
        { name = "reviews", value = wm.json.array(common.reviews(ctx.reviews, 10)) },
    }, "Analyse these reviews and write the JSON object now.")
end

return _M
