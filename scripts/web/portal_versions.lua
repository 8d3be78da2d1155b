-- The customer portal's versions page (web/portal/page.lua has the layout,
-- the session and the CSRF check):
--
--   GET  /portal/versions?site=ID              the site's versions, newest first, each earlier one
--                                              with "Restore"
--   GET  /portal/versions?site=ID&restore=N    asks to confirm bringing version N back (the portal
--                                              runs no script, so the confirmation is a page)
--   POST /portal/versions/restore              site, version: domain.sites.rollback
--
-- Only the customer's own live site: one of their subscriptions is for it
-- and it is live. Any other site id is a 404, whoever it belongs to.
local page = require "web.portal.page"
local sites = require "domain.sites"
local tickets = require "domain.tickets"
local text = require "lib.text"

local CONTENT = [[
<p><a href="/portal">&larr; Your account</a></p>
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p>Every change to your website <strong>{{business}}</strong> (<a href="{{site_url}}">{{site_url}}</a>)
is kept as a version. You can bring any earlier one back: it becomes the newest version, and the one it
replaces is kept too.</p>
{{#confirm}}<section class="card">
<p>Show version {{version}} (from {{created}}) on your website again?</p>
<form method="post" action="/portal/versions/restore">
<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{site_id}}">
<input type="hidden" name="version" value="{{version}}">
<button type="submit">Yes, restore version {{version}}</button></form>
<p><a href="/portal/versions?site={{site_id}}">No, keep the current one</a></p>
</section>
{{/confirm}}<table>
<thead><tr><th>Version</th><th>Date</th><th>What</th><th></th></tr></thead>
<tbody>
{{#versions}}<tr><td>{{version}}</td><td>{{created}}</td><td>{{what}}{{#request}}<br><small>You asked: &ldquo;{{request}}&rdquo;</small>{{/request}}{{#has_changes}}<ul>{{#changes}}<li>{{.}}</li>{{/changes}}</ul>{{/has_changes}}</td>
<td>{{#current}}on your website now{{/current}}{{^current}}<a href="/portal/versions?site={{site_id}}&amp;restore={{version}}">Restore</a>{{/current}}</td></tr>
{{/versions}}</tbody>
</table>
]]

local WHAT = { ["site.generated"] = "First version", ["site.version"] = "Changed",
               ["site.rolled_back"] = "Restored version %d" }
local REQUEST_SHOWN = 240 -- bytes of the request quoted beside its version

-- A version's request, on one line and shortened for the table.
local function quoted(request)
    if request == nil or request == wm.null then
        return false
    end
    return text.clip(text.squish(tostring(request)), REQUEST_SHOWN, "…")
end

-- Only a live site (not theirs, not live, no such site: this 404).
local MISSING = "There is no such live website on your account.\n"
local LIVE = { "live" }

local function show(sess, site, status, extra)
    local rows, err, code = sites.versions(site.id)
    if not rows then
        return page.unavailable(err, code)
    end
    local versions = {}
    local by_version = {}
    for i, r in ipairs(rows) do
        local what = r.action ~= wm.null and WHAT[r.action] or "Changed"
        if r.action == "site.rolled_back" then
            what = what:format(r.restored)
        end
        local changes = tickets.changes { ai_changes_made = r.changes } or {}
        versions[i] = { version = r.version, created = r.created_at, what = what, current = r.current,
                        site_id = site.id, request = quoted(r.request), changes = changes,
                        has_changes = #changes > 0 }
        by_version[r.version] = versions[i]
    end
    local ctx = { business = site.business, site_url = sites.url(site.subdomain), versions = versions,
                  csrf = sess.csrf, csrf_logout = sess.csrf, site_id = site.id, notice = false, error = false,
                  confirm = false }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    local asked = by_version[tonumber(ctx.restore) or -1]
    if asked and not asked.current then
        ctx.confirm = { version = asked.version, created = asked.created, csrf = sess.csrf, site_id = site.id }
    end
    ctx.restore = nil
    return page.render(status or 200, "Your website's versions", CONTENT, ctx)
end

page.route("GET", "/portal/versions", function(req)
    local sess, site, res = page.site_page(req, MISSING, LIVE)
    if not sess then
        return res
    end
    local q = req.query or {}
    local notice = q.done == "restored" and "Done: the version you chose is on your website now." or false
    return show(sess, site, 200, { notice = notice, restore = q.restore })
end)

page.route("POST", "/portal/versions/restore", function(req)
    local sess, f, site, res = page.site_form(req, MISSING, LIVE)
    if not sess then
        return res
    end
    local out, err = wm.db.tx(function()
        local row, why = sites.rollback(site.id, f.version, "customer", sess.subject)
        return { row = row, why = why }
    end)
    if not out then
        return page.unavailable(err)
    end
    if not out.row then
        return show(sess, site, 409, { error = "Not restored: " .. tostring(out.why) .. "." })
    end
    return page.redirect("/portal/versions?site=" .. site.id .. "&done=restored")
end)
