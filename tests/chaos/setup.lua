-- The chaos suite's workload: migrates the database, syncs the prompts,
-- seeds the coverage grid, and enqueues a scrape for the first N cells (by
-- the autopilot's own order), which the hosts then carry through the loop;
-- with --spread S the scrapes start S/N seconds apart, so that leads keep
-- arriving while the chaos lasts. The autopilot stays off in the hosts, so
-- nothing else is started.
--
--   wm --config CHAOS_CONFIG run tests/chaos/setup.lua --cells N [--spread S]
local cli = require "wm.cli"
local grid = require "lib.grid"

local opts, rest = cli.parse(arg, { ["--cells"] = "number", ["--spread"] = "number" })
if not opts or not opts.cells then
    io.stderr:write("setup: ", rest or "--cells is required", "\nusage: wm run tests/chaos/setup.lua --cells N [--spread S]\n")
    return 2
end

assert(require("wm.migrate").up())
assert(require("lib.prompts").sync())
assert(grid.seed_if_empty())
local cells = assert(wm.db.query([[SELECT id, city, industry FROM coverage_grid WHERE status = 'pending'
    ORDER BY priority DESC, population DESC, id LIMIT $1]], opts.cells))
for i, c in ipairs(cells) do
    local delay = (opts.spread or 0) * (i - 1) / #cells
    assert(grid.set_status(c.id, "in_progress"))
    assert(wm.jobs.enqueue("scrape", { grid_id = c.id }, { unique_key = "scrape:" .. c.id, delay = delay }))
    io.stdout:write(("cell %s: %s, %s, scraped after %.0f s\n"):format(c.id, c.city, c.industry, delay))
end
return #cells == opts.cells and 0 or 1
