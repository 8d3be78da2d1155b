-- The HTTP website check (providers/website/http.lua) with the web replaced
-- by tests/fakes/websites.py, for the chaos suite: every candidate request
-- goes to <custom.chaos.websites_url>/site/<host>, where the fake answers 404 (no
-- site), 200 for some hosts, or hangs past website_check.timeout on a
-- fraction of requests. Everything else is the real check: its timeouts,
-- deadline, evidence and verdicts.
local http = require "providers.website.http"

local _M = { name = "http_fake" }

function _M.check(b, raw)
    local c = wm.config.custom and wm.config.custom.chaos
    local base = assert(c and c.websites_url, "config custom.chaos.websites_url is not set")
    return http.check(b, raw, {
        canary_url = base .. "/ok",
        rewrite = function(url)
            local host = url:match("^https?://([^/:]+)") or "invalid"
            return base .. "/site/" .. host
        end,
    })
end

return _M
