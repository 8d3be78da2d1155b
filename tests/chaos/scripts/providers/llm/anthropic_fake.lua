-- The Anthropic provider (providers/llm/anthropic.lua) against the fake
-- Messages API (tests/fakes/anthropic.py, anthropic.base_url), for the chaos
-- suite. The fake cannot write an agent's answer, so the words come from the
-- offline author: its answer is registered at the fake under the SHA-256 of
-- the prompt's last user turn, then the real provider makes the call and
-- reads what the fake sends back, the answer or a 429/529/500 with
-- retry-after, exactly as it would read the real API.
local anthropic = require "providers.llm.anthropic"
local offline = require "providers.llm.offline"

local _M = { name = "anthropic_fake" }

local function text_of(content)
    if type(content) == "string" then
        return content
    end
    local out = {}
    for _, b in ipairs(type(content) == "table" and content or {}) do
        if type(b) == "table" and type(b.text) == "string" then
            out[#out + 1] = b.text
        end
    end
    return table.concat(out)
end

function _M.complete(opts)
    local authored = offline.complete(opts)
    if authored then
        local last = opts.messages[#opts.messages]
        local base = tostring(wm.config.anthropic.base_url):gsub("/+$", "")
        local res, err = wm.http.request {
            method = "POST", url = base .. "/_fake/answer", timeout = 10,
            headers = { ["content-type"] = "application/json" },
            body = wm.json.encode { key = wm.crypto.sha256_hex(text_of(last and last.content)),
                                    text = authored.text, stop_reason = authored.stop_reason },
        }
        if not res or res.status ~= 200 then
            return nil, "connection: the fake did not take the answer: "
                .. tostring(err or (res and res.status)), { permanent = false }
        end
    end
    return anthropic.complete(opts)
end

return _M
