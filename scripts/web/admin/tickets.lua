-- /admin/tickets: customers' change requests (domain/tickets.lua), oldest
-- waiting first within a status filter; /admin/tickets/<id>: the request,
-- what the support agent understood, its operations, what changes (the
-- desktop screenshots and the visible text before and after) and, for
-- editors, approve / reject on the customer's behalf or resolve one a
-- person did by hand.
local view = require "web.admin.view"
local sites = require "domain.sites"
local tickets = require "domain.tickets"
local text = require "lib.text"

local STATUSES = tickets.STATUSES

local LIST = [[
<form method="get" action="/admin/tickets" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<button type="submit">Filter</button></form>
{{^rows}}<p class="empty">No requests{{#status}} with this status{{/status}}. Customers file them in the portal; to file one for a customer, open their site under <a href="/admin/sites">Sites</a> (or <code>wm tickets add --site ID TEXT</code>).</p>{{/rows}}
{{#has_rows}}<table><thead><tr><th>Status</th><th>Age</th><th>Customer</th><th>Site</th><th>Request</th><th>Assignee</th></tr></thead><tbody>
{{#rows}}<tr><td><a href="/admin/tickets/{{id}}">{{status}}</a></td><td>{{age}}</td><td>{{customer}}</td><td>{{business}}</td><td>{{request}}</td><td>{{assignee}}</td></tr>
{{/rows}}</tbody></table>{{/has_rows}}
]]

local SHOW = [[
<p><a href="/admin/tickets">All requests</a></p>
{{#notice}}<p class="flash" role="status">{{notice}}</p>{{/notice}}
<dl><dt>Status</dt><dd>{{t.status}}</dd><dt>Customer</dt><dd><a href="/admin/customers/{{t.customer_id}}">{{customer}}</a></dd>
<dt>Site</dt><dd><a href="/admin/sites/{{t.site_id}}">{{business}}</a></dd><dt>Filed</dt><dd>{{filed}}</dd>
<dt>Assigned to</dt><dd>{{assignee}}</dd>{{#edited}}<dt>Edited by staff</dt><dd>{{edited}}</dd>{{/edited}}
{{#decided}}<dt>Decided</dt><dd>{{decided}}</dd>{{/decided}}{{#note}}<dt>Note</dt><dd>{{note}}</dd>{{/note}}
{{#reason}}<dt>Needs a person</dt><dd>{{reason}}</dd>{{/reason}}</dl>
<h2>Request</h2><p class="prewrap">{{t.request_text}}</p>
{{#has_pictures}}<h3>Pictures sent with it</h3><ul class="site-grid">{{#pictures}}<li class="card"><a href="{{.}}" class="thumb"><img src="{{.}}" alt="A picture the customer sent" loading="lazy"></a></li>{{/pictures}}</ul>{{/has_pictures}}
{{#interpretation}}<h2>Understood</h2><p>{{interpretation}}</p>{{/interpretation}}
{{#has_ops}}<h2>Operations</h2><ul>{{#ops}}<li><code>{{.}}</code></li>{{/ops}}</ul>{{/has_ops}}
{{#changes}}<h2>Changes</h2><ul>{{#list}}<li>{{.}}</li>{{/list}}</ul>{{/changes}}
{{#shots}}<h2>Before and after</h2><ul class="site-grid">
<li class="card"><a href="{{before}}" class="thumb"><img src="{{before}}" alt="The page before" width="1280" height="800" loading="lazy"></a><div>Before (version {{base}})</div></li>
<li class="card"><a href="{{after}}" class="thumb"><img src="{{after}}" alt="The page with the change" width="1280" height="800" loading="lazy"></a><div>After</div></li>
</ul>{{/shots}}
{{#has_hunks}}<h2>Visible text</h2><p class="muted">− before, + after.</p>{{#hunks}}<pre class="diff">{{#lines}}<span class="{{cls}}">{{mark}} {{text}}</span>{{/lines}}</pre>{{/hunks}}{{/has_hunks}}
{{#has_history}}<h2>History</h2><ol class="history">{{#history}}<li><span class="muted">{{at}} · {{who}}</span> {{what}}</li>{{/history}}</ol>{{/has_history}}
{{#can_decide}}<div class="actions">
{{#awaiting}}<form method="post" action="/admin/tickets/{{t.id}}/approve"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Note <input type="text" name="note" maxlength="1000"></label> <button type="submit">Approve for the customer</button></form>{{/awaiting}}
{{#person}}<form method="post" action="/admin/tickets/{{t.id}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}">
<label>What was done <input type="text" name="note" maxlength="1000" required></label> <button type="submit">Resolved by hand</button></form>{{/person}}
{{#rejectable}}<form method="post" action="/admin/tickets/{{t.id}}/reject"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Note <input type="text" name="note" maxlength="1000"></label> <button type="submit" class="danger">Reject</button></form>{{/rejectable}}
</div>
{{#edit}}<details class="edit"{{#open}} open{{/open}}><summary>Edit the proposal</summary>
<p class="muted">Saved as a new proposal the customer approves in their portal (or you approve for them). Texts are shown as written; the extra section takes p, ul, ol, li, strong, em and h3 (links and anything else are removed).</p>
<form method="post" action="/admin/tickets/{{t.id}}/edit"><input type="hidden" name="csrf" value="{{csrf}}">
{{#fields}}<p><label>{{label}}<br>{{#long}}<textarea name="{{name}}" rows="4" cols="80">{{value}}</textarea>{{/long}}{{^long}}<input type="text" name="{{name}}" value="{{value}}" size="80">{{/long}}</label></p>
{{/fields}}<button type="submit">Save as a new proposal</button></form></details>{{/edit}}
<form method="post" action="/admin/tickets/{{t.id}}/assign"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Assign to <select name="user"><option value="">nobody</option>{{#assignees}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{email}}</option>{{/assignees}}</select></label> <button type="submit">Assign</button></form>
{{/can_decide}}
]]

local FLASH_TEXT = {
    approved = "Approved: the new version is live.",
    rejected = "Rejected: the site is unchanged.",
    resolved = "Marked resolved by hand.",
    rebuilding = "The site changed since this was prepared: it is being prepared again on the live version.",
    edited = "Saved as a new proposal: the customer sees it in their portal.",
    assigned = "The request's assignee was changed.",
}

local function nz(v)
    return v ~= nil and v ~= wm.null and v or false
end

local function age(s)
    return require("wm.cli_cells").age(tonumber(s) or 0)
end

wm.route("GET", "/admin/tickets", function(req)
    local status = req.query and req.query.status
    local known = false
    local statuses = {}
    for i, s in ipairs(STATUSES) do
        statuses[i] = { name = s, selected = s == status }
        known = known or s == status
    end
    local rows = assert(tickets.list { status = known and status or nil, limit = 200 })
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = { id = r.id, status = r.status, age = age(r.age_s), customer = r.customer_email, business = r.business,
                   request = text.clip(tostring(r.request_text), 120 + #"…", "…"), assignee = nz(r.assignee) or "" }
    end
    return view.page(req, "Requests", LIST, { rows = out, has_rows = #out > 0, statuses = statuses,
                                              status = known })
end, { role = "viewer" })

-- The request's page. refused: a staff action that was not carried out,
-- {error = why, status = 409 | 422[, typed = the edit form as sent]}: the
-- page comes with that status and the reason; after an edit, with the edit
-- form open, holding what was typed rather than the proposal's words (they
-- would have to type it again).
local function show(req, id, refused)
    local t, err = tickets.get(id)
    if not t then
        if err then
            error(err, 0)
        end
        return view.not_found(req)
    end
    local who = assert(wm.db.query([[SELECT c.email, b.name FROM customers c, generated_sites g
        JOIN businesses b ON b.id = g.business_id WHERE c.id = $1 AND g.id = $2]], t.customer_id, t.site_id))[1] or {}
    local ops = tickets.shown_operations(t)
    local changes = tickets.changes(t)
    changes = changes and { list = changes } or false
    local hunks = {}
    local diff, pages = tickets.text_diff(t, 1)
    for _, h in ipairs(diff or {}) do
        local lines = {}
        for i, o in ipairs(h) do
            lines[i] = { text = o.text, mark = o.op == "=" and " " or (o.op == "-" and "−" or "+"),
                         cls = o.op == "+" and "add" or o.op == "-" and "del" or "same" }
        end
        hunks[#hunks + 1] = { lines = lines }
    end
    -- The two desktop screenshots side by side when both were taken, as
    -- paths on this host (the dashboard's CSP: img-src 'self').
    local before = pages and sites.screenshot_path(nz(pages.before_shot))
    local after = pages and sites.screenshot_path(nz(pages.after_shot))
    local flash = FLASH_TEXT[(req.query or {}).done or ""]
    local can_decide = view.can(req, "editor")
    local assignees = {}
    for i, u in ipairs(can_decide and assert(tickets.assignees()) or {}) do
        assignees[i] = { id = u.id, email = u.email, selected = u.id == t.assigned_to }
    end
    local staff = assert(tickets.staff(t))
    local history = assert(tickets.history(t.id))
    -- The customer's pictures, as the portal stored them (lib.uploads, served
    -- to staff by web/admin/uploads.lua); anything else in the column is not shown.
    local pictures = {}
    for _, url in ipairs(type(t.screenshot_urls) == "table" and t.screenshot_urls or {}) do
        if type(url) == "string" and url:match("^/admin/uploads/%x+$") then
            pictures[#pictures + 1] = url
        end
    end
    -- The proposal's own words (tickets.edit renders the edit from them);
    -- after a refusal, also when the request has moved on, so what was
    -- typed can still be read and copied.
    local proposed = (t.status == "awaiting_approval" or refused) and type(t.proposed_inputs) == "table"
        and t.proposed_inputs.content
    local edit = can_decide and type(proposed) == "table" and { fields = tickets.editable(proposed), open = false }
    if edit and refused and refused.typed then
        edit.open = true
        for _, f in ipairs(edit.fields) do
            local typed = refused.typed[f.name]
            if type(typed) == "string" then
                f.value = typed
            end
        end
    end
    local edited = nz(t.edited_at) and (tostring(t.edited_at):sub(1, 16) .. " by " .. (staff.editor or "a removed account"))
    return view.page(req, "Request", SHOW, {
        t = t, customer = who.email or t.customer_id, business = who.name or t.site_id,
        filed = tostring(t.created_at):sub(1, 16) .. " by " .. (staff.filer or t.created_by_type),
        decided = nz(t.decided_at) and (tostring(t.decided_at):sub(1, 16) .. " by " .. tostring(t.decided_by_type)),
        note = nz(t.approval_note) or nz(t.resolution_notes), reason = nz(t.needs_person_reason),
        interpretation = nz(t.ai_interpretation), ops = ops, has_ops = #ops > 0, changes = changes,
        hunks = hunks, has_hunks = #hunks > 0, can_decide = view.can(req, "editor"),
        shots = before and after and { before = before, after = after, base = t.base_version } or false,
        awaiting = t.status == "awaiting_approval", person = t.status == "needs_person",
        rejectable = t.status == "open" or t.status == "awaiting_approval" or t.status == "needs_person",
        notice = not refused and flash or false, error = refused and refused.error or nil,
        history = history, has_history = #history > 0, pictures = pictures, has_pictures = #pictures > 0,
        assignee = staff.assignee or "nobody", assignees = assignees, edited = edited or false, edit = edit or false,
    }, refused and refused.status or 200)
end

wm.route("GET", "/admin/tickets/:id", function(req)
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    return show(req, id)
end, { role = "viewer" })

local function decide(verb)
    wm.route("POST", "/admin/tickets/:id/" .. verb, function(req)
        local id = req.params.id
        if not view.uuid(id) then
            return view.not_found(req)
        end
        local note = view.form(req).note
        note = type(note) == "string" and text.trim(note:sub(1, 1000)) or ""
        note = note ~= "" and note or nil
        local actor = req.actor or {}
        local res, err = wm.db.tx(function()
            local r, why
            if verb == "approve" then
                r, why = tickets.approve(id, actor.type or "admin", actor.id, note)
            elseif verb == "reject" then
                r, why = tickets.reject(id, actor.type or "admin", actor.id, note)
            else
                r, why = tickets.resolve(id, actor.type or "admin", actor.id, note or "resolved by hand")
            end
            return { row = r, why = why }
        end)
        if not res then
            error(err, 0)
        end
        if res.why == "stale" then
            return view.redirect("/admin/tickets/" .. id .. "?done=rebuilding")
        end
        if not res.row then
            return show(req, id, { error = ("Not changed: %s."):format(tostring(res.why)), status = 409 })
        end
        return view.redirect("/admin/tickets/" .. id .. "?done=" .. verb .. "d")
    end, { role = "editor" })
end

decide("approve")
decide("reject")
decide("resolve")

-- Staff's own version of the proposal (domain.tickets.edit: a new
-- proposal, the ticket still awaiting approval) and the request's
-- assignee, through view.action like the dashboard's other changes (the
-- guard checks the CSRF token; the domain writes the activity row).
local function back(id)
    return "/admin/tickets/" .. id
end

-- A refused edit shows the request again with the form as typed: 422 when
-- the edit itself is refused (tickets.edit's "invalid"), 409 when the
-- request or its site moved on.
wm.route("POST", "/admin/tickets/:id/edit", function(req)
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    local form = view.form(req)
    local actor = req.actor or {}
    local row, err, kind = wm.db.tx(function()
        return tickets.edit(id, form, actor.type or "admin", actor.id)
    end)
    if not row then
        return show(req, id, { error = ("Not changed: %s."):format(tostring(err)), typed = form,
                               status = kind == "invalid" and 422 or 409 })
    end
    return view.redirect(back(id) .. "?done=edited")
end, { role = "editor" })

wm.route("POST", "/admin/tickets/:id/assign", view.action {
    title = "Request", back = back, label = "Back to the request",
    to = function(id) return back(id) .. "?done=assigned" end,
    call = function(id, form, actor)
        actor = actor or {}
        local user = form.user ~= "" and form.user or nil
        if user and not view.uuid(user) then
            return nil, "there is no such active user"
        end
        return tickets.assign(id, user, actor.type or "admin", actor.id)
    end,
}, { role = "editor" })
