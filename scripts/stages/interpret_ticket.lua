-- interpret_ticket {id[, rebuild]}: a support ticket's request becomes a
-- proposed version of the site. The support agent (agents/support.lua,
-- checked by its schema, its cost in llm_calls) restates it and splits it
-- into operations; a new section's words come from the architect given the
-- current page and the operations; everything is then applied by code
-- (lib/site_edit.lua) to a copy of what the live site is rendered from and
-- rendered again (escaped and sanitised like every site), and must pass the
-- quality gate new sites pass (domain.sites.quality_failures): its size
-- always, and what Chromium sees (console errors, requests leaving the
-- origin, invalid markup) through the screenshot stage's own driver when
-- the browser is installed and tickets.screenshots is on; the pictures go
-- on the proposed row for the before/after. A failed structural change goes
-- back to the architect once, told what failed; a failed simple change, or
-- a second failure, needs a person (the failures in words), never approval.
-- Anything unsafe or impossible: the ticket needs a person. A rebuild (the
-- live version moved on before approval) re-applies the stored operations,
-- with no new LLM call.
--
-- Two tickets on one site do not race: domain.tickets.propose locks the
-- site row and refuses a proposal built on a version that is no longer
-- live, and this builds again on the current one.
local agent_stage = require "lib.agent_stage"
local llm = require "lib.llm"
local jobs_core = require "wm.core.jobs"
local outcome = require "lib.outcome"
local pipeline = require "lib.pipeline"
local screenshot = require "stages.screenshot"
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
-- Times a structural change that failed the gate goes back to the
-- architect with the failures (a new site gets quality.max_attempts builds;
-- a customer waits for this one, and a person can take it from there).
local ARCHITECT_RETRIES = 1

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

-- The model failed (llm.run_agent's err, call): tried again while that can
-- help and attempts remain (pipeline.llm_failure: a busy provider waits
-- without spending one); otherwise the request goes to a person with the
-- reason, rather than waiting in_progress for a job that gave up.
local function model_failed(job, t, interpretation, ops, err, call)
    local o = pipeline.llm_failure(err, call)
    local last = (job.attempt or 1) >= (job.max_attempts or M.max_attempts)
    if o.outcome == jobs_core.DISCARD or (o.outcome == jobs_core.RETRY and last) then
        return to_person(t, interpretation, ops, "the assistant could not work on it: " .. tostring(err))
    end
    return o
end

-- The operations with every new section written (by the architect agent;
-- feedback: what the gate found in its last page) -> ops, nil, call | nil,
-- err, call (the model failed) | nil, nil, call, reason (it wrote no such
-- section: a person's job).
local function write_sections(job, site, inputs, ops, feedback)
    local b = wm.db.one("SELECT * FROM businesses WHERE id = $1", site.business_id)
    local ctx = agent_stage.context(b, job)
    ctx.edit = { current = inputs.content, operations = ops }
    ctx.feedback = feedback
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

-- Sections the renderer leaves out of the changed page to keep it under
-- its size budget (sites/render.lua) that the current page shows: the
-- change would make the page too big, and the customer would lose words
-- they did not ask to remove.
local function dropped_by_change(site, inputs, info)
    if #(info.dropped or {}) == 0 then
        return info.dropped or {}
    end
    local now = {}
    local _, base = site_edit.render(site, inputs)
    for _, kind in ipairs(type(base) == "table" and base.dropped or {}) do
        now[kind] = true
    end
    local lost = {}
    for _, kind in ipairs(info.dropped or {}) do
        if not now[kind] then
            lost[#lost + 1] = kind
        end
    end
    return lost
end

local warned_missing

-- The changed page through the quality gate -> failures (sentences; empty:
-- it passes), shot (stages.screenshot.photograph's {urls, report}, or nil
-- when not taken) | nil, err (the browser failed: the job tries again).
-- Lighthouse is not run: it samples sites anyway, and the approved version
-- is photographed (and sampled) again by the screenshot stage when it goes
-- live (domain.sites.new_version).
local function gate(site, html, lost)
    local check = { bytes = #html, problems = {} }
    if #lost > 0 then
        check.problems[1] = ("the page is over its %d-byte budget with the change: the %s section(s) would be "
            .. "left out"):format(require("sites.render").MAX_BYTES, table.concat(lost, ", "))
    end
    -- (A page the cheap checks fail already is not worth a browser's seconds.)
    local shot
    if #sites.quality_failures(check) == 0 and (wm.config.tickets or {}).screenshots ~= false then
        local why = screenshot.missing()
        if why then
            if not warned_missing then
                warned_missing = true
                wm.log.warn("screenshots: " .. why .. "; proposed versions of sites get the cheap checks only")
            end
        else
            local err
            shot, err = screenshot.photograph({ id = site.id, subdomain = site.subdomain }, html)
            if not shot then
                return nil, err
            end
            for _, p in ipairs(shot.report.problems or {}) do
                check.problems[#check.problems + 1] = p
            end
        end
    end
    return sites.quality_failures(check), shot
end

-- The pictures of a page that is not proposed (it failed the gate, or the
-- proposal was not saved) are never shown: their files go.
local function discard(site, shot)
    if shot then
        local ok, err = tickets.discard_shots(site.id, { shot.urls.desktop, shot.urls.mobile, shot.urls.thumb })
        if not ok then
            wm.log.warn("screenshots: the pictures of a page not proposed stay on disk", { site = site.id,
                        error = tostring(err) })
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
            return model_failed(job, t, interpretation, ops, err, call)
        end
        interpretation, ops = out.interpretation, out.operations
    end
    local why = needs_person_op(ops)
    if why then
        return to_person(t, interpretation, ops, why)
    end
    -- The operations as asked (the architect's sections not yet written):
    -- what it is asked again when its page fails the gate.
    local asked = site_edit.needs_architect(ops) and wm.json.decode(wm.json.encode(ops))
    local retries = asked and ARCHITECT_RETRIES or 0
    local function architect(feedback)
        local fresh, werr, call, missing = write_sections(job, site, inputs, wm.json.decode(wm.json.encode(asked)),
                                                          feedback)
        if missing then
            return nil, to_person(t, interpretation, nil, missing)
        end
        if not fresh then
            return nil, model_failed(job, t, interpretation, ops, werr, call)
        end
        return fresh
    end
    if asked then
        local answer
        ops, answer = architect(nil)
        if not ops then
            return answer
        end
    end

    for _ = 1, MAX_BUILDS do
        local new, changes = site_edit.apply(inputs, ops)
        if not new then
            return to_person(t, interpretation, ops, changes)
        end
        local html, info = site_edit.render(site, new)
        if not html then
            return to_person(t, interpretation, ops, "the changed page cannot be built: " .. tostring(info))
        end
        local failures, shot = gate(site, html, dropped_by_change(site, inputs, info))
        if not failures then
            if (job.attempt or 1) >= (job.max_attempts or M.max_attempts) then
                return to_person(t, interpretation, ops, "the changed page could not be checked in the browser: "
                    .. tostring(shot))
            end
            return outcome.retry(shot)
        end
        if #failures > 0 then
            discard(site, shot)
        end
        if #failures > 0 and retries == 0 then
            return to_person(t, interpretation, ops, "the changed page fails the quality gate: "
                .. table.concat(failures, "; "))
        elseif #failures > 0 then
            -- The architect writes its sections again, told what failed
            -- (like a new site's rebuild); then built and checked again.
            retries = retries - 1
            wm.log.info("a proposed version failed the quality gate; the architect writes it again",
                        { ticket = t.id, failures = table.concat(failures, "; ") })
            local answer
            ops, answer = architect(failures)
            if not ops then
                return answer
            end
        else
            local res
            res, err = wm.db.tx(function()
                local row, perr = tickets.propose(t.id, {
                    base_version = site.version, html = html, interpretation = interpretation, operations = ops,
                    changes = changes, inputs = new,
                    builder_prompt = "support ticket " .. t.id,
                    shot = shot and { desktop_url = shot.urls.desktop, mobile_url = shot.urls.mobile,
                                      thumb_url = shot.urls.thumb, load_time_ms = tonumber(shot.report.load_time_ms) },
                })
                if row and (wm.config.tickets or {}).auto_approve then
                    assert(tickets.approve(t.id, "system"))
                end
                return { row = row, err = perr }
            end)
            if not (res and res.row) then
                discard(site, shot)
            end
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
    end
    return outcome.retry("the site kept changing while this was built")
end

return M
