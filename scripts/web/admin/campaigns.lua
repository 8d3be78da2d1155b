-- /admin/campaigns: status counts and the stuck sends (campaigns left in
-- 'sending': the provider may have sent them), resolved by an admin as
-- sent or released (domain.campaigns.resolve).
local view = require "web.admin.view"

local TEMPLATE = [[
<section class="cards">{{#counts}}<div class="card metric"><div class="label">{{status}}</div><div class="value">{{n}}</div></div>{{/counts}}</section>
{{^counts}}<p class="empty">No campaigns yet: each site built gets one when its email is composed.</p>{{/counts}}
<h2>Stuck in sending</h2>
{{^stuck}}<p class="empty">No campaign is stuck in 'sending'.</p>{{/stuck}}
{{#has_stuck}}<p class="muted">The provider may or may not have sent these. Check its log, then resolve each.</p>
<div class="scroll"><table><thead><tr><th>Recipient</th><th>Provider</th><th class="num">Age</th><th>Last error</th><th></th></tr></thead><tbody>
{{#stuck}}<tr><td>{{recipient_email}}</td><td>{{email_provider}}</td><td class="num">{{age}}</td><td class="err">{{error_message}}</td>
<td class="actions">{{#can_resolve}}<form method="post" action="/admin/campaigns/{{id}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" name="verdict" value="sent">It was sent</button> <button type="submit" name="verdict" value="release" class="alt" data-confirm="Send this email again?">Send again</button></form>{{/can_resolve}}</td></tr>{{/stuck}}
</tbody></table></div>{{/has_stuck}}]]

wm.route("GET", "/admin/campaigns", function(req)
    local counts = assert(wm.db.query([[SELECT coalesce(status, 'none') AS status, count(*)::int AS n
        FROM campaigns GROUP BY 1 ORDER BY 1]]))
    local stuck = assert(require("domain.campaigns").stuck(200))
    local can = view.can(req, "admin")
    for _, c in ipairs(stuck) do
        c.can_resolve = can
        c.recipient_email, c.email_provider = view.str(c.recipient_email), view.str(c.email_provider)
        c.error_message = view.str(c.error_message)
        c.age = ("%dm"):format(math.floor((tonumber(c.age_s) or 0) / 60))
    end
    return view.page(req, "Campaigns", TEMPLATE, { counts = counts, stuck = stuck, has_stuck = #stuck > 0 })
end, { role = "viewer" })

wm.route("POST", "/admin/campaigns/:id/resolve", function(req)
    local verdict = view.form(req).verdict
    if verdict ~= "sent" and verdict ~= "release" then
        return view.page(req, "Campaigns", "", { error = "Choose sent or release." }, 422)
    end
    local id = req.params.id
    if not view.uuid(id) then
        return view.not_found(req)
    end
    local ok, err = wm.db.tx(function()
        local done, e = require("domain.campaigns").resolve(id, verdict, req.actor)
        if done and verdict == "release" then
            local c = assert(wm.db.run_one("SELECT business_id FROM campaigns WHERE id = $1", id))
            assert(require("lib.pipeline").next("send", c.business_id, { campaign_id = id }))
        end
        return done, e
    end)
    if not ok then
        return view.page(req, "Campaigns", "<p><a href=\"/admin/campaigns\">Back</a></p>",
            { error = "Not resolved: " .. tostring(err) }, 409)
    end
    return view.redirect("/admin/campaigns", "resolved_" .. verdict)
end, { role = "admin" })
