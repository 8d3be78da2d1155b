-- A stage's outcome as one value: lib.outcome's constructors, and how
-- wm.jobs.run turns whatever a stage returns (an outcome value, or the
-- older true / nil, err, opts / {snooze=} forms) into the one table the C
-- scheduler reads (outcome code, error, delay).
local T = {}

local outcome = require "lib.outcome"
local stages = require "wm.stages"
local core = require "wm.core.jobs"

-- Runs `fn` as the stage of a made-up kind through wm.jobs.run.
local function run_stage(t, fn)
    local get = stages.get
    stages.get = function(kind)
        if kind == "outcome_test" then
            return { kind = kind, run = fn }
        end
        return get(kind)
    end
    t.defer(function() stages.get = get end)
    local res = wm.jobs.run { id = 1, kind = "outcome_test", payload = {}, attempt = 1, max_attempts = 3 }
    stages.get = get
    return res
end

function T.codes_are_distinct_integers(t)
    local seen = {}
    for _, name in ipairs({ "COMPLETED", "RETRY", "DISCARD", "SNOOZE" }) do
        local code = core[name]
        t.eq(type(code), "number", name)
        t.eq(code, math.floor(code), name)
        t.ok(not seen[code], name .. " is distinct")
        seen[code] = true
    end
end

function T.constructors(t)
    local d = outcome.done()
    t.eq(d.outcome, core.COMPLETED)
    t.ok(outcome.is(d))
    local r = outcome.retry("busy", 7)
    t.eq(r.outcome, core.RETRY)
    t.eq(r.error, "busy")
    t.eq(r.delay, 7)
    t.eq(outcome.retry("busy").delay, nil, "no delay: the scheduler's backoff")
    local x = outcome.discard("gone")
    t.eq(x.outcome, core.DISCARD)
    t.eq(x.error, "gone")
    local s = outcome.snooze(30)
    t.eq(s.outcome, core.SNOOZE)
    t.eq(s.delay, 30)
    t.eq(tostring(r), "outcome.retry: busy")
    t.ok(not outcome.is({ outcome = core.COMPLETED }), "an untagged table is not an outcome")
    t.ok(not outcome.is(nil))
    t.ok(not pcall(outcome.retry, "x", "soon"), "a delay that is not a number raises")
end

function T.outcome_values_pass_through(t)
    for _, o in ipairs({ outcome.done(), outcome.retry("e", 2), outcome.discard("d"), outcome.snooze(5) }) do
        local res = run_stage(t, function() return o end)
        t.eq(res.outcome, o.outcome)
        t.eq(res.error, o.error)
        t.eq(res.delay, o.delay)
    end
end

function T.older_forms_map_to_outcomes(t)
    local res = run_stage(t, function() return true end)
    t.eq(res.outcome, core.COMPLETED)
    res = run_stage(t, function() return nil, "soft", { retry_in = 4 } end)
    t.eq(res.outcome, core.RETRY)
    t.eq(res.error, "soft")
    t.eq(res.delay, 4)
    res = run_stage(t, function() return nil, "hard", { discard = true } end)
    t.eq(res.outcome, core.DISCARD)
    t.eq(res.error, "hard")
    res = run_stage(t, function() return { snooze = 9 } end)
    t.eq(res.outcome, core.SNOOZE)
    t.eq(res.delay, 9)
    res = run_stage(t, function() return nil end)
    t.eq(res.outcome, core.RETRY)
    t.eq(res.error, "the stage returned no result")
end

function T.a_raising_stage_is_a_retry_with_its_traceback(t)
    local res = run_stage(t, function() error("kaput") end)
    t.eq(res.outcome, core.RETRY)
    t.match(res.error, "kaput")
    t.match(res.error, "stack traceback")
end

function T.an_unknown_kind_is_discarded(t)
    local res = wm.jobs.run { id = 2, kind = "no_such_kind_here", payload = {} }
    t.eq(res.outcome, core.DISCARD)
    t.match(res.error, "no stage for job kind 'no_such_kind_here'")
end

-- A newer copy of lib.outcome (after a hot reload) still makes outcomes.
function T.outcomes_survive_a_module_reload(t)
    local saved = package.loaded["lib.outcome"]
    package.loaded["lib.outcome"] = nil
    local fresh = require "lib.outcome"
    package.loaded["lib.outcome"] = saved
    t.ok(fresh ~= outcome)
    local res = run_stage(t, function() return fresh.retry("from the new copy", 3) end)
    t.eq(res.outcome, core.RETRY)
    t.eq(res.error, "from the new copy")
end

return T
