-- The customer portal's change requests (web/portal/page.lua has the
-- layout, the session and the CSRF check; domain/tickets.lua the states):
--
--   GET  /portal/support                 a "Request a change" form per live site, and the requests
--   POST /portal/support/new             site, text, up to 3 pictures (multipart: lib/uploads.lua checks
--                                        each by its bytes and strips its metadata): files a request
--                                        (tickets.per_customer_per_day); POST /portal/support takes
--                                        the same form without pictures (urlencoded)
--   GET  /portal/support/:id             one request: what we understood, what changed (the
--                                        visible text before and after, the screenshots when taken)
--   POST /portal/support/:id/approve     note: the new version goes live
--   POST /portal/support/:id/reject      note: the site stays as it is
--
-- A customer sees only their own sites and requests: any other id is a 404.
-- The pictures are kept for staff (support_tickets.screenshot_urls holds
-- their /admin/uploads/<sha256> addresses); a photo change is a person's job.
local page = require "web.portal.page"
local text = require "lib.text"
local uploads = require "lib.uploads"
local sites = require "domain.sites"
local tickets = require "domain.tickets"

local STATUS = {
    open = "Received", in_progress = "Being prepared", awaiting_approval = "Ready for you to review",
    needs_person = "With our team", completed = "Done: live", rejected = "Not applied",
}

-- The page shows the screenshots (same-origin /screenshots/...).
local HEADERS = { ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    .. "base-uri 'none'; frame-ancestors 'none'; form-action 'self'" }

local LIST = [[
<p><a href="/portal">&larr; Your account</a></p>
{{#error}}<p class="note err">{{error}}</p>
{{/error}}{{#sites}}<section class="card">
<h2>Request a change to {{business}}</h2>
<p><a href="{{url}}">{{url}}</a></p>
<form method="post" action="/portal/support/new" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{id}}">
<p><label for="text-{{id}}">What would you like changed?</label><br>
<textarea id="text-{{id}}" name="text" rows="5" maxlength="5000" required
 style="font:inherit;padding:.5rem;width:100%;box-sizing:border-box"
 placeholder='For example: change the phone to (512) 555-0199. Our hours are Mon-Fri 8am-5pm.'>{{entered}}</textarea></p>
<p><label for="pictures-{{id}}">Pictures (optional: up to 3 PNG, JPEG or WebP files, 5 MB each)</label><br>
<input id="pictures-{{id}}" name="pictures" type="file" accept="image/png,image/jpeg,image/webp" multiple></p>
<button type="submit">Send the request</button>
</form>
<p><small>We prepare the change and show it to you here before anything goes live.</small></p>
</section>
{{/sites}}{{^sites}}<p>You have no live website to change.</p>
{{/sites}}<h2>Your requests</h2>
{{#tickets}}<div class="card"><p><a href="/portal/support/{{id}}">{{when}}</a> · {{business}} ·
<span class="status">{{status}}</span></p><p>{{request}}</p></div>
{{/tickets}}{{^tickets}}<p>No requests yet.</p>{{/tickets}}
]]

local ONE = [[
<p><a href="/portal/support">&larr; Your requests</a></p>
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p><strong>{{business}}</strong> · <span class="status">{{status}}</span> · {{when}}</p>
<h2>You asked</h2><p style="white-space:pre-wrap">{{request}}</p>
{{#pictures}}<p>With {{pictures}} picture(s).</p>{{/pictures}}
{{#interpretation}}<h2>What we understood</h2><p>{{interpretation}}</p>{{/interpretation}}
{{#person}}<p class="note">A person on our team will look at this request{{#reason}} ({{reason}}){{/reason}}.</p>{{/person}}
{{#changes}}<h2>What changes</h2><ul>{{#list}}<li>{{.}}</li>{{/list}}</ul>{{/changes}}
{{#diff}}<h2>The page's words, before and after</h2>
{{#hunks}}<pre style="white-space:pre-wrap;background:#f9fafb;padding:.5rem;border-radius:6px">{{#lines}}<span style="{{style}}">{{mark}} {{text}}</span>
{{/lines}}</pre>{{/hunks}}{{^hunks}}<p>The words are the same; the look changes.</p>{{/hunks}}
{{/diff}}{{#shots}}<h2>Before and after</h2>
<div style="display:flex;flex-wrap:wrap;gap:1rem">
<figure style="flex:1 1 16rem;margin:0"><figcaption>Before</figcaption><img src="{{before}}" alt="The page now" width="1280" height="800" style="width:100%;height:auto;border:1px solid #e5e7eb"></figure>
<figure style="flex:1 1 16rem;margin:0"><figcaption>After</figcaption><img src="{{after}}" alt="The page with the change" width="1280" height="800" style="width:100%;height:auto;border:1px solid #e5e7eb"></figure>
</div>
{{/shots}}{{#decide}}<h2>Your decision</h2>
<form method="post" action="/portal/support/{{id}}/approve">
<input type="hidden" name="csrf" value="{{csrf}}">
<p><label for="note">A note for us (optional)</label><br>
<input id="note" name="note" type="text" maxlength="1000" style="font:inherit;padding:.5rem;width:100%;box-sizing:border-box"></p>
<button type="submit">Approve: put it live</button>
</form>
<form method="post" action="/portal/support/{{id}}/reject">
<input type="hidden" name="csrf" value="{{csrf}}">
<p><label for="rnote">What is wrong? (optional)</label><br>
<input id="rnote" name="note" type="text" maxlength="1000" style="font:inherit;padding:.5rem;width:100%;box-sizing:border-box"></p>
<button type="submit" class="alt">Reject: keep the site as it is</button>
</form>{{/decide}}
]]

local function nz(v)
    return v ~= nil and v ~= wm.null and v or false
end

local function not_found()
    return page.plain(404, "There is no such request on your account.\n")
end

local function no_site()
    return page.plain(404, "There is no such website on your account.\n")
end

-- The customer's live sites.
local function live_sites(customer_id)
    return wm.db.query([[SELECT DISTINCT g.id, g.subdomain, b.name AS business FROM subscriptions s
        JOIN generated_sites g ON g.id = s.site_id JOIN businesses b ON b.id = g.business_id
        WHERE s.customer_id = $1 AND g.status IN ('live', 'sold') ORDER BY b.name]], customer_id)
end

local function list_page(sess, status, extra)
    local sites, err, code = live_sites(sess.subject)
    if not sites then
        return page.unavailable(err, code)
    end
    local rows
    rows, err, code = tickets.list { customer_id = sess.subject, limit = 50 }
    if not rows then
        return page.unavailable(err, code)
    end
    local ctx = { csrf = sess.csrf, csrf_logout = sess.csrf, error = false, sites = {}, tickets = {} }
    for i, s in ipairs(sites) do
        ctx.sites[i] = { id = s.id, business = s.business, url = require("domain.sites").url(s.subdomain),
                         csrf = sess.csrf, entered = extra and extra.site == s.id and extra.entered or "" }
    end
    for i, t in ipairs(rows) do
        ctx.tickets[i] = { id = t.id, business = t.business, status = STATUS[t.status] or t.status,
                           when = tostring(t.created_at):sub(1, 16), request = text.clip(tostring(t.request_text), 200 + #"…", "…") }
    end
    ctx.error = extra and extra.error or false
    return page.render(status or 200, "Changes to your website", LIST, ctx)
end

local function diff_view(t)
    local diff, p = tickets.text_diff(t, 1)
    if not diff then
        return false, false
    end
    local hunks = {}
    for _, h in ipairs(diff) do
        local lines = {}
        for i, o in ipairs(h) do
            lines[i] = { text = o.text, mark = o.op == "=" and " " or o.op,
                         style = o.op == "+" and "background:#dcfce7" or o.op == "-" and "background:#fee2e2;text-decoration:line-through" or "" }
        end
        hunks[#hunks + 1] = { lines = lines }
    end
    -- The two desktop screenshots side by side, when both were taken (as
    -- paths on this host: the page's CSP allows img-src 'self' only).
    local before, after = sites.screenshot_path(nz(p.before_shot)), sites.screenshot_path(nz(p.after_shot))
    return { hunks = hunks }, before and after and { before = before, after = after } or false
end

local function ticket_page(sess, t, status, extra)
    local site = wm.db.one([[SELECT b.name FROM generated_sites g JOIN businesses b ON b.id = g.business_id
        WHERE g.id = $1]], t.site_id)
    local changes = tickets.changes(t)
    changes = changes and { list = changes } or false
    local diff, shots = diff_view(t)
    local ctx = { id = t.id, csrf = sess.csrf, csrf_logout = sess.csrf, business = site and site.name or "Your website",
                  status = STATUS[t.status] or t.status, when = tostring(t.created_at):sub(1, 16),
                  request = t.request_text, interpretation = nz(t.ai_interpretation),
                  pictures = type(t.screenshot_urls) == "table" and #t.screenshot_urls > 0 and #t.screenshot_urls or false,
                  person = t.status == "needs_person" and { reason = nz(t.needs_person_reason) } or false,
                  changes = changes, diff = diff, shots = shots, decide = t.status == "awaiting_approval",
                  notice = false, error = false }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    return page.render(status or 200, "Your change request", ONE, ctx, HEADERS)
end

page.route("GET", "/portal/support", function(req)
    local sess, res = page.signed_in(req)
    if not sess then
        return res
    end
    return list_page(sess)
end)

-- The signed-in POST's session, fields and pictures, or the answer to
-- give: a multipart form through lib/uploads.lua (read once the session
-- and the origin are checked, so no picture is stored before), else the
-- urlencoded form.
local function request_form(req)
    local shots = {}
    local ct = tostring(req.headers["content-type"] or ""):lower()
    local read = ct:sub(1, 19) == "multipart/form-data" and function(_, sess)
        local parsed, why = uploads.parse(req, { max_files = 3, max_file_bytes = 5 * 1024 * 1024 })
        if not parsed then
            return nil, list_page(sess, 422, { error = why })
        end
        for i, file in ipairs(parsed.files) do
            shots[i] = "/admin/uploads/" .. file.sha256
        end
        return parsed.fields
    end
    local sess, f, res = page.signed_form(req, read or nil)
    return sess, f, shots, res
end

local REFUSED = { limit = 429, invalid = 422 }

local function file_request(req)
    local sess, f, shots, res = request_form(req)
    if not sess then
        return res
    end
    local site = page.uuid(f.site)
    if not site then
        return no_site()
    end
    local out, err = wm.db.tx(function()
        local row, why, kind = tickets.create { site_id = site, customer_id = sess.subject, text = f.text,
                                                pictures = shots, actor_type = "customer", actor_id = sess.subject }
        return { row = row, why = why, kind = kind }
    end)
    if not out then
        return page.unavailable(err)
    end
    if not out.row then
        if out.kind == "absent" then
            return no_site()
        end
        local entered = type(f.text) == "string" and f.text:sub(1, 5000) or ""
        return list_page(sess, REFUSED[out.kind] or 422, { error = out.why, site = site, entered = entered })
    end
    return page.redirect("/portal/support/" .. out.row.id .. "?done=sent")
end

page.route("POST", "/portal/support", file_request)
page.route("POST", "/portal/support/new", file_request)

local function own_ticket(sess, id)
    id = page.uuid(id)
    if not id then
        return nil
    end
    return tickets.for_customer(sess.subject, id)
end

page.route("GET", "/portal/support/:id", function(req)
    local sess, res = page.signed_in(req)
    if not sess then
        return res
    end
    local t, err, code = own_ticket(sess, req.params.id)
    if err then
        return page.unavailable(err, code)
    end
    if not t then
        return not_found()
    end
    local notice = ({ sent = "Thank you: we have your request and will show you the change here.",
                      approved = "Approved: the new version of your website is live.",
                      rejected = "Rejected: your website stays as it is.",
                      rebuilding = "Your website changed since this was prepared, so we are preparing it again "
                          .. "on the current version. Look again in a minute." })[(req.query or {}).done or ""]
    return ticket_page(sess, t, 200, { notice = notice or false })
end)

local function decide(verb)
    page.route("POST", "/portal/support/:id/" .. verb, function(req)
        local sess, f, res = page.signed_form(req)
        if not sess then
            return res
        end
        local t, err, code = own_ticket(sess, req.params.id)
        if err then
            return page.unavailable(err, code)
        end
        if not t then
            return not_found()
        end
        local note = type(f.note) == "string" and text.trim(f.note:sub(1, 1000)) or ""
        note = note ~= "" and note or nil
        local out
        out, err = wm.db.tx(function()
            local r, why
            if verb == "approve" then
                r, why = tickets.approve(t.id, "customer", sess.subject, note)
            else
                r, why = tickets.reject(t.id, "customer", sess.subject, note)
            end
            return { row = r, why = why }
        end)
        if not out then
            return page.unavailable(err)
        end
        if out.why == "stale" then
            return page.redirect("/portal/support/" .. t.id .. "?done=rebuilding")
        end
        if not out.row then
            return ticket_page(sess, tickets.get(t.id) or t, 409, { error = "This request cannot be " .. verb
                .. "d now: " .. tostring(out.why) .. "." })
        end
        return page.redirect("/portal/support/" .. t.id .. "?done=" .. verb .. "d")
    end)
end

decide("approve")
decide("reject")
