-- Picks the provider module for a capability from config: providers.<capability>
-- = "name" loads scripts/providers/<capability>/<name>.lua. Real providers
-- are a new file beside the offline ones, not a redesign.
local _M = {}

local DEFAULTS = { leads = "simulated", website = "simulated", llm = "offline", mail = "outbox", payments = "offline" }

function _M.get(capability)
    local cfg = wm.config.providers or {}
    local name = cfg[capability] or DEFAULTS[capability]
    if not name then
        error("no provider configured for " .. tostring(capability), 2)
    end
    local ok, mod = pcall(require, "providers." .. capability .. "." .. name)
    if not ok then
        error(("provider %s/%s: %s"):format(capability, name, tostring(mod)), 2)
    end
    return mod, name
end

return _M
