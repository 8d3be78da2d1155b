-- Group commit for a hot write path: many tasks each need "my row is
-- durable" before they answer, and one commit per row would make PostgreSQL
-- flush its WAL once per row. A group collects the items submitted while
-- its previous statements are in flight and writes them with the next one,
-- so a burst of N deliveries costs a handful of commits, while a lone
-- delivery is written at once (no timer, no added wait when idle).
--
--   local g = group_commit.new(flush, { max = 500, inflight = 2 })
--   local result, err = g:submit(item)   -- from a wm task; waits for the commit
--
-- flush(items) runs in a task of its own (outside any caller's transaction)
-- and returns one result per item, in order: `results` (a list), or nil,
-- err when the whole statement failed; then every item of that group gets
-- nil, err and nothing of it was committed.
local _M = {}

local Group = {}
Group.__index = Group

function _M.new(flush, opts)
    opts = opts or {}
    return setmetatable({ flush = flush, max = opts.max or 500, inflight = opts.inflight or 2,
                          queue = {}, running = 0 }, Group)
end

-- One writer: takes up to `max` waiting items, writes them, wakes their
-- tasks; again while items wait.
local function writer(g)
    while #g.queue > 0 do
        local batch = {}
        local n = math.min(#g.queue, g.max)
        table.move(g.queue, 1, n, 1, batch)
        table.move(g.queue, n + 1, #g.queue + n, 1, g.queue)
        local items = {}
        for i, slot in ipairs(batch) do
            items[i] = slot.item
        end
        local ok, results, err = pcall(g.flush, items)
        if not ok then
            results, err = nil, results
        end
        for i, slot in ipairs(batch) do
            if results then
                slot.result = results[i]
            else
                slot.err = err
            end
            slot.done:set()
        end
    end
    g.running = g.running - 1
end

function Group:submit(item)
    local slot = { item = item, done = wm.event() }
    self.queue[#self.queue + 1] = slot
    if self.running < self.inflight then
        self.running = self.running + 1
        wm.spawn(writer, self)
    end
    slot.done:wait()
    if slot.err ~= nil then
        return nil, slot.err
    end
    return slot.result
end

return _M
