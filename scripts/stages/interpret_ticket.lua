-- interpret_ticket {id[, rebuild]}: a support ticket's request becomes a
-- proposed version of the site. The support agent (agents/support.lua,
-- checked by its schema, its cost in llm_calls) restates it and splits it
-- into operations; a new section's words come from the architect given the
-- current page and the operations; everything is then applied by code
-- (lib/site_edit.lua) to a copy of what the live site is rendered from and
-- rendered again (escaped and sanitised like every site), and must pass the
-- quality gate's size check. Anything unsafe or impossible: the ticket
-- needs a person. A rebuild (the live version moved on before approval)
-- re-applies the stored operations, with no new LLM call.
--
-- Two tickets on one site do not race: domain.tickets.propose locks the
-- site row and refuses a proposal built on a version that is no longer
-- live, and this builds again on the current one.
local agent_stage = require "lib.agent_stage"
local llm = require "lib.llm"
local outcome = require "lib.outcome"
local pipeline = require "lib.pipeline"
local site_edit = require "lib.site_edit"
local sites = require "domain.sites"
local tickets = require "domain.tickets"

local M = {
    kind = "interpret_ticket",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
}

local MAX_BUILDS = 5

local function site_of(t)
    return wm.db.one([[SELECT id, business_id, subdomain, status, coalesce(version, 1) AS version
        FROM generated_sites WHERE id = $1]], t.site_id)
end

local function to_person(t, interpretation, ops, reason)
    local ok, err = tickets.needs_person(t.id, interpretation, ops, reason)
    if not ok and err then
        return outcome.retry(err)
    end
    return outcome.done()
end

-- The operations with every new section written (by the architect agent)
-- -> ops, nil, call | nil, err, call (the model failed) | nil, nil, call,
-- reason (it wrote no such section: a person's job).
local function write_sections(job, site, inputs, ops)
    local b = wm.db.one("SELECT * FROM businesses WHERE id = $1", site.business_id)
    local ctx = agent_stage.context(b, job)
    ctx.edit = { current = inputs.content, operations = ops }
    local out, err, call = llm.run_agent("architect", ctx, { job_id = job.id })
    if not out then
        return nil, err, call
    end
    local by_kind = {}
    for _, s in ipairs(out.sections or {}) do
        by_kind[s.kind] = s
    end
    for _, op in ipairs(ops) do
        if op.kind == "add_section" and type(op.section) ~= "table" then
            op.section = by_kind[op.section_kind]
            if not op.section then
                return nil, nil, call, "the architect wrote no " .. tostring(op.section_kind) .. " section"
            end
        end
    end
    return ops, nil, call
end

local function needs_person_op(ops)
    for _, op in ipairs(ops) do
        if op.kind == "needs_person" then
            return op.reason
        elseif op.kind == "swap_photo" then
            return "a photo change: " .. tostring(op.description)
        end
    end
end

function M.run(job)
    local t = tickets.start(job.payload.id)
    if not t then
        local gone = tickets.get(job.payload.id)
        return gone and outcome.done() or outcome.discard("no ticket " .. tostring(job.payload.id))
    end
    local site = site_of(t)
    if not site or (site.status ~= "live" and site.status ~= "sold") then
        return to_person(t, nil, nil, "the site is not live")
    end
    -- A rollback brings back the inputs of the version it restores; one to
    -- a version without recorded inputs leaves the newer one's, and an edit
    -- of those would bring the undone change back.
    local current, cerr = sites.inputs_current(site.id)
    if current == nil then
        return outcome.retry(cerr)
    end
    if not current then
        return to_person(t, nil, nil, "the site was restored to an earlier version whose content was not recorded")
    end
    local inputs, err = site_edit.inputs(site)
    if not inputs then
        return to_person(t, nil, nil, err)
    end

    local interpretation = t.ai_interpretation ~= wm.null and t.ai_interpretation or nil
    local ops = t.operations ~= wm.null and t.operations or nil
    if not (job.payload.rebuild and ops) then
        local out, call
        out, err, call = llm.run_agent("support", { business = inputs.business, site = { content = inputs.content },
                                                   request = t.request_text, job_id = job.id }, { job_id = job.id })
        if not out then
            return pipeline.llm_failure(err, call and call.retry_after, call and call.status)
        end
        interpretation, ops = out.interpretation, out.operations
    end
    local why = needs_person_op(ops)
    if why then
        return to_person(t, interpretation, ops, why)
    end
    if site_edit.needs_architect(ops) then
        local call, missing
        ops, err, call, missing = write_sections(job, site, inputs, ops)
        if missing then
            return to_person(t, interpretation, nil, missing)
        end
        if not ops then
            return pipeline.llm_failure(err, call and call.retry_after, call and call.status)
        end
    end

    for _ = 1, MAX_BUILDS do
        local new, changes = site_edit.apply(inputs, ops)
        if not new then
            return to_person(t, interpretation, ops, changes)
        end
        local html, rerr = site_edit.render(site, new)
        if not html then
            return to_person(t, interpretation, ops, "the changed page cannot be built: " .. tostring(rerr))
        end
        local failures = sites.quality_failures { bytes = #html }
        if #failures > 0 then
            return to_person(t, interpretation, ops, "the changed page fails the quality gate: " .. failures[1])
        end
        local res
        res, err = wm.db.tx(function()
            local row, perr = tickets.propose(t.id, {
                base_version = site.version, html = html, interpretation = interpretation, operations = ops,
                changes = changes, inputs = new,
                builder_prompt = "support ticket " .. t.id,
            })
            if row and (wm.config.tickets or {}).auto_approve then
                assert(tickets.approve(t.id, "system"))
            end
            return { row = row, err = perr }
        end)
        if not res then
            return outcome.retry(err)
        end
        if res.row then
            return outcome.done()
        end
        if res.err ~= "stale" then
            return outcome.retry(res.err)
        end
        -- Another ticket's version went live meanwhile: build on it.
        site = site_of(t)
        inputs, err = site_edit.inputs(site)
        if not inputs then
            return outcome.retry(err)
        end
    end
    return outcome.retry("the site kept changing while this was built")
end

return M
