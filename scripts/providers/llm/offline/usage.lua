-- Token accounting for the offline provider, shaped like the real API's so
-- that cost and cache figures downstream are exercised: about 4 characters
-- a token, 7 tokens of overhead a message, and a system prompt of at least
-- llm.offline_cache_min_tokens (512) "cached": written on first use, read
-- for 5 minutes after.
--
--   usage.estimate(opts, out_text) -> { input_tokens, output_tokens,
--       cache_creation_input_tokens, cache_read_input_tokens }
--   usage.reset_cache()            forgets the simulated prompt cache (tests)
--
-- The cache lives in this module: a hot reload of it starts a new one,
-- which only moves a few tokens from "read" to "creation".
local type, ipairs, tostring, tonumber = type, ipairs, tostring, tonumber
local ceil, max = math.ceil, math.max

local _M = {}

local cache = {}          -- model .. system hash -> expiry (seconds)
local CACHE_TTL = 300

local function tokens(n)
    return max(1, ceil(n / 4))
end

local function message_chars(messages)
    local n = 0
    for _, m in ipairs(messages or {}) do
        if type(m.content) == "string" then
            n = n + #m.content
        elseif type(m.content) == "table" then
            for _, blk in ipairs(m.content) do
                if type(blk) == "table" and type(blk.text) == "string" then
                    n = n + #blk.text
                end
            end
        end
    end
    return n
end

function _M.estimate(opts, out_text)
    local cfg = (wm.config and wm.config.llm) or {}
    local min_cache = tonumber(cfg.offline_cache_min_tokens) or 512
    local sys = type(opts.system) == "string" and opts.system or ""
    local sys_tokens = #sys > 0 and tokens(#sys) or 0
    local msg_tokens = tokens(message_chars(opts.messages)) + 7 * #(opts.messages or {})
    local u = { input_tokens = msg_tokens, output_tokens = tokens(#out_text),
                cache_creation_input_tokens = 0, cache_read_input_tokens = 0 }
    if sys_tokens >= min_cache then
        local key = tostring(opts.model) .. ":" .. wm.crypto.sha256_hex(sys)
        local now = wm.now()
        if cache[key] and cache[key] > now then
            u.cache_read_input_tokens = sys_tokens
        else
            u.cache_creation_input_tokens = sys_tokens
        end
        cache[key] = now + CACHE_TTL
    else
        u.input_tokens = u.input_tokens + sys_tokens
    end
    return u
end

function _M.reset_cache()
    cache = {}
end

return _M
