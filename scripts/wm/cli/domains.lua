-- wm domains ls|add|check|rm: customers' own domains (the TXT record that
-- proves control, where the domain points, whether the site answers on it).
local custom_domains = require "domain.custom_domains"
local cells = require "wm.cli_cells"
local v = cells.text

local usage = [[usage: wm domains <ls|add|check|rm> [options]

  wm domains ls [--limit N] [--json]   claims, newest first: domain, site, status, checks, last finding
  wm domains add SITE_ID DOMAIN        claims DOMAIN for the site and prints the DNS records the
                                       owner must create; a verify_domain job checks it
  wm domains check ID                  checks a pending or failed claim again now
  wm domains rm ID                     ends a claim; the site stops answering on the domain]]

local UUID = "^%x+%-[%x-]+$"

local function out(...) io.stdout:write(...) end

local function print_records(row)
    local i = custom_domains.instructions(row)
    out(("%s  %s  (%s)\n\n"):format(row.domain, row.id, row.status))
    out("The owner creates, at their DNS provider:\n")
    out(("  TXT    %s    \"%s\"\n"):format(i.txt_name, i.txt_value))
    if i.cname_target then
        out(("  CNAME  %s    %s\n"):format(row.domain, i.cname_target))
    end
    if i.a_address then
        out(("  A      %s    %s   (for a domain without www, instead of the CNAME)\n"):format(row.domain, i.a_address))
    end
    out("\nIt is checked now and then again (`wm domains ls` shows what each check found).\n")
end

local function ls(opts)
    local rows, err = custom_domains.ls(opts.limit or 100)
    return cells.rows(rows, err, opts, {
        empty = "No custom domains. A customer adds one in the portal, or: wm domains add SITE_ID DOMAIN",
        format = "%-36s %-30s %-9s %6s  %-24s %s",
        header = { "ID", "DOMAIN", "STATUS", "CHECKS", "SITE", "LAST CHECK" },
        cells = function(r)
            return r.id, v(r.domain, 30), r.status, r.checks, v(r.subdomain, 24),
                r.last_result ~= wm.null and v(r.last_result) or "not checked yet"
        end,
    })
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
    summary = "customers' own domains: claim, check, remove",
    usage = usage,
    flags = { ["--limit"] = "number", ["--json"] = "boolean" },
    run = function(opts, args)
        local sub = args[1]
        local function need_id(what, id)
            if not (id and id:match(UUID)) then
                io.stderr:write(("wm domains %s: give %s\n\n"):format(sub, what), usage, "\n")
                return false
            end
            return true
        end
        local ok, err, row
        if sub == "ls" or sub == nil then
            ok, err = ls(opts)
        elseif sub == "add" then
            if not need_id("a site id (from `wm sites` or the dashboard) and a domain", args[2]) or not args[3] then
                return 2
            end
            row, err = in_tx(function()
                return custom_domains.request(args[2], args[3], "user")
            end)
            if row then
                print_records(row)
                ok = true
            end
        elseif sub == "check" or sub == "rm" then
            if not need_id("a domain claim id (from `wm domains ls`)", args[2]) then
                return 2
            end
            row, err = in_tx(function()
                if sub == "check" then
                    return custom_domains.recheck(args[2], "user")
                end
                return custom_domains.remove(args[2], "user")
            end)
            if row then
                out(("%s %s: %s\n"):format(row.domain, row.id, sub == "check" and "checking again" or "removed"))
                ok = true
            end
        else
            io.stderr:write("wm domains: unknown subcommand '", tostring(sub), "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm domains: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
