-- wm hooks ls|show|replay: the webhook events received (POST /hooks/recurrente).
local webhook_events = require "domain.webhook_events"

local usage = [[usage: wm hooks <ls|show|replay> [options]

  wm hooks ls [--status S] [--type T] [--limit N]   newest first; S is received, applied,
                                                    pending (waiting for an earlier event),
                                                    failed or ignored (a type with no effect)
  wm hooks show ID                                  every field and the body as received
  wm hooks replay ID                                apply a failed or pending event again;
                                                    an applied one is left alone (idempotent)]]

local function out(...) io.stdout:write(...) end

local v = require("wm.cli_cells").text

local function ls(opts)
    local rows, err = webhook_events.ls { status = opts.status, type = opts.type, limit = opts.limit }
    if not rows then
        return nil, err
    end
    if #rows == 0 then
        out("No webhook events.\n")
        return true
    end
    out(("%-8s %-19s %-26s %-9s %-5s %-34s %s\n"):format("ID", "RECEIVED", "TYPE", "STATUS", "TRIES", "EVENT ID",
        "ERROR"))
    for _, r in ipairs(rows) do
        out(("%-8s %-19s %-26s %-9s %-5s %-34s %s\n"):format(v(r.id), v(r.received_at), v(r.event_type, 26),
            v(r.status), v(r.attempts), v(r.event_id, 34), v(r.error)))
    end
    return true
end

local function show(id)
    local r, err = webhook_events.get(id)
    if not r then
        return nil, err or ("no webhook event " .. id)
    end
    for _, k in ipairs({ "id", "provider", "event_id", "event_type", "status", "attempts", "waiting_for",
                         "received_at", "processed_at", "error" }) do
        out(("%-13s %s\n"):format(k, v(r[k])))
    end
    local doc = wm.json.decode(r.body)
    out("body:\n", doc and wm.json.encode(doc, { pretty = true }) or r.body, "\n")
    return true
end

local function replay(id)
    local res, err = webhook_events.replay(id)
    if not res then
        return nil, err
    end
    if res == "enqueued" then
        out("webhook event ", id, " will be applied again (see `wm hooks show ", id, "`)\n")
    else
        out("webhook event ", id, " is ", res, " already: nothing to do\n")
    end
    return true
end

return {
    summary = "webhook events received: list, show, replay",
    usage = usage,
    flags = { ["--status"] = "string", ["--type"] = "string", ["--limit"] = "number" },
    run = function(opts, args)
        local sub = args[1]
        local ok, err
        if sub == "ls" or sub == nil then
            ok, err = ls(opts)
        elseif sub == "show" or sub == "replay" then
            local id = tonumber(args[2])
            if not (args[2] and args[2]:match("^%d+$") and id) then
                io.stderr:write("wm hooks ", sub, ": give an event id (from `wm hooks ls`)\n\n", usage, "\n")
                return 2
            end
            if sub == "show" then
                ok, err = show(id)
            else
                ok, err = replay(id)
            end
        else
            io.stderr:write("wm hooks: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm hooks: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
