-- wm sites held|show|versions|rollback: the sites the quality gate holds
-- back from outreach, one site's state, pictures and reasons, its versions,
-- and bringing an earlier version back (domain.sites.rollback); release
-- lets a held site go to preview once a person has looked at it.
local sites = require "domain.sites"
local cells = require "wm.cli_cells"
local tickets = require "domain.tickets"

local usage = [[usage: wm sites <held|show|versions|rollback|release> [options]

  wm sites held [--json]            sites that failed the quality gate on every build
                                    (quality.max_attempts): never emailed, kept for review
                                    with their reasons; also how many drafts wait for their
                                    screenshot, and why when this host cannot take one
  wm sites show ID|SUBDOMAIN [--json]
                                    one site: status, screenshots, load time, Lighthouse,
                                    the gate's latest failures
  wm sites versions ID|SUBDOMAIN [--json]
                                    the site's versions, newest first: status, when, who
                                    made each and why, size
  wm sites rollback ID|SUBDOMAIN VERSION
                                    serve an earlier version again, as a new version on top
                                    (the current one is kept; nothing is rewritten)
  wm sites release ID|SUBDOMAIN     a held site goes to preview (and may be emailed) after
                                    a person looked at it and its reasons]]

local function out(...) io.stdout:write(...) end

local function failures_of(row)
    local f = row.quality_failures
    return (f ~= nil and f ~= wm.null) and f or {}
end

local function held(opts)
    local rows, err = sites.held(1000)
    if not rows then
        return nil, err
    end
    local waiting = wm.db.one("SELECT count(*)::int AS n FROM generated_sites WHERE status = 'draft'")
    local missing = require("stages.screenshot").missing()
    if opts.json then
        out(wm.json.encode({ held = wm.json.array(rows), drafts_waiting = waiting and waiting.n or 0,
                             screenshots_unavailable = missing }, { pretty = true }), "\n")
        return true
    end
    if #rows == 0 then
        out("No site is held for review.\n")
    else
        out(("%-36s %-28s %-8s %s\n"):format("SITE", "SUBDOMAIN", "BUILDS", "WHY"))
        for _, r in ipairs(rows) do
            local why = failures_of(r)
            out(("%-36s %-28s %-8d %s\n"):format(r.id, cells.text(r.subdomain, 28), r.quality_attempts,
                cells.text(why[1] or "", 90)))
            for i = 2, #why do
                out(("%-36s %-28s %-8s %s\n"):format("", "", "", cells.text(why[i], 90)))
            end
        end
        out(("\n%d held. Details: wm sites show ID\n"):format(#rows))
    end
    if waiting and waiting.n > 0 then
        out(("%d draft(s) wait for their screenshot and the gate.\n"):format(waiting.n))
    end
    if missing then
        out("screenshots cannot be taken on this host: ", missing, "\n")
    end
    return true
end

local function show(key, opts)
    local by = key:match("^%x+%-[%x-]+$") and "id::text" or "subdomain"
    local row, err = wm.db.one(([[SELECT s.id, s.subdomain, s.status, b.name AS business_name,
            b.contact_status, s.screenshot_desktop_url, s.screenshot_mobile_url, s.screenshot_thumb_url,
            s.load_time_ms, s.lighthouse_score, s.quality_attempts, s.quality_failures, s.quality_checked_at,
            CASE WHEN s.status = 'held' THEN s.quality_checked_at END AS held_at, length(s.html_content) AS bytes
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        WHERE s.%s = $1 ORDER BY s.version DESC LIMIT 1]]):format(by), key)
    if err then
        return nil, err
    elseif not row then
        return nil, "no site " .. key
    end
    if opts.json then
        out(wm.json.encode(row, { pretty = true }), "\n")
        return true
    end
    local function field(name, v)
        out(("%-18s %s\n"):format(name, (v == nil or v == wm.null) and "-" or tostring(v)))
    end
    field("site", row.id)
    field("subdomain", row.subdomain)
    field("business", row.business_name)
    field("status", row.status)
    field("contact", row.contact_status)
    field("bytes", row.bytes)
    field("desktop", row.screenshot_desktop_url)
    field("mobile", row.screenshot_mobile_url)
    field("thumbnail", row.screenshot_thumb_url)
    field("load time (ms)", row.load_time_ms)
    field("lighthouse", row.lighthouse_score)
    field("gate builds", row.quality_attempts)
    field("gate checked", row.quality_checked_at)
    field("held since", row.held_at)
    for i, f in ipairs(failures_of(row)) do
        field(i == 1 and "failures" or "", f)
    end
    return true
end

-- The site row a key names: its id, or the subdomain the site is served at
-- (the newest row with it). nil, err when there is none.
local function resolve(key)
    local by = key:match("^%x+%-[%x-]+$") and "id::text" or "subdomain"
    local row, err = wm.db.one(([[SELECT id FROM generated_sites WHERE %s = $1
        ORDER BY version DESC LIMIT 1]]):format(by), key)
    if err then
        return nil, err
    end
    return row and row.id, not row and ("no site " .. key) or nil
end

local WHY = { ["site.generated"] = "first build", ["site.version"] = "new version",
              ["site.rolled_back"] = "restored v%d" }

local function versions(key, opts)
    local id, err = resolve(key)
    if not id then
        return nil, err
    end
    local rows
    rows, err = sites.versions(id)
    if not rows then
        return nil, err
    end
    if opts.json then
        out(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
        return true
    end
    out(("%-8s %-9s %-16s %-36s %10s\n"):format("VERSION", "STATUS", "CREATED", "BY / WHY", "BYTES"))
    for _, r in ipairs(rows) do
        local why = r.action ~= wm.null and WHY[r.action] or "-"
        if r.action == "site.rolled_back" then
            why = why:format(r.restored)
        end
        local by = r.actor ~= wm.null and r.actor or r.actor_type ~= wm.null and r.actor_type or "-"
        out(("%-8s %-9s %-16s %-36s %10s\n"):format("v" .. r.version .. (r.current and "*" or ""), r.status,
            r.created_at, cells.text(by .. ": " .. why, 36), tostring(r.bytes ~= wm.null and r.bytes or 0)))
        if r.ticket_id ~= wm.null then
            out("         ticket ", r.ticket_id, ": ", cells.text(tostring(r.request), 60), "\n")
            for _, c in ipairs(tickets.changes { ai_changes_made = r.changes } or {}) do
                out("           - ", cells.text(c), "\n")
            end
        end
    end
    out("\n* the version the site serves. Restore one: wm sites rollback ", key, " VERSION\n")
    return true
end

local function rollback(key, version)
    local id, err = resolve(key)
    if not id then
        return nil, err
    end
    local res
    res, err = wm.db.tx(function()
        local r, why = sites.rollback(id, version, "user")
        return { r = r, why = why }
    end)
    if not res then
        return nil, err
    end
    if not res.r then
        return nil, res.why
    end
    out(("site %s now serves version %d as v%d (v%d kept).\n"):format(id, res.r.restored, res.r.version,
        res.r.version - 1))
    return true
end

local function release(key)
    local id, err = resolve(key)
    if not id then
        return nil, err
    end
    local res
    res, err = wm.db.tx(function()
        local r, why = sites.release(id, "user")
        return { r = r, why = why }
    end)
    if not res then
        return nil, err
    end
    if not res.r then
        return nil, res.why
    end
    out(("site %s released: preview now, compose is next.\n"):format(id))
    return true
end

return {
    summary = "sites held back by the quality gate (and their release), one site's state, its versions and rollback",
    usage = usage,
    flags = { ["--json"] = "boolean" },
    run = function(opts, args)
        local sub = args[1]
        local ok, err
        if sub == "held" or sub == nil then
            ok, err = held(opts)
        elseif sub == "show" and args[2] then
            ok, err = show(args[2], opts)
        elseif sub == "versions" and args[2] then
            ok, err = versions(args[2], opts)
        elseif sub == "rollback" and args[2] and args[3] then
            if not tonumber(args[3]) then
                io.stderr:write("wm sites rollback: VERSION is a number (wm sites versions ID lists them)\n")
                return 2
            end
            ok, err = rollback(args[2], args[3])
        elseif sub == "release" and args[2] then
            ok, err = release(args[2])
        else
            io.stderr:write("wm sites: unknown or incomplete subcommand\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm sites: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
