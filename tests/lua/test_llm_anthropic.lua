-- providers/llm/anthropic.lua against tests/fakes/anthropic.py (the Messages
-- API's shapes and errors on 127.0.0.1), and through lib/llm.lua end to end.
local T = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start = dofile(here .. "/../fakes/start.lua")
local KEY = "sk-ant-test-" .. wm.crypto.random_token(6)

local server, starting

-- Starts the fake (it exits by itself after 30 s without a request or when
-- this process ends; a test that finds it gone starts another).
local function base()
    if server then
        return server
    end
    if starting then
        starting:wait(90)
        return assert(server, "the fake did not start")
    end
    starting = wm.event()
    server = start("anthropic.py", "30", KEY)
    starting:set()
    return server
end

local function configure(t, overrides)
    if wm.http == nil then
        t.skip("wm.http is not available in this build")
    end
    local url = base()
    if not wm.http.post(url .. "/_fake/reset", "{}") then
        server = nil
        url = base()
    end
    local saved = wm.config.anthropic
    wm.config.anthropic = { api_key = KEY, base_url = url, timeout = 20 }
    for k, v in pairs(overrides or {}) do
        wm.config.anthropic[k] = v
    end
    t.defer(function()
        wm.config.anthropic = saved
    end)
    assert(wm.http.post(url .. "/_fake/reset", "{}"))
    return url
end

local function queue(url, item)
    local res = assert(wm.http.post(url .. "/_fake/queue", wm.json.encode(item),
        { headers = { ["content-type"] = "application/json" } }))
    assert(res.status == 200, "queue: " .. tostring(res.status))
end

local function requests(url)
    local res = assert(wm.http.get(url .. "/_fake/requests"))
    return wm.json.decode(res.body)
end

local SYSTEM = string.rep("You are a careful analyst of local businesses. ", 60)   -- > 512 tokens

local function req()
    return {
        agent = "analyst",
        system = SYSTEM,
        messages = { { role = "user", content = "<data name=\"business\">{\"name\":\"Rivera Plumbing\"}</data>" } },
        max_tokens = 1234,
        model = "claude-sonnet-5-5",
    }
end

local anthropic = require "providers.llm.anthropic"

-- ---- the provider ---------------------------------------------------------------------------

function T.good_answer(t)
    local url = configure(t)
    local res, err, info = anthropic.complete(req())
    t.ok(res, tostring(err) .. " " .. wm.json.encode(info or {}))
    t.eq(res.text, '{"ok": true}')
    t.eq(res.stop_reason, "end_turn")
    t.eq(res.model, "claude-sonnet-5-5")
    t.match(res.request_id, "^req_fake_")
    -- usage exactly as received, sub-object included.
    t.ok(res.usage.input_tokens > 0 and res.usage.output_tokens > 0)
    t.ok(res.usage.cache_creation_input_tokens > 500, "the system prompt was written to the cache")
    t.eq(res.usage.cache_read_input_tokens, 0)
    t.eq(res.usage.cache_creation.ephemeral_5m_input_tokens, res.usage.cache_creation_input_tokens)
    -- What went over the wire.
    local r = requests(url)[1]
    t.eq(r.headers["x-api-key"], KEY)
    t.eq(r.headers["anthropic-version"], "2023-06-01")
    t.match(r.headers["content-type"], "^application/json")
    t.eq(r.body.model, "claude-sonnet-5-5")
    t.eq(r.body.max_tokens, 1234)
    t.eq(r.body.system[1].type, "text")
    t.eq(r.body.system[1].text, SYSTEM)
    t.eq(r.body.system[1].cache_control, { type = "ephemeral" })
    t.eq(r.body.messages[1].role, "user")
    t.eq(r.body.temperature, nil, "no sampling parameters (current models refuse them)")
    -- The same prefix again: read from the cache.
    res = assert(anthropic.complete(req()))
    t.eq(res.usage.cache_creation_input_tokens, 0)
    t.ok(res.usage.cache_read_input_tokens > 500, "cache read on reuse")
end

function T.thinking_blocks_are_skipped(t)
    local url = configure(t)
    queue(url, { content = { { type = "thinking", thinking = "Let me consider {\"x\": 1}", signature = "abc" },
                             { type = "text", text = '{"a": ' }, { type = "text", text = '1}' } } })
    local res = assert(anthropic.complete(req()))
    t.eq(res.text, '{"a": 1}', "text blocks joined, thinking left out")
end

function T.rate_limited_is_retryable_with_retry_after(t)
    local url = configure(t)
    queue(url, { status = 429, headers = { ["retry-after"] = "7" },
                 error = { type = "rate_limit_error", message = "Number of request tokens has exceeded your per-minute rate limit" } })
    local res, err, info = anthropic.complete(req())
    t.eq(res, nil)
    t.match(err, "^anthropic 429 rate_limit_error: Number of request tokens")
    t.eq(info.permanent, false)
    t.eq(info.status, 429)
    t.eq(info.retry_after, 7)
    t.match(info.request_id, "^req_fake_")
    for _, st in ipairs({ 529, 500, 503 }) do
        queue(url, { status = st })
        res, err, info = anthropic.complete(req())
        t.eq(res, nil)
        t.match(err, "^anthropic " .. st)
        t.eq(info.permanent, false, st .. " may pass on another try")
        t.eq(info.retry_after, nil)
    end
end

function T.auth_and_bad_requests_are_fatal(t)
    configure(t, { api_key = "sk-ant-wrong" })
    local res, err, info = anthropic.complete(req())
    t.eq(res, nil)
    t.match(err, "^anthropic 401 authentication_error")
    t.eq(info.permanent, true)
    t.eq(info.status, 401)
    wm.config.anthropic.api_key = KEY
    -- The fake checks the request like the API: a broken one is a 400, fatal.
    local bad = req()
    bad.messages = { { role = "assistant", content = "hi" } }
    res, err, info = anthropic.complete(bad)
    t.eq(res, nil)
    t.match(err, "^anthropic 400 invalid_request_error: messages: roles must alternate")
    t.eq(info.permanent, true)
    for _, st in ipairs({ 403, 404, 413 }) do
        queue(base(), { status = st })
        res, err, info = anthropic.complete(req())
        t.eq(res, nil)
        t.match(err, "^anthropic " .. st)
        t.eq(info.permanent, true, st .. " will not pass on another try")
    end
    -- A pinned version: something else would be refused.
    wm.config.anthropic.version = "2026-10-21"
    res, err, info = anthropic.complete(req())
    t.match(err, "^anthropic 400")
    t.eq(info.permanent, true)
end

function T.no_key_no_request(t)
    local url = configure(t, { api_key = "" })
    local old = os.getenv("WM_ANTHROPIC_API_KEY")
    if old and old ~= "" then
        t.skip("WM_ANTHROPIC_API_KEY is set in this environment")
    end
    local res, err, info = anthropic.complete(req())
    t.eq(res, nil)
    t.match(err, "^no Anthropic API key")
    t.eq(info.permanent, true)
    t.eq(#requests(url), 0)
end

function T.connection_failure_and_garbage_are_retryable(t)
    configure(t)
    queue(base(), { raw = "<html>502 Bad Gateway</html>", status = 200 })
    local res, err, info = anthropic.complete(req())
    t.eq(res, nil)
    t.match(err, "^anthropic 200 with a body that is not JSON")
    t.eq(info.permanent, false)
    -- A port nobody listens on.
    wm.config.anthropic.base_url = "http://127.0.0.1:9"
    res, err, info = anthropic.complete(req())
    t.eq(res, nil)
    t.match(err, "^connection: ")
    t.eq(info.permanent, false)
end

-- ---- through the runner -------------------------------------------------------------------------

local llm = require "lib.llm"
local offline = require "providers.llm.offline"

local REVIEWS = {
    { author_title = "Maria G.", review_rating = 5, review_text = "Luis showed up on time and fixed our leaking water heater in an hour. Fair price." },
    { author_title = "Tom B.", review_rating = 5, review_text = "Honest and professional. He explained everything before starting." },
}

local function business()
    assert(require("wm.migrate").up())
    assert(require("lib.prompts").sync())
    return assert(wm.db.one([[INSERT INTO businesses (name, slug, category, city, state, rating, review_count,
        reviews_data) VALUES ('Rivera Plumbing', $1, 'Plumber', 'Austin', 'TX', 4.8, 37, $2::jsonb) RETURNING *]],
        "rivera-" .. wm.crypto.random_token(6):lower():gsub("[^%w]", "x"), wm.json.array(REVIEWS)))
end

function T.run_agent_over_anthropic(t)
    local url = configure(t)
    local b = business()
    local ctx = { business = b, reviews = b.reviews_data }
    local answer = offline.analyst(ctx)
    queue(url, { text = "```json\n" .. wm.json.encode(answer) .. "\n```", model = "claude-sonnet-5-5" })
    local out, call = llm.run_agent("analyst", ctx, { provider = "anthropic", job_id = 9 })
    t.ok(out, tostring(call))
    t.eq(out.review_highlight, answer.review_highlight)
    t.eq(call.provider, "anthropic")
    local row = assert(wm.db.one("SELECT * FROM llm_calls WHERE id = $1", call.id))
    t.eq(row.provider, "anthropic")
    t.eq(row.ok, true)
    t.eq(row.job_id, 9)
    t.match(row.request_id, "^req_fake_")
    t.ok(row.input_tokens > 0 and row.output_tokens > 0 and row.cost_micro_usd > 0)
    t.eq(row.cache_creation_input_tokens + row.cache_read_input_tokens > 0, true, "the system prompt is cacheable")
    -- The request carried the assembled prompt.
    local sent = requests(url)
    local body = sent[#sent].body
    t.eq(body.system[1].text, call.system)
    t.eq(body.max_tokens, require("agents.analyst").max_tokens)
    t.ok(body.messages[1].content:find("Rivera Plumbing", 1, true))
end

function T.run_agent_max_tokens_is_truncated(t)
    local url = configure(t)
    local b = business()
    local ctx = { business = b, reviews = b.reviews_data }
    local full = wm.json.encode(offline.analyst(ctx))
    local cut = full:sub(1, math.floor(#full / 2))
    queue(url, { text = cut, stop_reason = "max_tokens", usage = { output_tokens = 4000 } })
    local out, err, call = llm.run_agent("analyst", ctx, { provider = "anthropic" })
    t.eq(out, nil)
    t.match(err, "^truncated")
    t.eq(call.permanent, false, "a cut answer may be whole on another try")
    local row = assert(wm.db.one("SELECT * FROM llm_calls WHERE id = $1", call.id))
    t.eq(row.ok, false)
    t.eq(row.stop_reason, "max_tokens")
    t.eq(row.raw_response, cut, "the cut answer is kept for inspection")
    t.eq(row.output_tokens, 4000)
    t.ok(row.cost_micro_usd >= 40000, "a truncated call is still paid for")
end

function T.run_agent_provider_errors(t)
    local url = configure(t)
    local b = business()
    local ctx = { business = b, reviews = b.reviews_data }
    queue(url, { status = 429, headers = { ["retry-after"] = "12" } })
    local out, err, call = llm.run_agent("concept", ctx, { provider = "anthropic" })
    t.eq(out, nil)
    t.match(err, "^anthropic 429")
    t.eq({ call.permanent, call.status, call.retry_after }, { false, 429, 12 })
    local row = assert(wm.db.one("SELECT * FROM llm_calls WHERE id = $1", call.id))
    t.eq(row.ok, false)
    t.eq(row.cost_micro_usd, 0)
    t.match(row.raw_response, "rate_limit_error", "the error body is kept")
    wm.config.anthropic.api_key = "sk-ant-nope"
    out, err, call = llm.run_agent("concept", ctx, { provider = "anthropic" })
    t.eq(out, nil)
    t.match(err, "^anthropic 401")
    t.eq(call.permanent, true)
    -- A valid-looking answer of the wrong shape is rejected, not patched.
    wm.config.anthropic.api_key = KEY
    queue(url, { text = '{"archetype": "The Sage", "angle": "Something"}' })
    out, err, call = llm.run_agent("concept", ctx, { provider = "anthropic" })
    t.eq(out, nil)
    t.match(err, "^invalid output: .*design_system: is required")
    t.eq(call.permanent, false)
end

return T
