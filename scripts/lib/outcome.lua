-- A stage's outcome as one value. A stage's run(job) may return one of
--
--   outcome.done()               the job is complete
--   outcome.retry(err, delay)    try again after `delay` seconds (nil: the
--                                scheduler's backoff); discarded anyway after
--                                max_attempts
--   outcome.discard(err)         give up now, keeping err
--   outcome.snooze(delay)        not now: run again after `delay` seconds,
--                                without counting an attempt
--
-- instead of true / nil, err, {retry_in=}|{discard=true} / {snooze=s}
-- (both are accepted). Each is a table tagged with this module's metatable,
-- whose `outcome` field is the scheduler's code (wm.core.jobs), so the C
-- side reads it without comparing strings.
local core = require "wm.core.jobs"

local setmetatable, getmetatable, tostring, type = setmetatable, getmetatable, tostring, type

local _M = {}

-- Recognised by name, not by identity: after a hot reload a stage may hold
-- a newer copy of this module than the runner does.
local TAG = "wm.outcome"
local mt = { __name = TAG }
local NAMES = {
    [core.COMPLETED] = "done", [core.RETRY] = "retry",
    [core.DISCARD] = "discard", [core.SNOOZE] = "snooze",
}
mt.__tostring = function(o)
    return "outcome." .. NAMES[o.outcome] .. (o.error and (": " .. o.error) or "")
end

local function make(code, err, delay)
    if delay ~= nil and type(delay) ~= "number" then
        error("outcome: delay must be a number of seconds", 3)
    end
    return setmetatable({ outcome = code, error = err ~= nil and tostring(err) or nil, delay = delay }, mt)
end

function _M.done()
    return make(core.COMPLETED)
end

function _M.retry(err, delay)
    return make(core.RETRY, err or "retry asked by the stage", delay)
end

function _M.discard(err)
    return make(core.DISCARD, err or "discarded by the stage")
end

function _M.snooze(delay)
    return make(core.SNOOZE, nil, delay)
end

-- Whether `v` was made by one of the constructors above.
function _M.is(v)
    local m = type(v) == "table" and getmetatable(v)
    return type(m) == "table" and m.__name == TAG
end

return _M
