-- wm grid import|ls|pause|resume
local grid = require "lib.grid"

local usage = [[usage: wm grid <import|ls|pause|resume> [args]

  wm grid import FILE.csv       upsert rows country,state,city,industry,
                                industry_category,population,priority (header
                                required); a row's status and counters are kept
  wm grid ls [--status S] [--limit N]
                                cells in the autopilot's order, with counters
  wm grid pause ID              the autopilot skips a paused cell
  wm grid resume ID             back to pending]]

local function out(...) io.stdout:write(...) end

return {
    summary = "the coverage grid: import cities x industries, list, pause, resume",
    usage = usage,
    flags = { ["--status"] = "string", ["--limit"] = "number" },
    run = function(opts, args)
        local sub = args[1]
        if sub == "import" then
            if not args[2] then
                io.stderr:write("wm grid import: which file?\n")
                return 2
            end
            local res, err = grid.import_file(args[2])
            if not res then
                io.stderr:write("wm grid import: ", tostring(err), "\n")
                return 1
            end
            out(("%d inserted, %d updated, %d rejected\n"):format(res.inserted, res.updated, #res.rejected))
            for _, r in ipairs(res.rejected) do
                out(("  line %d: %s\n"):format(r.line, r.reason))
            end
            return #res.rejected > 0 and 1 or 0
        elseif sub == "ls" or sub == nil then
            local rows, err = wm.db.query([[SELECT id, state, city, industry, status, priority, population,
                    lead_count, qualified_count, site_count, conversion_count,
                    to_char(cooldown_until, 'YYYY-MM-DD') AS cooldown_until
                FROM coverage_grid WHERE ($1::text IS NULL OR status = $1)
                ORDER BY status = 'pending' DESC, priority DESC, population DESC NULLS LAST LIMIT $2]],
                opts.status, opts.limit or 50)
            if not rows then
                io.stderr:write("wm grid ls: ", err, "\n")
                return 1
            end
            out(("%-36s %-22s %-24s %-11s %5s %5s %5s %5s %s\n"):format("ID", "CITY", "INDUSTRY", "STATUS",
                "LEADS", "QUAL", "SITES", "SOLD", "COOLDOWN"))
            for _, r in ipairs(rows) do
                out(("%-36s %-22s %-24s %-11s %5d %5d %5d %5d %s\n"):format(r.id,
                    (r.city .. ", " .. r.state):sub(1, 22), r.industry:sub(1, 24), r.status, r.lead_count,
                    r.qualified_count, r.site_count, r.conversion_count,
                    r.cooldown_until == wm.null and "" or r.cooldown_until))
            end
            return 0
        elseif sub == "pause" or sub == "resume" then
            local id = args[2]
            if not id then
                io.stderr:write("wm grid ", sub, ": which cell? (its id from `wm grid ls`)\n")
                return 2
            end
            local cells = require "domain.grid"
            local row, err = cells[sub](id, { type = "user" })
            if not row then
                io.stderr:write("wm grid ", sub, ": ", err or ("no " .. (sub == "resume" and "paused " or "") ..
                    "cell " .. id), "\n")
                return 1
            end
            out("cell ", id, sub == "pause" and " paused\n" or " resumed\n")
            return 0
        end
        io.stderr:write("wm grid: unknown subcommand '", sub, "'\n\n", usage, "\n")
        return 2
    end,
}
