-- /admin/jobs: the queue by kind and status, the failed jobs with their
-- errors, retry and cancel (editor and above, POST with the CSRF token).
local view = require "web.admin.view"

local TEMPLATE = [[
<h2>Depth by kind and status</h2>
{{^counts}}<p class="empty">No jobs yet. <code>wm serve</code> schedules them as the autopilot runs.</p>{{/counts}}
{{#has_counts}}<table><thead><tr><th>Kind</th><th>Status</th><th class="num">Jobs</th></tr></thead><tbody>
{{#counts}}<tr><td><a href="/admin/jobs?kind={{kind}}">{{kind}}</a></td><td><span class="pill {{status}}">{{status}}</span></td><td class="num">{{n}}</td></tr>{{/counts}}
</tbody></table>{{/has_counts}}
<h2>Failed{{#kind}} · {{kind}}{{/kind}}</h2>
{{^failed}}<p class="empty">No failed jobs.</p>{{/failed}}
{{#has_failed}}<div class="scroll"><table><thead><tr><th>Job</th><th>Kind</th><th>Status</th><th class="num">Tries</th><th>Last error</th><th></th></tr></thead><tbody>
{{#failed}}<tr><td>#{{id}}</td><td>{{kind}}</td><td><span class="pill {{status}}">{{status}}</span></td><td class="num">{{attempt}}/{{max_attempts}}</td>
<td class="err"><details><summary>{{summary}}</summary><pre>{{last_error}}</pre></details></td>
<td class="actions">{{#can_edit}}<form method="post" action="/admin/jobs/{{id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Retry</button></form>
{{#cancellable}}<form method="post" action="/admin/jobs/{{id}}/cancel"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="alt">Cancel</button></form>{{/cancellable}}{{/can_edit}}</td></tr>{{/failed}}
</tbody></table></div>{{/has_failed}}
]]

wm.route("GET", "/admin/jobs", function(req)
    local kind = req.query and req.query.kind
    if type(kind) ~= "string" or kind == "" then
        kind = nil
    end
    local counts = assert(wm.db.query([[SELECT kind, status, count(*)::int AS n FROM jobs
        WHERE ($1::text IS NULL OR kind = $1) GROUP BY kind, status ORDER BY kind, status]], kind))
    local failed = assert(wm.db.query([[SELECT id, kind, status, attempt, max_attempts, coalesce(last_error, '') AS last_error
        FROM jobs WHERE status IN ('retryable', 'discarded') AND ($1::text IS NULL OR kind = $1)
        ORDER BY updated_at DESC LIMIT 200]], kind))
    local can_edit = view.can(req, "editor")
    for _, j in ipairs(failed) do
        j.summary = j.last_error:match("^[^\n]*"):sub(1, 120)
        j.can_edit = can_edit
        j.cancellable = j.status == "retryable"
    end
    return view.page(req, "Jobs", TEMPLATE, { counts = counts, has_counts = #counts > 0, failed = failed,
        has_failed = #failed > 0, kind = kind })
end, { role = "viewer" })

local function action(name)
    return function(req)
        local id = tonumber(req.params.id)
        if not id then
            return view.not_found(req)
        end
        local ok, err = wm.db.tx(function()
            return require("domain.jobs")[name](id, req.actor)
        end)
        if not ok then
            return view.page(req, "Jobs", "<p><a href=\"/admin/jobs\">Back to the jobs</a></p>",
                { error = ("Job #%d: %s."):format(id, tostring(err)) }, 409)
        end
        return view.redirect("/admin/jobs", name == "retry" and "retried" or "cancelled")
    end
end

wm.route("POST", "/admin/jobs/:id/retry", action("retry"), { role = "editor" })
wm.route("POST", "/admin/jobs/:id/cancel", action("cancel"), { role = "editor" })
