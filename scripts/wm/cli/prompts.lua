-- wm prompts sync|ls|show: the agents' prompts, from the repo into the database and back out.
local prompts = require "lib.prompts"

local usage = [[usage: wm prompts <sync|ls|show> [args]

  wm prompts sync               write every agent's template and sections from
                                scripts/agents/ into prompt_templates and
                                prompt_settings: changed text becomes a new version
                                (the old one is kept, inactive); a second run
                                changes nothing
  wm prompts ls [AGENT] [--all] the sections per agent: version, variant, weight,
                                usage and success counts, size (--all: inactive
                                versions too)
  wm prompts show AGENT [--business ID]
                                the prompt the agent gets now (system and user
                                turn), for the business ID or with no business
                                data; counts no usage

Agents: analyst, concept, director, architect, email_composer.]]

local function out(...)
    io.stdout:write(...)
end

local function err(...)
    io.stderr:write(...)
end

local function known(agent)
    for _, a in ipairs(prompts.AGENTS) do
        if a == agent then
            return true
        end
    end
    return false
end

local function sync()
    local rep, e = prompts.sync()
    if not rep then
        err("wm prompts sync: ", tostring(e), "\n")
        return 1
    end
    for _, name in ipairs(prompts.AGENTS) do
        local a = rep.agents[name]
        out(("%-15s template %-9s (v%d)  sections: %d new, %d retired, %d reweighted, %d unchanged\n"):format(
            name, a.template, a.template_version or 0, a.inserted, a.deactivated, a.updated, a.unchanged))
    end
    out(rep.changed == 0 and "prompts are up to date\n" or ("%d change%s written\n"):format(rep.changed,
        rep.changed == 1 and "" or "s"))
    return 0
end

local function ls(opts, agent)
    if agent and not known(agent) then
        err("wm prompts ls: unknown agent '", agent, "'\n")
        return 2
    end
    local rows, e = prompts.ls(agent, opts.all)
    if not rows then
        err("wm prompts ls: ", tostring(e), "\n")
        return 1
    end
    out(("%-15s %-20s %4s %-7s %6s %7s %7s %6s %s\n"):format("AGENT", "SECTION", "VER", "VARIANT", "WEIGHT",
        "USED", "WON", "CHARS", opts.all and "ACTIVE" or ""))
    for _, r in ipairs(rows) do
        out(("%-15s %-20s %4d %-7s %6d %7d %7d %6d %s\n"):format(r.agent_name, r.section_name:sub(1, 20),
            r.version, tostring(r.variant):sub(1, 7), r.weight ~= wm.null and r.weight or 0,
            r.usage_count ~= wm.null and r.usage_count or 0, r.success_count ~= wm.null and r.success_count or 0,
            r.chars, opts.all and (r.is_active and "yes" or "no") or ""))
    end
    if #rows == 0 then
        out("no prompt sections", agent and (" for " .. agent) or "", opts.all and "" or " active",
            "; run `wm prompts sync`\n")
    end
    return 0
end

local function show(opts, agent)
    if not agent or not known(agent) then
        err("wm prompts show: which agent? (", table.concat(prompts.AGENTS, ", "), ")\n")
        return 2
    end
    local ctx = {}
    if opts.business then
        local b, e = wm.db.one("SELECT * FROM businesses WHERE id::text = $1 OR slug = $1", opts.business)
        if not b then
            err("wm prompts show: no business ", opts.business, e and (": " .. tostring(e)) or "", "\n")
            return 1
        end
        ctx.business = b
        ctx.reviews = b.reviews_data ~= wm.null and b.reviews_data or {}
        for _, a in ipairs(prompts.AGENTS) do
            local r = wm.db.one("SELECT output FROM agent_outputs WHERE business_id = $1 AND agent = $2", b.id, a)
            if r then
                ctx[a] = r.output
            end
        end
    end
    local a, e = prompts.assemble(agent, ctx, { count_usage = false })
    if not a then
        err("wm prompts show: ", tostring(e), "\n")
        return 1
    end
    local variants = {}
    for k, v in pairs(a.variants) do
        variants[#variants + 1] = k .. "=" .. v
    end
    table.sort(variants)
    out(("# %s  template v%s  max_tokens %d  variants %s  hash %s\n\n"):format(agent,
        tostring(a.template_version or "?"), a.max_tokens, table.concat(variants, ","), a.prompt_hash:sub(1, 12)))
    out("## system\n\n", a.system, "\n\n")
    for _, m in ipairs(a.messages) do
        out("## ", m.role, "\n\n", type(m.content) == "string" and m.content or wm.json.encode(m.content), "\n\n")
    end
    return 0
end

return {
    summary = "the agents' prompts: sync from the repo, list versions and A/B counts, show one",
    usage = usage,
    flags = { ["--all"] = "boolean", ["--business"] = "string" },
    run = function(opts, args)
        local sub = args[1]
        if sub == "sync" then
            return sync()
        elseif sub == "ls" or sub == nil then
            return ls(opts, args[2])
        elseif sub == "show" then
            return show(opts, args[2])
        end
        err("wm prompts: unknown subcommand '", tostring(sub), "'\n\n", usage, "\n")
        return 2
    end,
}
