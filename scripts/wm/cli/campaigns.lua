-- wm campaigns stuck|resolve|pause|resume|state: the emails that may or
-- may not have left, and the outreach switch (domain.outreach).
local campaigns = require "domain.campaigns"
local outreach = require "domain.outreach"

local usage = [[usage: wm campaigns <stuck|resolve|pause|resume|state> [options]

  wm campaigns stuck [--json]            campaigns left in 'sending': the provider may have
                                         sent them (a crash or an uncertain answer between the
                                         hand-over and the commit); never retried by themselves
  wm campaigns resolve ID sent           it did leave (check the provider's log): mark it sent
  wm campaigns resolve ID release        it did not leave: back to pending, sent again
  wm campaigns pause [--reason TEXT]     stop outreach on every host: no campaign email is
                                         composed or sent (they wait; sign-in links and ticket
                                         emails still go)
  wm campaigns resume                    outreach goes on; the waiting emails are due at once
  wm campaigns state                     whether outreach is paused, since when, by whom, why

The outbox provider resolves its own (its file names carry the campaign).]]

local function out(...) io.stdout:write(...) end

local cells = require "wm.cli_cells"
local age, one_line = cells.age, cells.text

local function stuck(opts)
    local rows, err = campaigns.stuck(1000)
    if not rows then
        return nil, err
    end
    if opts.json then
        out(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
        return true
    end
    if #rows == 0 then
        out("No campaign is stuck in 'sending'.\n")
        return true
    end
    out(("%-36s %-6s %-9s %-32s %s\n"):format("CAMPAIGN", "AGE", "PROVIDER", "RECIPIENT", "LAST ERROR"))
    for _, r in ipairs(rows) do
        out(("%-36s %-6s %-9s %-32s %s\n"):format(r.id, age(r.age_s), one_line(r.email_provider, 9),
            one_line(r.recipient_email, 32), one_line(r.error_message, 70)))
    end
    out(("\n%d stuck. Check the provider, then: wm campaigns resolve ID sent|release\n"):format(#rows))
    return true
end

local function resolve(id, verdict)
    local ok, err = wm.db.tx(function()
        return campaigns.resolve(id, verdict, { type = "user" })
    end)
    if not ok then
        if err == "campaign not sending" then
            err = "campaign " .. id .. " is not in 'sending' (see `wm campaigns stuck`)"
        end
        return nil, err
    end
    if verdict == "release" then
        local c = assert(wm.db.one("SELECT business_id FROM campaigns WHERE id = $1", id))
        assert(require("lib.pipeline").next("send", c.business_id, { campaign_id = id }))
        out("campaign ", id, " released: it will be sent again\n")
    else
        out("campaign ", id, " marked sent\n")
    end
    return true
end

local function state()
    local st, err = outreach.state()
    if not st then
        return nil, err
    end
    if not st.paused then
        out("Outreach is running.\n")
        return true
    end
    out("Outreach is paused since ", tostring(st.paused_at), " by ",
        cells.text(st.paused_by_email or st.paused_by_type or "someone"),
        st.reason and (": " .. cells.text(st.reason)) or "", "\nResume it: wm campaigns resume\n")
    return true
end

local function switch(verb, reason)
    local row, err = wm.db.tx(function()
        if verb == "pause" then
            return outreach.pause("user", nil, reason)
        end
        return outreach.resume("user", nil)
    end)
    if not row then
        return nil, err
    end
    out(verb == "pause" and "Outreach paused: no campaign email goes until `wm campaigns resume`.\n"
        or "Outreach resumed: the waiting campaign emails are due now.\n")
    return true
end

return {
    summary = "campaigns stuck in 'sending', and pausing or resuming outreach",
    usage = usage,
    flags = { ["--json"] = "boolean", ["--reason"] = "string" },
    run = function(opts, args)
        local sub = args[1]
        local ok, err
        if sub == "stuck" or sub == nil then
            ok, err = stuck(opts)
        elseif sub == "resolve" then
            local id, verdict = args[2], args[3]
            if not (id and id:match("^%x+%-[%x-]+$")) or (verdict ~= "sent" and verdict ~= "release") then
                io.stderr:write("wm campaigns resolve: give a campaign id (from `wm campaigns stuck`) and "
                    .. "'sent' or 'release'\n\n", usage, "\n")
                return 2
            end
            ok, err = resolve(id, verdict)
        elseif sub == "pause" or sub == "resume" then
            ok, err = switch(sub, opts.reason)
        elseif sub == "state" then
            ok, err = state()
        else
            io.stderr:write("wm campaigns: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        if not ok then
            io.stderr:write("wm campaigns: ", tostring(err), "\n")
            return 1
        end
        return 0
    end,
}
