-- The Anthropic Messages API (providers.md §3): POST {base_url}/v1/messages.
--
--   anthropic.complete{agent=, system=, messages=, max_tokens=, model=, context=}
--       -> {text=, stop_reason=, model=, usage=, request_id=, content=}
--        | nil, err, info
--
-- The system prompt goes as one text block marked cache_control ephemeral
-- (the agent's instructions are the stable prefix; the business data is in
-- the user turn). The answer's text blocks are joined (thinking blocks are
-- skipped); stop_reason and usage are returned exactly as received.
--
-- Errors: info.permanent says whether asking again can help: false for
-- 429, 500, 529 and other 5xx, 408, connection failures, an unreadable 200;
-- true for 400, 401, 403, 404, 413 and other 4xx, no API key. info =
-- {permanent=, status=, retry_after=seconds from the retry-after header,
-- request_id=, body=raw body}.
--
-- Config (wm.config.anthropic, all optional): api_key (WM_ANTHROPIC_API_KEY),
-- base_url (default https://api.anthropic.com), version (2023-06-01),
-- timeout (seconds, default 300), extra (a table merged into every request
-- body, e.g. { output_config = { effort = "medium" } }), cache (false: no
-- cache_control).
local text = require "lib.text"

local type, pairs, ipairs, tostring, tonumber, error = type, pairs, ipairs, tostring, tonumber, error
local concat = table.concat
local match, gsub, sub, lower, format = string.match, string.gsub, string.sub, string.lower, string.format

local _M = { _VERSION = "0.1", name = "anthropic" }

local DEFAULT_BASE = "https://api.anthropic.com"
local VERSION = "2023-06-01"

local function conf()
    local c = (wm.config and wm.config.anthropic) or {}
    local key = c.api_key
    if key == nil or key == "" then
        key = os.getenv("WM_ANTHROPIC_API_KEY")
    end
    local base = c.base_url
    if base == nil or base == "" then
        base = DEFAULT_BASE
    end
    return {
        api_key = key,
        base_url = (gsub(base, "/+$", "")),
        version = (c.version ~= nil and c.version ~= "") and c.version or VERSION,
        timeout = tonumber(c.timeout) or 300,
        extra = type(c.extra) == "table" and c.extra or nil,
        cache = c.cache ~= false,
    }
end

-- retry-after: seconds (what Anthropic sends) or an HTTP date.
local function retry_after(headers)
    local v = headers and headers["retry-after"]
    if type(v) ~= "string" then
        return nil
    end
    local n = tonumber(match(v, "^%s*(%d+%.?%d*)%s*$"))
    if n then
        return n
    end
    return nil
end

local function error_text(body)
    if type(body) ~= "string" or body == "" then
        return "no body"
    end
    local ok, t = pcall(wm.json.decode, body)
    if ok and type(t) == "table" and type(t.error) == "table" then
        local e = t.error
        return (type(e.type) == "string" and e.type or "error") .. ": "
            .. (text.line(e.message, 300) or "")
    end
    return text.line(body, 200) or "no body"
end

local FATAL = { [400] = true, [401] = true, [403] = true, [404] = true, [413] = true }

function _M.complete(opts)
    if type(opts) ~= "table" or type(opts.messages) ~= "table" or type(opts.model) ~= "string" then
        error("usage: anthropic.complete{agent=, system=, messages=, max_tokens=, model=}", 2)
    end
    local c = conf()
    if not c.api_key or c.api_key == "" then
        return nil, "no Anthropic API key (set WM_ANTHROPIC_API_KEY)", { permanent = true }
    end
    if not wm.http then
        return nil, "wm.http is not available in this host", { permanent = true }
    end

    local body = {
        model = opts.model,
        max_tokens = tonumber(opts.max_tokens) or 4096,
        messages = opts.messages,
    }
    if type(opts.system) == "string" and opts.system ~= "" then
        local block = { type = "text", text = opts.system }
        if c.cache then
            block.cache_control = { type = "ephemeral" }
        end
        body.system = wm.json.array({ block })
    end
    if c.extra then
        for k, v in pairs(c.extra) do
            if body[k] == nil then
                body[k] = v
            end
        end
    end
    local payload = wm.json.encode(body)

    local res, err = wm.http.request {
        method = "POST",
        url = c.base_url .. "/v1/messages",
        headers = {
            ["x-api-key"] = c.api_key,
            ["anthropic-version"] = c.version,
            ["content-type"] = "application/json",
            ["accept"] = "application/json",
        },
        body = payload,
        timeout = c.timeout,
    }
    if not res then
        return nil, "connection: " .. tostring(err), { permanent = false }
    end
    local status = res.status
    local headers = res.headers or {}
    local info = {
        permanent = false,
        status = status,
        request_id = headers["request-id"],
        retry_after = retry_after(headers),
        body = res.body,
    }
    if status ~= 200 then
        local what = format("anthropic %d %s", status, error_text(res.body))
        info.permanent = FATAL[status] == true or (status >= 400 and status < 500 and status ~= 408 and status ~= 429)
        return nil, what, info
    end

    local ok, msg = pcall(wm.json.decode, res.body or "")
    if not ok or type(msg) ~= "table" then
        return nil, "anthropic 200 with a body that is not JSON", info
    end
    if msg.type == "error" then
        return nil, "anthropic error in a 200: " .. error_text(res.body), info
    end
    local parts = {}
    if type(msg.content) == "table" then
        for _, blk in ipairs(msg.content) do
            if type(blk) == "table" and blk.type == "text" and type(blk.text) == "string" then
                parts[#parts + 1] = blk.text
            end
        end
    end
    return {
        text = concat(parts),
        stop_reason = msg.stop_reason ~= wm.null and msg.stop_reason or nil,
        model = type(msg.model) == "string" and msg.model or opts.model,
        usage = type(msg.usage) == "table" and msg.usage or {},
        request_id = info.request_id or (type(msg.id) == "string" and msg.id or nil),
        content = msg.content,
    }
end

return _M
