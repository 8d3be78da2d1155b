-- /admin/campaigns: the outreach switch (domain.outreach: paused, since
-- when, by whom; admins pause and resume it), status counts, the A/B
-- variants side by side, and the stuck sends (campaigns left in 'sending':
-- the provider may have sent them), resolved by an admin as sent or
-- released (domain.campaigns.resolve).
local view = require "web.admin.view"
local outreach = require "domain.outreach"
local bot_agents = require "lib.bot_agents"

local TEMPLATE = [[
{{#notice}}<p class="flash" role="status">{{notice}}</p>{{/notice}}
{{#o.paused}}<section class="outreach paused" role="status"><p><strong>Outreach is paused</strong> since {{since}} by {{by}}{{#o.reason}}: “{{o.reason}}”{{/o.reason}}.
No campaign email is composed or sent until it is resumed; mail to customers (sign-in links, requests) still goes.</p>
{{#can_switch}}<form method="post" action="/admin/campaigns/resume"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Resume outreach</button></form>{{/can_switch}}</section>{{/o.paused}}
{{^o.paused}}<section class="outreach running"><p><strong>Outreach is running</strong>: campaign emails are composed and sent.</p>
{{#can_switch}}<form method="post" action="/admin/campaigns/pause"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Reason <input type="text" name="reason" maxlength="500" placeholder="optional"></label>
<button type="submit" class="danger" data-confirm="Stop all outreach email now?">Pause outreach</button></form>{{/can_switch}}</section>{{/o.paused}}
<section class="cards">{{#counts}}<div class="card metric"><div class="label">{{status}}</div><div class="value">{{n}}</div></div>{{/counts}}</section>
{{^counts}}<p class="empty">No campaigns yet: each site built gets one when its email is composed.</p>{{/counts}}
<h2>A/B variants</h2>
{{^variants}}<p class="empty">No campaign has been sent yet.</p>{{/variants}}
{{#has_variants}}<p class="muted">Sent campaigns by variant. Opened and clicked count campaigns a person opened or clicked;
those only a mail-privacy proxy opened (Gmail's and Yahoo's image proxies, Apple Mail Privacy Protection) or only a link
scanner clicked (Safe Links, Proofpoint, Mimecast, bots, scripts) are counted apart. Rates are of the sent.</p>
<div class="scroll"><table class="variants"><thead><tr><th>Variant</th><th class="num">Sent</th><th class="num">Opened</th><th class="num">Open rate</th>
<th class="num">Opened by proxy only</th><th class="num">Clicked</th><th class="num">Click rate</th><th class="num">Clicked by scanner only</th>
<th class="num">Converted</th><th class="num">Conversion rate</th></tr></thead><tbody>
{{#variants}}<tr><td>{{variant}}</td><td class="num">{{sent}}</td><td class="num">{{opened}}</td><td class="num">{{open_rate}}</td>
<td class="num muted">{{opened_proxy}}</td><td class="num">{{clicked}}</td><td class="num">{{click_rate}}</td>
<td class="num muted">{{clicked_scanner}}</td><td class="num">{{converted}}</td><td class="num">{{conversion_rate}}</td></tr>
{{/variants}}</tbody></table></div>{{/has_variants}}
<h2>Stuck in sending</h2>
{{^stuck}}<p class="empty">No campaign is stuck in 'sending'.</p>{{/stuck}}
{{#has_stuck}}<p class="muted">The provider may or may not have sent these. Check its log, then resolve each.</p>
<div class="scroll"><table><thead><tr><th>Recipient</th><th>Provider</th><th class="num">Age</th><th>Last error</th><th></th></tr></thead><tbody>
{{#stuck}}<tr><td>{{recipient_email}}</td><td>{{email_provider}}</td><td class="num">{{age}}</td><td class="err">{{error_message}}</td>
<td class="actions">{{#can_resolve}}<form method="post" action="/admin/campaigns/{{id}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" name="verdict" value="sent">It was sent</button> <button type="submit" name="verdict" value="release" class="alt" data-confirm="Send this email again?">Send again</button></form>{{/can_resolve}}</td></tr>{{/stuck}}
</tbody></table></div>{{/has_stuck}}]]

local NOTICE = {
    paused = "Outreach is paused: no campaign email goes until it is resumed.",
    resumed = "Outreach is running again: the waiting campaigns go now.",
}

-- Sent campaigns per variant (NULL: "none"): how many a person opened and
-- clicked, how many only a proxy opened or only a scanner clicked
-- (lib.bot_agents decides, once per distinct user agent), how many converted.
local function variants()
    local agents = assert(wm.db.query([[SELECT DISTINCT coalesce(user_agent, '') AS ua FROM tracking_events
        WHERE kind IN ('open', 'click')]]))
    local automated = {}
    for _, a in ipairs(agents) do
        if bot_agents.automated(a.ua) then
            automated[#automated + 1] = a.ua
        end
    end
    local rows = assert(wm.db.query([[WITH per AS (
            SELECT e.campaign_id,
                bool_or(e.kind = 'open' AND NOT a.auto) AS open_person, bool_or(e.kind = 'open' AND a.auto) AS open_auto,
                bool_or(e.kind = 'click' AND NOT a.auto) AS click_person, bool_or(e.kind = 'click' AND a.auto) AS click_auto
            FROM tracking_events e
            CROSS JOIN LATERAL (SELECT coalesce(e.user_agent, '') = ANY($1::text[]) AS auto) a
            WHERE e.kind IN ('open', 'click') GROUP BY e.campaign_id)
        SELECT coalesce(c.variant, 'none') AS variant, count(*)::int AS sent,
            count(*) FILTER (WHERE p.open_person)::int AS opened,
            count(*) FILTER (WHERE p.open_auto AND NOT p.open_person)::int AS opened_proxy,
            count(*) FILTER (WHERE p.click_person)::int AS clicked,
            count(*) FILTER (WHERE p.click_auto AND NOT p.click_person)::int AS clicked_scanner,
            count(*) FILTER (WHERE c.converted_at IS NOT NULL)::int AS converted
        FROM campaigns c LEFT JOIN per p ON p.campaign_id = c.id
        WHERE c.sent_at IS NOT NULL GROUP BY 1 ORDER BY 1]], wm.db.array(automated)))
    for _, r in ipairs(rows) do
        r.open_rate, r.click_rate = view.pct(r.opened, r.sent), view.pct(r.clicked, r.sent)
        r.conversion_rate = view.pct(r.converted, r.sent)
    end
    return rows
end

wm.route("GET", "/admin/campaigns", function(req)
    local counts = assert(wm.db.query([[SELECT coalesce(status, 'none') AS status, count(*)::int AS n
        FROM campaigns GROUP BY 1 ORDER BY 1]]))
    local o = assert(outreach.state())
    local v = variants()
    local stuck = assert(require("domain.campaigns").stuck(200))
    local can = view.can(req, "admin")
    for _, c in ipairs(stuck) do
        c.can_resolve = can
        c.recipient_email, c.email_provider = view.str(c.recipient_email), view.str(c.email_provider)
        c.error_message = view.str(c.error_message)
        c.age = ("%dm"):format(math.floor((tonumber(c.age_s) or 0) / 60))
    end
    return view.page(req, "Campaigns", TEMPLATE, {
        counts = counts, stuck = stuck, has_stuck = #stuck > 0, variants = v, has_variants = #v > 0,
        o = o, can_switch = view.can(req, "admin"), notice = NOTICE[(req.query or {}).done or ""] or false,
        since = o.paused_at and tostring(o.paused_at):sub(1, 16) or "",
        by = o.paused_by_email or (o.paused_by_type == "admin" and "a removed account") or o.paused_by_type or "",
    })
end, { role = "viewer" })

-- The outreach switch: 303 back to the page, or 409 when it is already
-- in the state asked for (nothing changed).
local function switch(verb)
    wm.route("POST", "/admin/campaigns/" .. verb, function(req)
        local form = view.form(req)
        local actor = req.actor or {}
        local res, err = wm.db.tx(function()
            if verb == "pause" then
                return outreach.pause(actor.type or "admin", actor.id, form.reason)
            end
            return outreach.resume(actor.type or "admin", actor.id)
        end)
        if not res then
            return view.refused(req, "Campaigns", "/admin/campaigns", "Back to the campaigns",
                ("Not changed: %s."):format(tostring(err)))
        end
        return view.redirect("/admin/campaigns?done=" .. verb .. "d")
    end, { role = "admin" })
end

switch("pause")
switch("resume")

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
