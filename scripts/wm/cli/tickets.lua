-- wm tickets ls|show|add|approve|reject|resolve: customers' change requests
-- (domain/tickets.lua), for staff.
local tickets = require "domain.tickets"
local cells = require "wm.cli_cells"
local v = cells.text

local usage = [[usage: wm tickets <ls|show|add|approve|reject|resolve> [options]

  wm tickets ls [--status S] [--limit N] [--json]
                                   requests, newest first: status, age, customer, site, request
  wm tickets show ID               one request: who it is assigned to, what was asked and
                                   understood, the operations, what changes (and who of the staff
                                   edited the proposal), and the visible text before and after
  wm tickets add --site ID TEXT    files a request for the site's customer (staff filing on their
                                   behalf: no rate limit); the interpret_ticket job prepares it
  wm tickets approve ID [--note T] the proposed version goes live (as the customer's approval)
  wm tickets reject ID [--note T]  the site stays as it is
  wm tickets resolve ID --note T   a request with a person, done by hand]]

local UUID = "^%x+%-[%x-]+$"

local function out(...) io.stdout:write(...) end

local function ls(opts)
    local rows, err = tickets.list { status = opts.status, limit = opts.limit or 100 }
    return cells.rows(rows, err, opts, {
        empty = "No requests. A customer files one in the portal, or: wm tickets add --site ID TEXT",
        format = "%-36s %-17s %5s  %-28s %-24s %s",
        header = { "ID", "STATUS", "AGE", "CUSTOMER", "SITE", "REQUEST" },
        cells = function(r)
            return r.id, r.status, cells.age(r.age_s), v(r.customer_email, 28), v(r.subdomain, 24),
                v(r.request_text, 60)
        end,
    })
end

local function show(id)
    local t, err = tickets.get(id)
    if not t then
        return nil, err or ("no ticket " .. id)
    end
    local function field(name, value)
        if value ~= nil and value ~= wm.null and value ~= "" then
            out(("%-15s %s\n"):format(name, v(value)))
        end
    end
    field("id", t.id)
    field("status", t.status)
    field("site", t.site_id)
    field("customer", t.customer_id)
    local staff, serr = tickets.staff(t)
    if not staff then
        return nil, serr
    end
    field("filed", tostring(t.created_at) .. " by " .. (staff.filer or t.created_by_type))
    field("base version", t.base_version)
    field("applied", t.applied_version)
    field("decided", t.decided_at ~= wm.null and (tostring(t.decided_at) .. " by " .. tostring(t.decided_by_type)) or nil)
    field("note", t.approval_note)
    field("resolved by", t.resolved_by)
    field("assigned to", staff.assignee or "nobody")
    if t.edited_at ~= wm.null then
        -- (edited_by is cleared with its account; the edit stays.)
        field("edited", tostring(t.edited_at) .. " by " .. (staff.editor or "a removed account"))
    end
    field("needs a person", t.needs_person_reason)
    out("\nrequest:\n  ", cells.block(t.request_text, "  "), "\n")
    if t.ai_interpretation ~= wm.null then
        out("\nunderstood:\n  ", cells.block(t.ai_interpretation, "  "), "\n")
    end
    if t.operations ~= wm.null then
        out("\noperations:\n")
        for _, op in ipairs(tickets.shown_operations(t)) do
            out("  ", cells.text(op), "\n")
        end
    end
    if t.ai_changes_made ~= wm.null then
        out("\nchanges:\n  ", cells.block(t.ai_changes_made, "  "), "\n")
    end
    local history = tickets.history(t.id) or {}
    if #history > 0 then
        out("\nhistory:\n")
        for _, h in ipairs(history) do
            out("  ", h.at, "  ", v(h.who), ": ", v(h.what), "\n")
        end
    end
    local diff = tickets.text_diff(t, 1)
    if diff then
        out("\nvisible text (- before, + after):\n")
        for _, h in ipairs(diff) do
            for _, o in ipairs(h) do
                out(o.op == "=" and " " or o.op, " ", cells.text(o.text), "\n")
            end
            out("\n")
        end
    end
    return true
end

-- fn() -> row | nil, message, in one transaction (a refusal writes nothing).
local function in_tx(fn)
    local res, err = wm.db.tx(function()
        local r, why = fn()
        return { row = r, why = why }
    end)
    if not res then
        return nil, err
    end
    return res.row, res.why
end

return {
    summary = "customers' change requests: list, show, file, approve, reject",
    usage = usage,
    flags = { ["--limit"] = "number", ["--json"] = "boolean", ["--status"] = "string", ["--site"] = "string",
              ["--note"] = "string" },
    run = function(opts, args)
        local sub = args[1]
        local function need_id(id)
            if not (id and id:match(UUID)) then
                io.stderr:write(("wm tickets %s: give a ticket id (from `wm tickets ls`)\n\n"):format(sub), usage, "\n")
                return false
            end
            return true
        end
        local ok, err, row
        if sub == "ls" or sub == nil then
            ok, err = ls(opts)
        elseif sub == "show" then
            if not need_id(args[2]) then
                return 2
            end
            ok, err = show(args[2])
        elseif sub == "add" then
            local text = table.concat(args, " ", 2)
            if not (opts.site and opts.site:match(UUID)) or text == "" then
                io.stderr:write("wm tickets add: give --site SITE_ID and the request's text\n\n", usage, "\n")
                return 2
            end
            row, err = in_tx(function()
                return tickets.create { site_id = opts.site, text = text, actor_type = "user" }
            end)
            if row then
                out(("%s: filed for customer %s; it is being prepared (wm tickets show %s)\n"):format(row.id,
                    row.customer_id, row.id))
                ok = true
            end
        elseif sub == "approve" or sub == "reject" or sub == "resolve" then
            if not need_id(args[2]) then
                return 2
            end
            if sub == "resolve" and not opts.note then
                io.stderr:write("wm tickets resolve: say what was done with --note\n")
                return 2
            end
            row, err = in_tx(function()
                if sub == "approve" then
                    return tickets.approve(args[2], "user", nil, opts.note)
                elseif sub == "reject" then
                    return tickets.reject(args[2], "user", nil, opts.note)
                end
                return tickets.resolve(args[2], "user", nil, opts.note)
            end)
            if err == "stale" then
                out(("%s: the site changed since this was prepared; it is being prepared again on the live "
                    .. "version: approve it again when it is ready\n"):format(args[2]))
                return 1
            end
            if row then
                if sub == "approve" then
                    out(("%s: approved; version %d is live\n"):format(args[2], row.version))
                else
                    out(("%s: %s\n"):format(args[2], row.status))
                end
                ok = true
            end
        else
            io.stderr:write("wm tickets: unknown subcommand '", tostring(sub), "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm tickets: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
