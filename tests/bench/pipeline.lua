-- The pipeline benchmark (see tests/bench/pipeline).
local USAGE = [[usage: wm run tests/bench/pipeline.lua MODE ARGS (driven by tests/bench/pipeline)

  ingest-rows FILE.csv N   the mapped rows of N simulated leads as CSV (for psql \copy)
  ingest N                 the ingest stage alone on the same N leads: rows/s
  loop N                   N leads from scrape to outbox: leads/s and peak RSS]]
local opts, pos = require("wm.cli").script_args(arg, USAGE)
if not opts then
    return pos
end
local mode, a2, a3 = pos[1], pos[2], pos[3]
if mode ~= "ingest-rows" and mode ~= "ingest" and mode ~= "loop" then
    io.stderr:write(USAGE, "\n")
    return 2
end
local leads = require "lib.leads"
local source = require "providers.leads.simulated"

local COLUMNS = { "gmb_id", "gmb_place_id", "name", "slug", "email", "phone", "website_url", "address", "city",
                  "state", "zip_code", "country", "latitude", "longitude", "category", "subcategory", "rating",
                  "review_count", "photos_urls", "logo_url", "coverage_grid_id", "raw_place" }

-- N leads as (cell, places) pairs: N/20 cells from the grid, 20 places each.
local function make_places(n)
    local per = 20
    local cells = assert(wm.db.query("SELECT * FROM coverage_grid ORDER BY population DESC NULLS LAST, industry LIMIT $1",
                                     math.ceil(n / per)))
    local out, total = {}, 0
    for _, cell in ipairs(cells) do
        local places = assert(source.search { city = cell.city, state = cell.state, industry = cell.industry,
                                              limit = math.min(per, n - total), seed = 7 })
        out[#out + 1] = { cell = cell, places = places }
        total = total + #places
        if total >= n then
            break
        end
    end
    return out, total
end

local function csv_field(v)
    if v == nil or v == wm.null then
        return ""
    end
    if type(v) == "table" then
        v = wm.json.encode(v)
    end
    v = tostring(v)
    if v:find('[",\n\r]') then
        return '"' .. v:gsub('"', '""') .. '"'
    end
    return v
end

assert(require("wm.migrate").up())
assert(require("lib.grid").seed_if_empty())

if mode == "ingest-rows" then
    local f = assert(io.open(a2, "w"))
    local batches, total = make_places(tonumber(a3))
    for _, b in ipairs(batches) do
        for _, p in ipairs(b.places) do
            local row = leads.to_business(p, b.cell)
            local fields = {}
            for i, c in ipairs(COLUMNS) do
                fields[i] = csv_field(row[c])
            end
            f:write(table.concat(fields, ","), "\n")
        end
    end
    f:close()
    io.write(("COLUMNS %s\nROWS %d\n"):format(table.concat(COLUMNS, ","), total))
elseif mode == "ingest" then
    -- As the job system runs it: one upsert per grid cell's places, with
    -- the stage's concurrency.
    local batches, total = make_places(tonumber(a2))
    local ingest = require "stages.ingest"
    local workers = ingest.concurrency or 4
    local t0 = wm.monotonic()
    local next_batch = 0
    local tasks = {}
    for w = 1, workers do
        tasks[w] = wm.spawn(function()
            while true do
                next_batch = next_batch + 1
                local b = batches[next_batch]
                if not b then
                    return
                end
                assert(ingest.upsert(b.places, b.cell))
            end
        end)
    end
    for _, task in ipairs(tasks) do
        assert(task:wait())
    end
    local secs = wm.monotonic() - t0
    io.write(("RESULT %.0f\n"):format(total / secs))
    io.write(("ingest stage: %d rows in %.3f s (mapping included, %d at a time)\n"):format(total, secs, workers))
elseif mode == "loop" then
    local n = tonumber(a2)
    local cells = assert(wm.db.query("SELECT id FROM coverage_grid ORDER BY population DESC NULLS LAST, industry LIMIT $1",
                                     math.ceil(n / wm.config.leads.per_cell)))
    wm.config.autopilot.enabled = false
    local t0 = wm.monotonic()
    for _, c in ipairs(cells) do
        assert(wm.jobs.enqueue("scrape", { grid_id = c.id }, { unique_key = "scrape:" .. c.id }))
    end
    assert(wm.jobs.start_worker { cron = false })
    while true do
        wm.sleep(0.25)
        local r = assert(wm.db.one([[SELECT count(*) FILTER (WHERE status IN ('available', 'running')
            OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '15 seconds'))::int AS live
            FROM jobs]]))
        if r.live == 0 then
            break
        end
    end
    local secs = wm.monotonic() - t0
    wm.jobs.stop_worker(5)
    local c = assert(wm.db.one([[SELECT (SELECT count(*) FROM businesses)::int AS leads,
        (SELECT count(*) FROM generated_sites)::int AS sites,
        (SELECT count(*) FROM campaigns WHERE status = 'sent')::int AS emails,
        (SELECT count(*) FROM jobs WHERE status = 'discarded')::int AS failed]]))
    local f = io.open("/proc/self/status")
    local hwm = f and f:read("*a"):match("VmHWM:%s*(%d+)") or "?"
    if f then f:close() end
    io.write(("loop: %d leads, %d sites, %d emails, %d failed jobs in %.1f s = %.0f leads/s, peak RSS %.1f MB\n")
        :format(c.leads, c.sites, c.emails, c.failed, secs, c.leads / secs, (tonumber(hwm) or 0) / 1024))
end
