-- A bounded run of the whole loop: the largest N cities x the first M
-- industries of the coverage grid, from scrape to outbox, with a progress
-- bar on a terminal and a summary table at the end.
local cli = require "wm.cli"
local grid = require "lib.grid"

local USAGE = [[usage: wm run scripts/batch/demo.lua [--cities N] [--industries M] [--timeout S] [--quiet]

Runs the whole loop on the largest N cities x the first M industries of the
coverage grid (migrating and seeding it first), from scrape to outbox, then
prints a summary table; jobs run in this process, the autopilot stays off.

  --cities N       cities, largest first (default 2)
  --industries M   industries, by priority (default 3)
  --timeout S      give up after S seconds (default 600)
  --quiet          no progress bar, even on a terminal

Exit status: 0, or 1 when a job failed for good (discarded), 2 on a usage error.]]

local opts, rest = cli.script_args(arg, USAGE, { ["--cities"] = "number", ["--industries"] = "number",
                                                 ["--timeout"] = "number", ["--quiet"] = "boolean" })
if not opts then
    return rest
end
local ncities, nind = opts.cities or 2, opts.industries or 3

assert(require("wm.migrate").up())
assert(require("lib.prompts").sync())
assert(grid.seed_if_empty())

local cells = assert(wm.db.query([[
    WITH cities AS (SELECT state, city, max(population) AS pop FROM coverage_grid
                    GROUP BY state, city ORDER BY pop DESC NULLS LAST, city LIMIT $1),
         inds AS (SELECT industry, max(priority) AS p FROM coverage_grid
                  GROUP BY industry ORDER BY p DESC, industry LIMIT $2)
    SELECT g.* FROM coverage_grid g JOIN cities c USING (state, city) JOIN inds i USING (industry)
    WHERE g.status <> 'paused' ORDER BY c.pop DESC, g.industry]], ncities, nind))
if #cells == 0 then
    io.stderr:write("demo: no grid cells to work on (is every one paused?)\n")
    return 1
end
local ids = {}
for _, c in ipairs(cells) do
    ids[#ids + 1] = c.id
    assert(require("domain.grid").start(c.id, { city = c.city, state = c.state, industry = c.industry, by = "demo" }))
    assert(wm.jobs.enqueue("scrape", { grid_id = c.id }, { unique_key = "scrape:" .. c.id }))
end
io.stdout:write(("demo: %d grid cells (%d cities x %d industries)\n"):format(#cells, ncities, nind))

local started = math.floor(wm.now()) - 1
wm.config.autopilot.enabled = false           -- only these cells
assert(wm.jobs.start_worker { cron = false })

local function counts()
    return assert(wm.db.one([[
        SELECT count(*)::int AS leads,
               count(*) FILTER (WHERE lead_status IN ('no_website', 'qualified', 'disqualified'))::int AS no_site,
               count(*) FILTER (WHERE lead_status = 'has_website')::int AS has_site,
               count(*) FILTER (WHERE qualified_at IS NOT NULL)::int AS qualified,
               (SELECT count(*) FROM generated_sites s WHERE s.business_id = ANY(array_agg(b.id)))::int AS sites,
               (SELECT count(*) FROM campaigns c WHERE c.business_id = ANY(array_agg(b.id))
                  AND c.status = 'sent')::int AS emails
        FROM businesses b WHERE b.coverage_grid_id = ANY($1::uuid[])]], wm.db.array(ids)))
end

local function live_jobs()
    return assert(wm.db.one([[SELECT count(*) FILTER (WHERE status IN ('available', 'running')
            OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '15 seconds'))::int AS live,
        count(*)::int AS total FROM jobs WHERE created_at >= to_timestamp($1)]], started))
end

local tty = wm.sys.isatty(1) and not opts.quiet
local deadline = wm.monotonic() + (opts.timeout or 600)
local last_line = 0
while true do
    wm.sleep(0.2)
    local j = live_jobs()
    local c = counts()
    local done = j.total - j.live
    if tty then
        local width = 30
        local fill = j.total > 0 and math.floor(width * done / j.total) or 0
        io.stdout:write(("\r[%s%s] %d/%d jobs  leads %d  no site %d  qualified %d  sites %d  emails %d   ")
            :format(("#"):rep(fill), ("."):rep(width - fill), done, j.total, c.leads, c.no_site, c.qualified,
                    c.sites, c.emails))
        io.stdout:flush()
    elseif wm.monotonic() - last_line > 5 then
        last_line = wm.monotonic()
        io.stdout:write(("progress: %d/%d jobs, %d leads, %d sites, %d emails\n"):format(done, j.total, c.leads,
            c.sites, c.emails))
    end
    if j.live == 0 and j.total > 0 then
        break
    end
    if wm.monotonic() > deadline then
        io.stdout:write("\ndemo: timed out; jobs still running are handed back\n")
        break
    end
end
if tty then
    io.stdout:write("\n")
end
wm.jobs.stop_worker(10)

local c = counts()
local cost = 0
if assert(wm.db.one("SELECT to_regclass('llm_calls') IS NOT NULL AS ok")).ok then
    cost = assert(wm.db.one([[SELECT coalesce(sum(cost_micro_usd), 0)::float8 / 1e6 AS usd FROM llm_calls
        WHERE business_id IN (SELECT id FROM businesses WHERE coverage_grid_id = ANY($1::uuid[]))]],
        wm.db.array(ids))).usd
end
local failed = assert(wm.db.one([[SELECT count(*)::int AS n FROM jobs WHERE status = 'discarded'
    AND created_at >= to_timestamp($1)]], started)).n

local rows = {
    { "grid cells", #cells }, { "leads", c.leads }, { "with a website (skipped)", c.has_site },
    { "verified without website", c.no_site }, { "qualified", c.qualified }, { "sites", c.sites },
    { "emails", c.emails }, { "LLM cost (USD)", ("%.4f"):format(cost) }, { "failed jobs", failed },
}
io.stdout:write("\n")
for _, r in ipairs(rows) do
    io.stdout:write(("  %-26s %10s\n"):format(r[1], tostring(r[2])))
end
local sites = assert(wm.db.query([[SELECT s.subdomain FROM generated_sites s JOIN businesses b ON b.id = s.business_id
    WHERE b.coverage_grid_id = ANY($1::uuid[]) ORDER BY s.created_at LIMIT 3]], wm.db.array(ids)))
if #sites > 0 then
    io.stdout:write("\nsites (while `wm serve` runs):\n")
    for _, s in ipairs(sites) do
        io.stdout:write(("  " .. wm.config.sites.site_url_pattern .. "\n"):format(s.subdomain))
    end
end
io.stdout:write("outbox: ", wm.config.paths.var, "/outbox/\n")
return failed > 0 and 1 or 0
