-- Cron: periodic entries from config.cron, each { every = seconds,
-- offset = seconds into the period, kind = job kind, payload = {...} }.
-- Every host runs the ticker; an entry fires once per period across all of
-- them, because the (name, slot) row in cron_runs is inserted by one host
-- only, in the same transaction as the job it enqueues.
local M = {}

local ticker
local stop_ev

local function slot_of(entry, now)
    return math.floor((now - (entry.offset or 0)) / entry.every)
end

function M.fire(name, entry, slot, host)
    return wm.db.tx(function(q)
        local won = assert(q:query([[INSERT INTO cron_runs (name, slot, fired_by) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING RETURNING name]], name, slot, host))
        if not won[1] then
            return false
        end
        local payload = {}
        for k, v in pairs(entry.payload or {}) do
            payload[k] = v
        end
        payload.cron, payload.slot = name, slot
        local id = assert(require("wm.jobs").enqueue(entry.kind, payload, { tx = q }))
        assert(q:query("UPDATE cron_runs SET job_id = $3 WHERE name = $1 AND slot = $2", name, slot, id))
        return true
    end)
end

function M.start(host)
    if ticker then
        return
    end
    stop_ev = wm.event()
    local last = {}
    ticker = wm.spawn(function()
        while true do
            local entries = wm.config.cron or {}
            local now = wm.now()
            local wait = 1
            for name, e in pairs(entries) do
                if type(e) == "table" and e.every and e.kind and e.enabled ~= false then
                    local slot = slot_of(e, now)
                    if last[name] ~= slot then
                        local ok, err = M.fire(name, e, slot, host)
                        if ok ~= nil then
                            last[name] = slot
                        else
                            wm.log.warn("cron: could not fire", { entry = name, error = tostring(err) })
                        end
                    end
                    local next_at = (slot + 1) * e.every + (e.offset or 0)
                    wait = math.min(wait, math.max(0.05, next_at - now))
                end
            end
            if stop_ev:wait(wait) then
                break
            end
        end
    end)
end

function M.stop()
    if ticker then
        stop_ev:set()
        ticker:wait(5)
        ticker = nil
    end
end

return M
