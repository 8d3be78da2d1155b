-- The offline analyst: what the reviews praise (themes counted from the
-- knowledge table's words), the sentence that says it best, and the brand
-- archetype that follows; the rating alone when there are no review texts.
--
--   analyst.answer(ctx) -> the analyst agent's output (agents/analyst.lua)
local schema = require "lib.schema"
local K = require "providers.llm.offline.knowledge"
local text = require "lib.text"
local choice = require "providers.llm.offline.choice"
local facts = require "providers.llm.offline.facts"

local ipairs, select = ipairs, select
local min = math.min
local concat, sort = table.concat, table.sort
local format, gsub, lower, match, find, sub = string.format, string.gsub, string.lower, string.match,
    string.find, string.sub

local _M = {}

local function theme_counts(reviews)
    local counts, phrases, seen = {}, {}, {}
    for _, r in ipairs(reviews) do
        local text = lower(r.text)
        for _, th in ipairs(K.themes) do
            local hit = false
            for _, w in ipairs(th.words) do
                local s = find(text, w, 1, true)
                if s and (s == 1 or not match(sub(text, s - 1, s - 1), "%w"))
                    and not match(sub(text, s + #w, s + #w), "%w") then
                    hit = true
                    if not seen[w] then
                        seen[w] = true
                        phrases[#phrases + 1] = w
                    end
                end
            end
            if hit then
                counts[th.key] = (counts[th.key] or 0) + 1
            end
        end
    end
    -- "fair" adds nothing when "fair price" is there.
    local kept = {}
    for _, p in ipairs(phrases) do
        local inside = false
        for _, q in ipairs(phrases) do
            if q ~= p and find(q, p, 1, true) then
                inside = true
            end
        end
        if not inside then
            kept[#kept + 1] = p
        end
    end
    phrases = kept
    local ranked = {}
    for i, th in ipairs(K.themes) do
        if counts[th.key] then
            ranked[#ranked + 1] = { theme = th, n = counts[th.key], i = i }
        end
    end
    sort(ranked, function(a, b)
        if a.n ~= b.n then
            return a.n > b.n
        end
        return a.i < b.i
    end)
    return ranked, phrases
end

-- The sentence of a good review that says the most, verbatim.
local function highlight(f, ranked)
    local best, best_score
    for ri, r in ipairs(f.reviews) do
        if not r.rating or r.rating >= 4 then
            for si, s in ipairs(text.sentences(r.text)) do
                local words = select(2, gsub(s, "%S+", ""))
                if words >= 5 and #s <= 200 and not schema.placeholder(s) then
                    local score = (r.rating or 4) + (#s >= 40 and #s <= 140 and 3 or 0)
                    local ls = lower(s)
                    for _, rk in ipairs(ranked) do
                        for _, w in ipairs(rk.theme.words) do
                            if find(ls, w, 1, true) then
                                score = score + 2
                                break
                            end
                        end
                    end
                    score = score + choice.unit(f.key .. ":hl:" .. ri .. ":" .. si)
                    if not best_score or score > best_score then
                        best, best_score = s, score
                    end
                end
            end
        end
    end
    if not best then
        for _, r in ipairs(f.reviews) do
            if not schema.placeholder(r.text) and select(2, gsub(r.text, "%S+", "")) >= 4 then
                best = r.text
                break
            end
        end
    end
    if best then
        best = text.shorten(best, 160)
        return text.unquote(best)
    end
    local rt = facts.rating_text(f)
    if rt then
        return "Rated " .. rt .. (f.city and (" in " .. f.city) or "")
    end
    return "Recommended by customers" .. (f.city and (" in " .. f.city) or "")
end

function _M.answer(ctx)
    local f = facts.of(ctx)
    local t = f.trade
    local ranked, phrases = theme_counts(f.reviews)
    local archetype
    if ranked[1] and ranked[1].n >= 2 then
        archetype = ranked[1].theme.archetype
    elseif ranked[1] then
        for _, a in ipairs(t.archetypes) do
            if a == ranked[1].theme.archetype then
                archetype = a
            end
        end
    end
    archetype = archetype or choice.pick(t.archetypes, f.key .. ":archetype")

    local hl = highlight(f, ranked)
    local summary = {}
    if #f.reviews > 0 and ranked[1] then
        summary[#summary + 1] = format("Customers of %s most often praise %s%s.", f.name, ranked[1].theme.label,
            ranked[2] and ("; many also mention " .. ranked[2].theme.label) or "")
        if ranked[3] then
            summary[#summary + 1] = format("Several single out %s.", ranked[3].theme.label)
        end
    elseif #f.reviews > 0 then
        summary[#summary + 1] = format("Customers of %s describe %s they are glad to have found%s.", f.name,
            facts.with_article(t.trade), f.city and (" in " .. f.city) or "")
    else
        summary[#summary + 1] = format("%s is %s%s. No review texts were available, so this reading rests on the rating alone.",
            f.name, facts.with_article(t.trade), f.city and (" in " .. f.city) or "")
    end
    local rt = facts.rating_text(f)
    if rt then
        summary[#summary + 1] = format("The business holds %s.", rt)
    end

    local strengths = {}
    for i = 1, min(4, #ranked) do
        strengths[#strengths + 1] = ranked[i].theme.strength
    end
    if f.rating and f.rating >= 4.5 then
        strengths[#strengths + 1] = format("Rated %.1f stars by its customers", f.rating)
    end
    if #strengths < 3 and f.city then
        strengths[#strengths + 1] = format("A local %s serving %s", t.short, f.city)
    end
    if #strengths < 3 then
        strengths[#strengths + 1] = format("Focused on %s", t.short)
    end

    local language = {}
    for i = 1, min(8, #phrases) do
        language[i] = phrases[i]
    end
    if #language == 0 then
        language[1] = t.short .. (f.city and (" in " .. f.city) or "")
    end

    return {
        reviews_summary = text.shorten(concat(summary, " "), 1200),
        review_highlight = hl,
        brand_archetype = archetype,
        strengths = wm.json.array(strengths),
        customer_language = wm.json.array(language),
    }
end

return _M
