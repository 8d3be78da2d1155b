-- wm.db round trips: 1,000 tasks on database.pool_size connections, each
-- running `SELECT $1::int` in a loop for the given seconds.
local USAGE = [[usage: wm run tests/bench/db_roundtrips.lua [SECONDS] [TASKS]

TASKS tasks (default 1000) run `SELECT $1::int` in a loop on the wm.db pool
for SECONDS (default 10); prints queries/s and a RESULT line.]]
local opts, pos = require("wm.cli").script_args(arg, USAGE)
if not opts then
    return pos
end
local seconds = tonumber(pos[1]) or 10
local ntasks = tonumber(pos[2]) or 1000
assert(wm.db.query("SELECT 1"))            -- open the pool first
local count, errors = 0, 0
local stop = false
local tasks = {}
local t0 = wm.monotonic()
for i = 1, ntasks do
    tasks[i] = wm.spawn(function()
        while not stop do
            local rows = wm.db.query("SELECT $1::int AS v", i)
            if rows and rows[1].v == i then
                count = count + 1
            else
                errors = errors + 1
            end
        end
    end)
end
wm.sleep(seconds)
stop = true
for _, t in ipairs(tasks) do t:wait() end
local elapsed = wm.monotonic() - t0
io.write(("wm.db: %d tasks on %d connections: %.0f queries/s (%d queries, %d errors, %.1f s)\n")
    :format(ntasks, wm.config.database.pool_size, count / elapsed, count, errors, elapsed))
io.write(("RESULT %.0f\n"):format(count / elapsed))
