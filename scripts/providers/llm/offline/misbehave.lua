-- Misbehaviour on demand, for tests and drills: the offline provider
-- answers the way a real model sometimes does.
--
--   misbehave.mode(agent, ctx) -> mode | nil
--       ctx.simulate (a mode, or {agent = mode}), else config llm.simulate,
--       else env WM_LLM_SIMULATE ("mode" or "agent:mode,agent:mode").
--   misbehave.placeholder(agent, output)  generic text into a valid answer
--   misbehave.garble(mode, text) -> text, stop_reason
--
-- Modes: truncated (stop_reason max_tokens, JSON cut short), malformed
-- (prose and invalid JSON), placeholder (valid shape, generic text),
-- refusal, fenced (valid JSON inside ```json fences after prose), empty,
-- overloaded (a retryable error with retry_after = 1; offline.complete
-- answers it before any author runs).
local type, floor = type, math.floor
local find, gsub, match, sub = string.find, string.gsub, string.match, string.sub

local _M = {}

local PLACEHOLDERS = {
    analyst = function(o)
        o.reviews_summary = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Business Name is great."
    end,
    concept = function(o)
        o.angle = "Business Name: quality service you can trust"
    end,
    director = function(o)
        o.tone_notes = "TODO: write the tone notes for this business."
    end,
    architect = function(o)
        o.title = "Business Name | [Your City]"
        o.hero.headline = "Welcome to [Your Business]"
    end,
    email_composer = function(o)
        o.greeting = "Hi [Your Name],"
        o.subject = "A new website for Business Name"
    end,
}

function _M.mode(agent, ctx)
    local sim = ctx and ctx.simulate
    if sim == nil then
        local cfg = (wm.config and wm.config.llm) or {}
        sim = cfg.simulate
        if sim == nil or sim == "" then
            sim = os.getenv("WM_LLM_SIMULATE")
        end
    end
    if type(sim) == "table" then
        return sim[agent]
    end
    if type(sim) ~= "string" or sim == "" then
        return nil
    end
    if find(sim, ":", 1, true) then
        for part in gsub(sim, "%s", ""):gmatch("[^,]+") do
            local a, m = match(part, "^([%w_]+):([%w_]+)$")
            if a == agent then
                return m
            end
        end
        return nil
    end
    return sim
end

function _M.placeholder(agent, out)
    if PLACEHOLDERS[agent] then
        PLACEHOLDERS[agent](out)
    end
end

function _M.garble(mode, text)
    if mode == "truncated" then
        return sub(text, 1, floor(#text * 0.6)), "max_tokens"
    elseif mode == "malformed" then
        return "Here is the JSON you asked for:\n" .. gsub(text, '"([%w_]+)":', "'%1': ") .. ",\n}", "end_turn"
    elseif mode == "fenced" then
        return "Sure! Here is the result.\n\n```json\n" .. text .. "\n```\n\nLet me know if you want changes.",
            "end_turn"
    elseif mode == "refusal" then
        return "I can't help with that request.", "refusal"
    elseif mode == "empty" then
        return "", "end_turn"
    end
    return text, "end_turn"
end

return _M
