-- Enqueues arg[1] no-op jobs in batches of 10,000 (tests/bench/jobs).
local n = tonumber(arg[1]) or 50000
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
