-- wm customers ls|show ID|login-link ID: the paying customers (and a portal link for support).
local customers = require "domain.customers"

local usage = [[usage: wm customers <ls|show|login-link> [options]

  wm customers ls [--limit N] [--json]   newest first: email, name, status, lifetime value
  wm customers show ID [--json]          one customer with their subscriptions (site, period,
                                         status) and payments
  wm customers login-link ID             prints a fresh single-use link to the customer portal
                                         (for support: it expires like an emailed one)]]

local function out(...) io.stdout:write(...) end

local cells = require "wm.cli_cells"
local v = cells.text

local function money(cents, currency)
    return cells.money(cents, currency or "GTQ")
end

local function ls(opts)
    local rows, err = customers.ls(opts.limit or 100)
    if not rows then
        return nil, err
    end
    if opts.json then
        out(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
        return true
    end
    if #rows == 0 then
        out("No customers yet.\n")
        return true
    end
    out(("%-36s %-30s %-24s %-9s %14s %s\n"):format("CUSTOMER", "EMAIL", "NAME", "STATUS", "LIFETIME", "SINCE"))
    for _, r in ipairs(rows) do
        out(("%-36s %-30s %-24s %-9s %14s %s\n"):format(r.id, v(r.email, 30), v(r.full_name, 24),
            v(r.status), money(r.lifetime_value_cents), v(r.created_at)))
    end
    return true
end

local function login_link(id)
    local c, err = wm.db.one("SELECT id FROM customers WHERE id = $1", id)
    if not c then
        return nil, err or ("no customer " .. id)
    end
    local url
    url, err = require("web.portal.account").new_link(c.id)
    if not url then
        return nil, err
    end
    assert(require("lib.activity").log("customer.portal_link_issued", "customer", c.id, { by = "cli" }, "user"))
    out(url, "\n")
    return true
end

local function show(id, opts)
    local c, err = customers.show(id)
    if not c then
        return nil, err or ("no customer " .. id)
    end
    if opts.json then
        out(wm.json.encode(c, { pretty = true }), "\n")
        return true
    end
    local r = c.customer
    for _, k in ipairs({ "id", "email", "full_name", "status", "recurrente_user_id", "business_name", "created_at" }) do
        out(("%-19s %s\n"):format(k, v(r[k])))
    end
    out(("%-19s %s\n"):format("lifetime_value", money(r.lifetime_value_cents)))
    out("\nsubscriptions:\n")
    for _, s in ipairs(c.subscriptions) do
        out(("  %s  %-9s %s/month  site %s (%s%s)  period %s .. %s%s%s\n"):format(v(s.recurrente_subscription_id),
            v(s.status), money(s.amount_cents, s.currency), v(s.subdomain), v(s.site_status),
            s.paused_at ~= wm.null and ", paused" or "", v(s.current_period_start), v(s.current_period_end),
            s.past_due_at ~= wm.null and ("  past due since " .. v(s.past_due_at)) or "",
            s.cancelled_at ~= wm.null and ("  cancelled " .. v(s.cancelled_at)) or ""))
    end
    out("\npayments:\n")
    for _, p in ipairs(c.payments) do
        out(("  %-16s %-12s %-9s %14s  %s %s\n"):format(v(p.paid_at), v(p.payment_type), v(p.status),
            money(p.amount_cents, p.currency), v(p.recurrente_payment_id), v(p.card_last4)))
    end
    return true
end

return {
    summary = "paying customers, their subscriptions and payments",
    usage = usage,
    flags = { ["--limit"] = "number", ["--json"] = "boolean" },
    run = function(opts, args)
        local sub = args[1]
        local ok, err
        if sub == "ls" or sub == nil then
            ok, err = ls(opts)
        elseif sub == "show" then
            if not (args[2] and args[2]:match("^%x+%-[%x-]+$")) then
                io.stderr:write("wm customers show: give a customer id (from `wm customers ls`)\n\n", usage, "\n")
                return 2
            end
            ok, err = show(args[2], opts)
        elseif sub == "login-link" then
            if not (args[2] and args[2]:match("^%x+%-[%x-]+$")) then
                io.stderr:write("wm customers login-link: give a customer id (from `wm customers ls`)\n\n", usage, "\n")
                return 2
            end
            ok, err = login_link(args[2])
        else
            io.stderr:write("wm customers: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm customers: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
