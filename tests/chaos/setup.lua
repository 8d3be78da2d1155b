-- The chaos suite's workload: migrates the database, syncs the prompts,
-- seeds the coverage grid, and enqueues a scrape for the first N cells (by
-- the autopilot's own order), which the hosts then carry through the loop;
-- with --spread S the scrapes start S/N seconds apart, so that leads keep
-- arriving while the chaos lasts. The autopilot stays off in the hosts, so
-- nothing else is started.
--
--   wm --config CHAOS_CONFIG run tests/chaos/setup.lua --cells N [--spread S]
local cli = require "wm.cli"
local cells_of = require "domain.grid"

local USAGE = [[usage: wm run tests/chaos/setup.lua --cells N [--spread S]

  --cells N    scrape the first N pending grid cells (the autopilot's order)
  --spread S   start the scrapes over S seconds instead of all at once]]

local opts, rest = cli.script_args(arg, USAGE, { ["--cells"] = "number", ["--spread"] = "number" })
if not opts then
    return rest
elseif not opts.cells then
    io.stderr:write("setup: --cells is required\n\n", USAGE, "\n")
    return 2
end
local grid = require "lib.grid"

assert(require("wm.migrate").up())
assert(require("lib.prompts").sync())
assert(grid.seed_if_empty())
local cells = assert(wm.db.query([[SELECT id, city, industry FROM coverage_grid WHERE status = 'pending'
    ORDER BY priority DESC, population DESC, id LIMIT $1]], opts.cells))
for i, c in ipairs(cells) do
    local delay = (opts.spread or 0) * (i - 1) / #cells
    assert(cells_of.start(c.id, { city = c.city, industry = c.industry, by = "chaos" }))
    assert(wm.jobs.enqueue("scrape", { grid_id = c.id }, { unique_key = "scrape:" .. c.id, delay = delay }))
    io.stdout:write(("cell %s: %s, %s, scraped after %.0f s\n"):format(c.id, c.city, c.industry, delay))
end
return #cells == opts.cells and 0 or 1
