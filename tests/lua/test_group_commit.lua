-- lib.group_commit: concurrent submissions share statements, each caller
-- gets its own result after its group's flush, and a failed flush fails
-- every item of that group and no other.
local group_commit = require "lib.group_commit"
local T = {}

local function submit_all(g, n, make)
    local tasks, results = {}, {}
    for i = 1, n do
        tasks[i] = wm.spawn(function()
            local r, err = g:submit(make(i))
            results[i] = { r, err }
        end)
    end
    for _, task in ipairs(tasks) do
        task:wait()
    end
    return results
end

function T.a_burst_is_written_in_few_flushes_with_each_result_in_place(t)
    local flushes, sizes = 0, {}
    local g = group_commit.new(function(items)
        flushes = flushes + 1
        sizes[#sizes + 1] = #items
        wm.sleep(0.01) -- a commit's round trip
        local out = {}
        for i, v in ipairs(items) do
            out[i] = v * 10
        end
        return out
    end, { max = 50, inflight = 2 })
    local results = submit_all(g, 200, function(i) return i end)
    for i = 1, 200 do
        t.eq(results[i][1], i * 10, "item " .. i .. " got its own result")
    end
    t.ok(flushes <= 8, "200 items in " .. flushes .. " flushes")
    for _, n in ipairs(sizes) do
        t.ok(n <= 50, "a flush holds at most max items")
    end
end

function T.a_lone_item_is_written_at_once(t)
    local g = group_commit.new(function(items) return { #items } end)
    local t0 = wm.monotonic()
    t.eq(g:submit("x"), 1)
    t.ok(wm.monotonic() - t0 < 0.05, "no timer delays a lone item")
end

function T.a_failed_flush_fails_its_group_only(t)
    local groups = {}
    local g = group_commit.new(function(items)
        groups[#groups + 1] = items
        local call = #groups
        wm.sleep(0.01)
        if call == 1 then
            return nil, "connection lost"
        elseif call == 2 then
            error("boom")
        end
        local out = {}
        for i = 1, #items do
            out[i] = true
        end
        return out
    end, { inflight = 1, max = 2 })
    local results = submit_all(g, 5, function(i) return i end)
    t.ok(#groups >= 3, "five items, at most two a flush: " .. #groups .. " flushes")
    local want = { "^connection lost$", "boom" }
    for call, items in ipairs(groups) do
        for _, i in ipairs(items) do
            if want[call] then
                t.eq(results[i][1], nil, "item " .. i .. " of failed flush " .. call)
                t.match(results[i][2], want[call])
            else
                t.eq(results[i][1], true, "item " .. i .. " of good flush " .. call)
            end
        end
    end
    -- The group still works afterwards.
    t.eq(g:submit(6), true)
end

return T
