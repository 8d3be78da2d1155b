-- The agent runner: prompt in, checked JSON out, every call recorded with
-- its tokens and cost (original-lessons.md #3).
--
--   llm.run_agent(agent, ctx[, opts]) -> output, call | nil, err, call
--       ctx = { business = row, reviews = list, analyst = , concept = ,
--               director = , architect = , job_id = , simulate = , ab_key = }
--       opts = { job_id = , provider = name, model = , max_tokens = }
--     Assembles the prompt (lib/prompts.lua), calls the configured provider,
--     records an llm_calls row, then refuses anything but a complete, valid
--     answer: stop_reason max_tokens is "truncated ...", refusal is
--     "refusal ...", the JSON is taken from the text (```json fences and
--     prose around it are tolerated; broken or cut JSON is never repaired),
--     and it must match the agent's schema and checks. No fallback output,
--     ever: a failure returns nil, err, call with call.permanent saying
--     whether asking again can help (a refusal, a prompt too long, a 4xx,
--     a prompt problem: true; a cut or malformed answer, a 5xx, the
--     network: false), and the raw answer is kept in llm_calls.raw_response.
--     call = { id=, agent=, provider=, model=, usage=, cost_micro_usd=,
--              stop_reason=, duration_ms=, prompt_hash=, settings_used=,
--              variants=, template_version=, prompt=, system=, retry_after=,
--              status=, error=, permanent= }
--   llm.extract_json(text) -> table | nil, err
--   llm.cost_micro_usd(model, usage) -> integer micro-USD
--   llm.costs_cents(from, to) -> cents, micro | nil, err
--       The cost of the calls made in [from, to) (timestamps as text, or
--       epoch seconds), for analytics_snapshots.api_costs_cents.
--   llm.config() -> the merged llm configuration
--
-- Configuration (wm.config.llm, all optional):
--   provider        "offline" | "anthropic" (else providers.llm, else offline)
--   model           the default model (claude-sonnet-5-5)
--   models          per agent, e.g. { email_composer = "claude-haiku-4-5" }
--   max_tokens      per agent overrides of the agents' own max_tokens
--   prices          USD per million tokens per model: { input=, output=,
--                   cache_write=, cache_read= } (cache_write defaults to
--                   1.25 x input, cache_read to 0.1 x input)
--   keep_raw        "failures" (default) or "all": which answers to keep
--   simulate, offline_cache_min_tokens, prompt_cache_ttl: see
--                   providers/llm/offline/misbehave.lua, offline/usage.lua
--                   and lib/prompts.lua
local prompts = require "lib.prompts"
local schema = require "lib.schema"
local clip = require("lib.text").clip

local type, pairs, tostring, tonumber, error, pcall = type, pairs, tostring, tonumber, error, pcall
local getmetatable, unpack = getmetatable, unpack
local floor = math.floor
local match, find, sub, format, byte = string.match, string.find, string.sub, string.format, string.byte

local _M = { _VERSION = "0.1" }

local DEFAULTS = {
    model = "claude-sonnet-5-5",
    keep_raw = "failures",
    -- USD per million tokens (platform.claude.com model pages).
    prices = {
        ["claude-sonnet-5-5"] = { input = 2, output = 10 },
        ["claude-sonnet-5"] = { input = 2, output = 10 },
        ["claude-opus-5-5"] = { input = 4, output = 20, cache_read = 0.2 },
        ["claude-haiku-4-5"] = { input = 1, output = 5 },
        ["claude-sonnet-4-6"] = { input = 3, output = 15 },
        ["claude-sonnet-4-5"] = { input = 3, output = 15 },
    },
}

function _M.config()
    local c = type(wm.config.llm) == "table" and wm.config.llm or {}
    -- Empty strings and zeros mean "not set" (config defaults list every
    -- agent so that an operator's file may override any of them).
    local models, max_tokens = {}, {}
    for k, v in pairs(type(c.models) == "table" and c.models or {}) do
        if type(v) == "string" and v ~= "" then
            models[k] = v
        end
    end
    for k, v in pairs(type(c.max_tokens) == "table" and c.max_tokens or {}) do
        if tonumber(v) and tonumber(v) > 0 then
            max_tokens[k] = floor(tonumber(v))
        end
    end
    local out = {
        provider = (type(c.provider) == "string" and c.provider ~= "") and c.provider or nil,
        model = (type(c.model) == "string" and c.model ~= "") and c.model or DEFAULTS.model,
        models = models,
        max_tokens = max_tokens,
        keep_raw = (type(c.keep_raw) == "string" and c.keep_raw ~= "") and c.keep_raw or DEFAULTS.keep_raw,
        prices = {},
    }
    for k, v in pairs(DEFAULTS.prices) do
        out.prices[k] = v
    end
    if type(c.prices) == "table" then
        for k, v in pairs(c.prices) do
            out.prices[k] = v
        end
    end
    return out
end

-- ---- cost ----------------------------------------------------------------------------------------

local warned = {}

local function price_for(c, model)
    model = tostring(model or "")
    local p = c.prices[model]
    if not p then
        -- Dated snapshots price like their alias: claude-sonnet-4-5-20250929.
        p = c.prices[(match(model, "^(.-)%-%d%d%d%d%d%d%d%d$")) or ""]
    end
    if not p then
        if not warned[model] then
            warned[model] = true
            wm.log.warn("llm: no price for model; costed as the default model", { model = model, default = c.model })
        end
        p = c.prices[c.model] or DEFAULTS.prices[DEFAULTS.model]
    end
    return p
end

local function num(v)
    v = tonumber(v)
    if not v or v ~= v or v < 0 then
        return 0
    end
    return v
end

function _M.cost_micro_usd(model, usage, c)
    c = c or _M.config()
    local p = price_for(c, model)
    usage = type(usage) == "table" and usage or {}
    local input = num(p.input)
    local cw = p.cache_write and num(p.cache_write) or input * 1.25
    local cr = p.cache_read and num(p.cache_read) or input * 0.1
    -- 1 USD per million tokens is 1 micro-USD per token.
    local micro = num(usage.input_tokens) * input + num(usage.output_tokens) * num(p.output)
        + num(usage.cache_creation_input_tokens) * cw + num(usage.cache_read_input_tokens) * cr
    return floor(micro + 0.5)
end

-- ---- provider ------------------------------------------------------------------------------------

local function provider_for(c, name)
    name = name or c.provider
    if name == nil or name == "" then
        name = (wm.config.providers or {}).llm or "offline"
    end
    if type(name) ~= "string" or not match(name, "^[%w_]+$") then
        error("llm: bad provider name " .. tostring(name), 3)
    end
    local ok, mod = pcall(require, "providers.llm." .. name)
    if not ok then
        error("llm: provider " .. name .. ": " .. tostring(mod), 3)
    end
    return mod, name
end

-- ---- JSON out of a model's text --------------------------------------------------------------------

-- The end of the balanced {...} starting at `s`, string-aware; nil when it
-- never closes (a cut answer).
local function balanced_end(text, s)
    local depth, in_str, esc = 0, false, false
    for i = s, #text do
        local ch = byte(text, i)
        if in_str then
            if esc then
                esc = false
            elseif ch == 92 then
                esc = true
            elseif ch == 34 then
                in_str = false
            end
        elseif ch == 34 then
            in_str = true
        elseif ch == 123 or ch == 91 then
            depth = depth + 1
        elseif ch == 125 or ch == 93 then
            depth = depth - 1
            if depth == 0 then
                return i
            end
        end
    end
    return nil
end

local function is_object(t)
    if type(t) ~= "table" or getmetatable(t) == wm.json.array_mt then
        return false
    end
    for k in pairs(t) do
        if type(k) ~= "string" then
            return false
        end
    end
    return true
end

function _M.extract_json(text)
    if type(text) ~= "string" or not find(text, "%S") then
        return nil, "empty answer"
    end
    -- A fenced block wins; otherwise the text itself.
    local src = match(text, "```[%w_-]*[ \t]*\r?\n(.-)\r?\n?```") or text
    local pos, first_err = 1, nil
    for _ = 1, 5 do
        local s = find(src, "{", pos, true)
        if not s then
            break
        end
        local e = balanced_end(src, s)
        if not e then
            return nil, first_err or "the JSON object never closes (cut short?)"
        end
        local ok, v, derr = pcall(wm.json.decode, sub(src, s, e))
        if ok and v ~= nil then
            if is_object(v) then
                return v
            end
            first_err = first_err or "the answer is not a JSON object"
        else
            first_err = first_err or tostring(derr or v)
        end
        pos = e + 1
    end
    return nil, first_err or "no JSON object in the answer"
end

-- ---- recording --------------------------------------------------------------------------------------

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local INSERT = [[INSERT INTO llm_calls (agent, provider, model, business_id, job_id, max_tokens, input_tokens,
        output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_micro_usd, stop_reason, ok,
        error, raw_response, request_id, prompt_hash, template_version, prompt_settings_ids, duration_ms)
    VALUES ($1, $2, $3, $4::uuid, $5::bigint, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        (SELECT coalesce(array_agg(x::uuid), '{}') FROM jsonb_array_elements_text($19::jsonb) AS x), $20)
    RETURNING id]]

-- At most 1 MiB of the raw answer, cut between characters: the column is
-- text, and half a character would make PostgreSQL refuse the whole row.
local function clip_raw(s)
    if type(s) ~= "string" then
        return nil
    end
    return clip(s, 1048576)
end

local function record(call, ok, raw)
    local u = call.usage or {}
    local biz = call.business_id
    local job = tonumber(call.job_id)
    local args = {
        call.agent, call.provider, call.model or "unknown", biz, job and floor(job) or nil, call.max_tokens,
        num(u.input_tokens), num(u.output_tokens), num(u.cache_creation_input_tokens),
        num(u.cache_read_input_tokens), call.cost_micro_usd or 0, call.stop_reason, ok,
        call.error, clip_raw(raw), call.request_id, call.prompt_hash, call.template_version,
        wm.json.array(call.settings_used or {}), call.duration_ms,
    }
    local row, err, state = wm.db.one(INSERT, unpack(args, 1, 20))
    if not row and state == "23503" and biz then
        -- The business is gone (or never existed): keep the cost anyway.
        args[4] = nil
        row, err = wm.db.one(INSERT, unpack(args, 1, 20))
    end
    if not row then
        wm.log.error("llm: call not recorded", { agent = call.agent, err = tostring(err),
                                                 cost_micro_usd = call.cost_micro_usd })
        return nil
    end
    call.id = row.id
    return row.id
end

-- ---- the runner ------------------------------------------------------------------------------------

function _M.run_agent(agent, ctx, opts)
    if type(agent) ~= "string" then
        error("usage: llm.run_agent(agent, ctx[, opts])", 2)
    end
    local ok_agent, mod = pcall(prompts.agent, agent)
    if not ok_agent then
        error(tostring(mod), 2)
    end
    ctx = ctx or {}
    opts = opts or {}
    local c = _M.config()
    local provider, pname = provider_for(c, opts.provider)
    local model = opts.model or c.models[agent] or c.model
    local b = type(ctx.business) == "table" and ctx.business or {}
    local call = {
        agent = agent,
        provider = pname,
        model = model,
        business_id = (type(b.id) == "string" and match(b.id, UUID)) and b.id or nil,
        job_id = opts.job_id or ctx.job_id,
    }

    local a, aerr, aclass = prompts.assemble(agent, ctx)
    if not a then
        -- Nothing was sent, nothing was spent: no llm_calls row.
        call.error = tostring(aerr or "unknown error")
        call.permanent = type(aclass) == "table" and aclass.permanent == true
        return nil, call.error, call
    end
    call.max_tokens = tonumber(opts.max_tokens) or c.max_tokens[agent] or a.max_tokens
    call.prompt_hash = a.prompt_hash
    call.settings_used = a.settings_used
    call.variants = a.variants
    call.template_version = a.template_version
    call.prompt = a.prompt
    call.system = a.system

    local pctx = {}
    for k, v in pairs(ctx) do
        pctx[k] = v
    end
    pctx.variants = a.variants

    local t0 = wm.monotonic()
    local res, perr, info = provider.complete {
        agent = agent,
        system = a.system,
        messages = a.messages,
        max_tokens = call.max_tokens,
        model = model,
        context = pctx,
    }
    call.duration_ms = floor((wm.monotonic() - t0) * 1000 + 0.5)

    if not res then
        info = type(info) == "table" and info or {}
        call.error = tostring(perr or "unknown error")
        call.permanent = info.permanent == true
        call.retry_after = tonumber(info.retry_after)
        call.status = tonumber(info.status)
        call.request_id = info.request_id
        call.usage = {}
        call.cost_micro_usd = 0
        record(call, false, info.body)
        return nil, call.error, call
    end

    call.model = type(res.model) == "string" and res.model or model
    call.usage = type(res.usage) == "table" and res.usage or {}
    call.stop_reason = type(res.stop_reason) == "string" and res.stop_reason or nil
    call.request_id = res.request_id
    call.cost_micro_usd = _M.cost_micro_usd(call.model, call.usage, c)
    local text = type(res.text) == "string" and res.text or ""

    local out, err
    local permanent = false
    local stop = call.stop_reason
    if stop == "max_tokens" then
        err = format("truncated: the answer stopped at max_tokens (%d, %d output tokens)",
            call.max_tokens, num(call.usage.output_tokens))
    elseif stop == "refusal" then
        err, permanent = "refusal: the model declined to answer", true
    elseif stop == "model_context_window_exceeded" then
        err, permanent = "model_context_window_exceeded: the prompt is too long for the model", true
    elseif stop ~= "end_turn" and stop ~= "stop_sequence" then
        err = "unexpected stop_reason " .. tostring(stop)
    else
        local obj, jerr = _M.extract_json(text)
        if not obj then
            err = "malformed JSON: " .. tostring(jerr)
        else
            local valid, verr = schema.validate(mod.schema, obj)
            if not valid then
                err = "invalid output: " .. verr
            elseif mod.check then
                local msg = mod.check(obj, ctx)
                if msg then
                    err = "invalid output: " .. msg
                end
            end
            if not err then
                out = obj
            end
        end
    end

    if err then
        call.error, call.permanent = err, permanent
        record(call, false, text)
        wm.log.warn("llm: agent answer rejected", { agent = agent, business = call.business_id, error = err,
                                                     call = call.id })
        return nil, err, call
    end
    record(call, true, c.keep_raw == "all" and text or nil)
    return out, call
end

-- ---- analytics ---------------------------------------------------------------------------------------

function _M.costs_cents(from, to)
    local sql = [[SELECT coalesce(sum(cost_micro_usd), 0)::text AS micro FROM llm_calls
        WHERE created_at >= %s AND created_at < %s]]
    local function ts(i, v)
        if type(v) == "number" then
            return "to_timestamp($" .. i .. "::float8)"
        elseif type(v) == "string" then
            return "$" .. i .. "::timestamptz"
        end
        error("usage: llm.costs_cents(from, to) with timestamps or epoch seconds", 3)
    end
    local row, err = wm.db.one(format(sql, ts(1, from), ts(2, to)), from, to)
    if not row then
        return nil, err
    end
    local micro = tonumber(row.micro) or 0
    return floor(micro / 10000 + 0.5), micro
end

return _M
