-- wm payments ls: payments, refunds and failed charges, newest first.
local payments = require "domain.payments"

local usage = [[usage: wm payments ls [--customer ID] [--limit N] [--json]

  Newest first: when, customer, type (subscription, one_time, refund), status
  (succeeded, failed, refunded), amount, fee, net, card. A refund is its own
  row with a negative amount; the payment it refunds shows 'refunded'.]]

local function out(...) io.stdout:write(...) end

local cells = require "wm.cli_cells"
local v, money = cells.text, cells.money

return {
    summary = "payments and refunds",
    usage = usage,
    flags = { ["--customer"] = "string", ["--limit"] = "number", ["--json"] = "boolean" },
    run = function(opts, args)
        if args[1] ~= nil and args[1] ~= "ls" then
            io.stderr:write("wm payments: unknown subcommand '", args[1], "'\n\n", usage, "\n")
            return 2
        end
        if opts.customer and not opts.customer:match("^%x+%-[%x-]+$") then
            io.stderr:write("wm payments: --customer takes a customer id\n\n", usage, "\n")
            return 2
        end
        local rows, err = payments.ls { customer_id = opts.customer, limit = opts.limit or 100 }
        if not rows then
            io.stderr:write("wm payments: ", tostring(err), "\n")
            return 1
        end
        if opts.json then
            out(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
            return 0
        end
        if #rows == 0 then
            out("No payments yet.\n")
            return 0
        end
        out(("%-16s %-28s %-12s %-9s %12s %10s %12s %-4s %s\n"):format("PAID", "CUSTOMER", "TYPE", "STATUS",
            "AMOUNT", "FEE", "NET", "CUR", "CARD"))
        for _, p in ipairs(rows) do
            out(("%-16s %-28s %-12s %-9s %12s %10s %12s %-4s %s\n"):format(v(p.paid_at), v(p.email, 28),
                v(p.payment_type), v(p.status), money(p.amount_cents), money(p.fee_cents), money(p.net_cents),
                v(p.currency), p.card_last4 ~= wm.null and (v(p.card_network) .. " " .. v(p.card_last4)) or ""))
        end
        return 0
    end,
}
