-- The offline LLM: a rule-based author that answers each agent with the JSON
-- a model would write, derived from the business (name, trade, city, rating,
-- its real review texts) and the earlier agents' outputs, through a small
-- per-trade knowledge table (offline/knowledge.lua). The same business always
-- gets the same answer; different businesses get different ones (choices and
-- colour jitter are seeded by the business id).
--
--   offline.complete{agent=, system=, messages=, max_tokens=, model=, context=}
--       -> {text=, stop_reason=, model=, usage={input_tokens, output_tokens,
--           cache_creation_input_tokens, cache_read_input_tokens}, request_id=}
--        | nil, err, info
--   offline.analyst(ctx), .concept, .director, .architect, .email_composer
--       -> that agent's output as a table (each in offline/<agent>.lua; an
--          agent whose earlier agents' outputs are missing from ctx writes
--          them itself)
--   offline.reset_cache()  forgets the simulated prompt cache (tests)
--
-- It behaves like the real API where it matters to the code around it:
-- usage is estimated at about 4 characters per token with a cached system
-- prompt (offline/usage.lua); an answer longer than max_tokens is cut there
-- with stop_reason "max_tokens"; misbehaviour on demand (truncated,
-- malformed, placeholder, refusal, fenced, empty, overloaded) through
-- context.simulate, config llm.simulate or env WM_LLM_SIMULATE
-- (offline/misbehave.lua).
local common = require "agents.common"
local misbehave = require "providers.llm.offline.misbehave"
local usage = require "providers.llm.offline.usage"

local type, ipairs, tostring, tonumber, error = type, ipairs, tostring, tonumber, error
local sub = string.sub

local _M = { _VERSION = "0.1", name = "offline" }

local AUTHORS = {}
for _, agent in ipairs { "analyst", "concept", "director", "architect", "email_composer", "support" } do
    AUTHORS[agent] = require("providers.llm.offline." .. agent).answer
    _M[agent] = AUTHORS[agent]
end

_M.reset_cache = usage.reset_cache

function _M.complete(opts)
    if type(opts) ~= "table" or type(opts.agent) ~= "string" then
        error("usage: offline.complete{agent=, system=, messages=, max_tokens=, model=, context=}", 2)
    end
    local author = AUTHORS[opts.agent]
    if not author then
        return nil, "the offline provider has no author for agent " .. opts.agent, { permanent = true }
    end
    local ctx = type(opts.context) == "table" and opts.context or {}
    local mode = misbehave.mode(opts.agent, ctx)
    local model = opts.model or "offline"
    local request_id = "offline_" .. sub(wm.crypto.sha256_hex(tostring(opts.system) .. common.json(opts.messages or {})), 1, 20)
    if mode == "overloaded" then
        return nil, "overloaded_error: simulated overload (529)", { permanent = false, status = 529, retry_after = 1 }
    end

    local out = author(ctx)
    if mode == "placeholder" then
        misbehave.placeholder(opts.agent, out)
    end
    local text, stop = misbehave.garble(mode, common.json(out))
    local max_tokens = tonumber(opts.max_tokens) or 4096

    local u = usage.estimate(opts, text)
    if stop == "max_tokens" then
        u.output_tokens = max_tokens
    elseif u.output_tokens > max_tokens then
        -- Like the real thing: the answer stops at max_tokens.
        text = sub(text, 1, max_tokens * 4)
        u.output_tokens = max_tokens
        stop = "max_tokens"
    end
    return {
        text = text,
        stop_reason = stop,
        model = model,
        usage = u,
        request_id = request_id,
    }
end

return _M
