-- /admin/prompts: each agent's template and sections with their versions,
-- A/B weights, usage and success counts, and drift (what the database's
-- live prompts have that the repository's scripts/agents/ files do not);
-- /admin/prompts/<id>: one section's text, its other versions, the diff
-- against the repository; editors save an edit as a NEW version (never in
-- place), change its weight and (de)activate it (lib.prompts).
local view = require "web.admin.view"
local prompts = require "lib.prompts"
local textdiff = require "lib.textdiff"

local DRIFT = {
    same = { label = "as in the repository", cls = "completed" },
    differs = { label = "differs from the repository", cls = "retryable" },
    missing = { label = "not in the database", cls = "failed" },
    extra = { label = "not in the repository", cls = "retryable" },
}

local LIST = [[
<p class="muted">The repository (<code>scripts/agents/</code>) is the source of truth: <code>wm prompts sync</code> writes it to the database and retires what differs. Edits made here are new versions, live at once; a sync replaces them. Variants of one section share its traffic by weight.</p>
<p><a href="/admin/prompts{{^all}}?all=1{{/all}}">{{#all}}Hide{{/all}}{{^all}}Show{{/all}} inactive versions</a></p>
{{^has_rows}}<p class="empty">No prompts in the database yet. Run <code>wm prompts sync</code>; the agents also sync them on their first use.</p>{{/has_rows}}
{{#agents}}<h2>{{name}} <small>template v{{template_version}} · <span class="pill {{template_cls}}">{{template_drift}}</span></small></h2>
{{^rows}}<p class="empty">No sections for this agent in the database.</p>{{/rows}}
{{#has_rows}}<div class="scroll"><table><thead><tr><th>Section</th><th>Variant</th><th class="num">Version</th><th>Active</th><th class="num">Weight</th><th class="num">Used</th><th class="num">Converted</th><th class="num">Rate</th><th>Drift</th></tr></thead><tbody>
{{#rows}}<tr><td><a href="/admin/prompts/{{id}}">{{section_name}}</a></td><td>{{variant}}</td><td class="num">{{version}}</td><td>{{#is_active}}yes{{/is_active}}{{^is_active}}<span class="muted">no</span>{{/is_active}}</td><td class="num">{{weight}}{{#share}} <small class="muted">({{share}})</small>{{/share}}</td><td class="num">{{usage_count}}</td><td class="num">{{success_count}}</td><td class="num">{{rate}}</td><td>{{#drift}}<span class="pill {{drift_cls}}">{{drift}}</span>{{/drift}}</td></tr>{{/rows}}
</tbody></table></div>{{/has_rows}}
{{#missing}}<p class="muted">In the repository but not live: {{missing}}. <code>wm prompts sync</code> adds them.</p>{{/missing}}{{/agents}}]]

local SHOW = [[
<p><a href="/admin/prompts">← Prompts</a></p>
<section class="cards">
<div class="card"><div class="label">Version</div><div class="value small">{{p.version}}{{#p.is_active}} · active{{/p.is_active}}{{^p.is_active}} · inactive{{/p.is_active}}</div></div>
<div class="card"><div class="label">Variant · weight</div><div class="value small">{{p.variant}} · {{p.weight}}</div></div>
<div class="card"><div class="label">Used · converted</div><div class="value small">{{p.usage_count}} · {{p.success_count}}</div></div>
<div class="card"><div class="label">Repository</div><div class="value small"><span class="pill {{drift_cls}}">{{drift}}</span></div></div>
</section>
{{#p.description}}<p class="muted">{{p.description}}</p>{{/p.description}}
{{#can_edit}}<form method="post" action="/admin/prompts/{{p.id}}" class="prompt-edit"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Text (saving makes version {{next_version}}; this one is kept)<textarea name="content" rows="16">{{p.content}}</textarea></label>
<button type="submit">Save as a new version</button></form>
<div class="filters"><form method="post" action="/admin/prompts/{{p.id}}/weight"><input type="hidden" name="csrf" value="{{csrf}}"><label>Weight <input type="number" name="weight" value="{{p.weight}}" min="0" max="10000" class="tiny"></label> <button type="submit" class="alt">Set weight</button></form>
<form method="post" action="/admin/prompts/{{p.id}}/active"><input type="hidden" name="csrf" value="{{csrf}}">{{#p.is_active}}<input type="hidden" name="active" value="0"><button type="submit" class="alt" data-confirm="Deactivate this version? The section must keep one active version for the agent to run.">Deactivate</button>{{/p.is_active}}{{^p.is_active}}<input type="hidden" name="active" value="1"><button type="submit" class="alt">Activate</button>{{/p.is_active}}</form></div>{{/can_edit}}
{{^can_edit}}<h2>Text</h2><pre>{{p.content}}</pre>{{/can_edit}}
<h2>Against the repository</h2>
{{^repo}}<p class="empty">The repository has no {{p.section_name}} section{{#p.has_variant}} (variant {{p.variant}}){{/p.has_variant}} for {{p.agent_name}}: the next <code>wm prompts sync</code> retires it.</p>{{/repo}}
{{#repo}}{{^hunks}}<p class="empty">The same as the repository's text.</p>{{/hunks}}
{{#has_hunks}}<p class="muted">− the repository, + this version.</p>{{#hunks}}<pre class="diff">{{#lines}}<span class="{{cls}}">{{mark}} {{text}}</span>{{/lines}}</pre>{{/hunks}}{{/has_hunks}}{{/repo}}
<h2>Versions of {{p.agent_name}}.{{p.section_name}}</h2>
<div class="scroll"><table><thead><tr><th class="num">Version</th><th>Variant</th><th>Active</th><th class="num">Weight</th><th class="num">Used</th><th class="num">Converted</th><th>Changed</th></tr></thead><tbody>
{{#versions}}<tr><td class="num">{{#current}}{{version}} (shown){{/current}}{{^current}}<a href="/admin/prompts/{{id}}">{{version}}</a>{{/current}}</td><td>{{variant}}</td><td>{{#is_active}}yes{{/is_active}}{{^is_active}}no{{/is_active}}</td><td class="num">{{weight}}</td><td class="num">{{usage_count}}</td><td class="num">{{success_count}}</td><td>{{updated_at}}</td></tr>{{/versions}}
</tbody></table></div>]]

local function diff_lines(a, b)
    local ops = textdiff.diff(a, b)
    local hunks = {}
    for _, h in ipairs(textdiff.hunks(ops, 2)) do
        local lines = {}
        for _, o in ipairs(h) do
            lines[#lines + 1] = { text = o.text, mark = o.op == "=" and " " or (o.op == "-" and "−" or "+"),
                                  cls = o.op == "+" and "add" or o.op == "-" and "del" or "same" }
        end
        hunks[#hunks + 1] = { lines = lines }
    end
    return hunks
end


wm.route("GET", "/admin/prompts", function(req)
    local all = (req.query or {}).all == "1"
    local rows = assert(prompts.ls(nil, all))
    local drift = prompts.drift()
    local versions = assert(wm.db.query([[SELECT agent_name, max(version)::int AS v FROM prompt_template_versions
        GROUP BY agent_name]]))
    local tv = {}
    for _, v in ipairs(versions) do
        tv[v.agent_name] = v.v
    end
    -- A section's active weights, for each variant's share of the traffic.
    local totals = {}
    for _, r in ipairs(rows) do
        if r.is_active then
            local k = r.agent_name .. "\0" .. r.section_name
            totals[k] = (totals[k] or 0) + (tonumber(r.weight) or 0)
        end
    end
    local agents, by = {}, {}
    for _, name in ipairs(prompts.AGENTS) do
        local d = drift[name]
        local a = { name = name, rows = {}, template_version = tv[name] or "–",
                    template_drift = DRIFT[d.template].label, template_cls = DRIFT[d.template].cls }
        agents[#agents + 1] = a
        by[name] = a
        local missing = {}
        for k, s in pairs(d.sections) do
            if s.state == "missing" then
                missing[#missing + 1] = k:gsub("%z$", ""):gsub("%z", " variant ")
            end
        end
        table.sort(missing)
        a.missing = #missing > 0 and table.concat(missing, ", ") or nil
    end
    for _, r in ipairs(rows) do
        local a = by[r.agent_name]
        if a then
            -- prompts.ls shows a section without a variant as variant "a".
            local secs = drift[r.agent_name].sections
            local s = secs[r.section_name .. "\0" .. r.variant] or (r.variant == "a" and secs[r.section_name .. "\0"])
            if r.is_active and s then
                r.drift, r.drift_cls = DRIFT[s.state].label, DRIFT[s.state].cls
            end
            local total = totals[r.agent_name .. "\0" .. r.section_name] or 0
            if r.is_active and total > 0 and (tonumber(r.weight) or 0) < total then
                r.share = view.pct(r.weight, total)
            end
            r.usage_count, r.success_count = tonumber(r.usage_count) or 0, tonumber(r.success_count) or 0
            r.rate = view.pct(r.success_count, r.usage_count)
            a.rows[#a.rows + 1] = r
        end
    end
    for _, a in ipairs(agents) do
        a.has_rows = #a.rows > 0
    end
    return view.page(req, "Prompts", LIST, { agents = #rows > 0 and agents or {}, has_rows = #rows > 0, all = all })
end, { role = "viewer" })

wm.route("GET", "/admin/prompts/:id", function(req)
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    local p = assert(wm.db.query([[SELECT id, agent_name, section_name, coalesce(variant, 'a') AS variant,
            variant IS NOT NULL AS has_variant, version, coalesce(is_active, false) AS is_active,
            coalesce(weight, 0) AS weight, coalesce(usage_count, 0) AS usage_count,
            coalesce(success_count, 0) AS success_count, content, coalesce(description, '') AS description
        FROM prompt_settings WHERE id = $1]], id))[1]
    if not p then
        return view.not_found(req)
    end
    local versions = assert(wm.db.query([[SELECT id, version, coalesce(variant, 'a') AS variant,
            coalesce(is_active, false) AS is_active, coalesce(weight, 0) AS weight,
            coalesce(usage_count, 0) AS usage_count, coalesce(success_count, 0) AS success_count,
            to_char(updated_at, 'YYYY-MM-DD HH24:MI') AS updated_at
        FROM prompt_settings WHERE agent_name = $1 AND section_name = $2 ORDER BY version DESC]],
        p.agent_name, p.section_name))
    local next_version = 0
    for _, v in ipairs(versions) do
        v.current = v.id == p.id
        next_version = math.max(next_version, v.version)
    end
    -- The repository's text of this section and variant, if it has one.
    local repo
    local ok, m = pcall(prompts.agent, p.agent_name)
    if ok then
        for _, s in ipairs(m.sections) do
            if s.section_name == p.section_name and (s.variant or "a") == p.variant then
                repo = s.content
            end
        end
    end
    local state = not repo and "extra" or (repo == p.content and "same" or "differs")
    local hunks = repo and diff_lines(repo, p.content) or nil
    return view.page(req, p.agent_name .. "." .. p.section_name, SHOW, {
        p = p, versions = versions, next_version = next_version + 1, can_edit = view.can(req, "editor"),
        repo = repo, hunks = hunks, has_hunks = hunks and #hunks > 0,
        drift = DRIFT[state].label, drift_cls = DRIFT[state].cls,
    })
end, { role = "viewer" })

local function action(call, flash)
    return view.action { title = "Prompts", flash = flash, call = call, label = "Back to the prompt",
                         refused = "refused",
                         back = function(id) return "/admin/prompts/" .. id end,
                         -- An edit answers the new version's row: show that one.
                         to = function(id, row) return "/admin/prompts/" .. (type(row) == "table" and row.id or id) end }
end

wm.route("POST", "/admin/prompts/:id", action(function(id, form, actor)
    return prompts.edit(id, form.content, actor)
end, "prompt_saved"), { role = "editor" })
wm.route("POST", "/admin/prompts/:id/weight", action(function(id, form, actor)
    return prompts.set_weight(id, form.weight, actor)
end, "prompt_changed"), { role = "editor" })
wm.route("POST", "/admin/prompts/:id/active", action(function(id, form, actor)
    return prompts.set_active(id, form.active == "1", actor)
end, "prompt_changed"), { role = "editor" })
