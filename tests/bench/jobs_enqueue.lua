-- Enqueues COUNT no-op jobs in batches of 10,000 (tests/bench/jobs).
local USAGE = [[usage: wm run tests/bench/jobs_enqueue.lua [COUNT]

Enqueues COUNT (default 50000) jobs of kind "noop" in batches of 10,000 and
prints how many; the stages come from WM_SCRIPTS_PATH=tests/jobs/scripts.]]
local opts, pos = require("wm.cli").script_args(arg, USAGE)
if not opts then
    return pos
end
local n = tonumber(pos[1]) or 50000
local done = 0
while done < n do
    local batch = {}
    for i = 1, math.min(10000, n - done) do
        batch[i] = { i = done + i }
    end
    assert(wm.jobs.enqueue_many("noop", batch))
    done = done + #batch
end
print(done)
