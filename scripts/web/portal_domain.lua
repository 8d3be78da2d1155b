-- The customer portal's "your own domain" page (web/portal/page.lua has
-- the layout, the session and the CSRF check):
--
--   GET  /portal/domain?site=ID          the site's domain: the DNS records to create, what the
--                                        last check found, or a form to enter one
--   POST /portal/domain                  site, domain: claims it (domain.custom_domains.request)
--   POST /portal/domain/check            site: checks a pending or failed claim again now
--   POST /portal/domain/remove           site: ends the claim
--
-- A site is the customer's when one of their subscriptions is for it;
-- any other site id is a 404, whoever it belongs to.
local page = require "web.portal.page"
local custom_domains = require "domain.custom_domains"

local MISSING = "There is no such website on your account.\n"

local STATUS = {
    pending = "Waiting for the DNS records",
    verified = "Connected",
    failed = "Not found after many checks",
}

local CONTENT = [[
<p><a href="/portal">&larr; Your account</a></p>
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p>Your website <strong>{{business}}</strong> is at <a href="{{site_url}}">{{site_url}}</a>.
You can also show it at a domain you own, like <em>www.yourbusiness.com</em>.</p>
{{#claim}}<section class="card">
<p><strong>{{domain}}</strong>: <span class="status">{{status}}</span></p>
{{#verified}}<p>Your website answers at <a href="https://{{domain}}/">https://{{domain}}/</a>.</p>
{{/verified}}{{^verified}}<p>Create these records where you manage your domain's DNS (your registrar or DNS host):</p>
<table>
<thead><tr><th>Type</th><th>Name</th><th>Value</th></tr></thead>
<tbody>
<tr><td>TXT</td><td><code>{{txt_name}}</code></td><td><code>{{txt_value}}</code></td></tr>
{{#cname_target}}<tr><td>CNAME</td><td><code>{{domain}}</code></td><td><code>{{cname_target}}</code></td></tr>
{{/cname_target}}{{#a_address}}<tr><td>A</td><td><code>{{domain}}</code></td><td><code>{{a_address}}</code> (if your domain has no www, instead of the CNAME)</td></tr>
{{/a_address}}</tbody>
</table>
<p><small>DNS changes can take from minutes to a few hours to show. We check on our own and this page shows what we found.</small></p>
{{/verified}}{{#last_result}}<p>Last check ({{checked_at}}): {{last_result}}</p>
{{/last_result}}{{#points_to}}<p>The domain points to: {{points_to}}</p>
{{/points_to}}{{#checkable}}<form method="post" action="/portal/domain/check">
<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{site_id}}">
<button type="submit">Check now</button></form>
{{/checkable}}<form method="post" action="/portal/domain/remove">
<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{site_id}}">
<button type="submit" class="alt">Remove this domain</button></form>
</section>
{{/claim}}<h2>{{#claim}}Use another domain{{/claim}}{{^claim}}Connect a domain{{/claim}}</h2>
<form method="post" action="/portal/domain">
<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{site_id}}">
<p><label for="domain">Domain</label><br>
<input id="domain" name="domain" type="text" inputmode="url" autocomplete="off" spellcheck="false" maxlength="253"
 placeholder="www.example.com" value="{{entered}}" style="font:inherit;padding:.5rem;width:100%;max-width:24rem"></p>
<button type="submit">Connect</button>
</form>
<p><small>Don't have a domain yet? Buy one from any registrar, then come back here.</small></p>
]]

local function nz(v)
    return v ~= nil and v ~= wm.null and v or false
end

local function show(sess, site, status, extra)
    local row, err, code = custom_domains.for_site(site.id)
    if err then
        return page.unavailable(err, code)
    end
    local claim = false
    if row then
        local i = custom_domains.instructions(row)
        claim = { domain = row.domain, status = STATUS[row.status] or row.status,
                  verified = row.status == "verified", txt_name = i.txt_name, txt_value = i.txt_value,
                  cname_target = i.cname_target, a_address = i.a_address,
                  last_result = nz(row.last_result), checked_at = nz(row.checked_at),
                  points_to = row.status ~= "verified" and nz(row.points_to),
                  checkable = row.status ~= "verified", csrf = sess.csrf, site_id = site.id }
    end
    local ctx = { business = site.business, site_url = require("domain.sites").url(site.subdomain),
                  claim = claim, csrf = sess.csrf, csrf_logout = sess.csrf, site_id = site.id,
                  notice = false, error = false, entered = "" }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    return page.render(status or 200, "Your own domain", CONTENT, ctx)
end

page.route("GET", "/portal/domain", function(req)
    local sess, site, res = page.site_page(req, MISSING)
    if not sess then
        return res
    end
    local notice = ({ added = "We are checking your domain. Create the records below if you have not yet.",
                      checking = "We are checking your domain again.",
                      removed = "The domain is removed from your website." })[(req.query or {}).done or ""]
    return show(sess, site, 200, { notice = notice or false })
end)

local function done(site, what)
    return page.redirect("/portal/domain?site=" .. site.id .. "&done=" .. what)
end

page.route("POST", "/portal/domain", function(req)
    local sess, f, site, res = page.site_form(req, MISSING)
    if not sess then
        return res
    end
    local out, err = wm.db.tx(function()
        local row, why = custom_domains.request(site.id, f.domain, "customer", sess.subject)
        return { row = row, why = why }
    end)
    if not out then
        return page.unavailable(err)
    end
    if not out.row then
        return show(sess, site, 422, { error = out.why, entered = type(f.domain) == "string" and f.domain:sub(1, 253) or "" })
    end
    return done(site, "added")
end)

local function act(verb, fn)
    page.route("POST", "/portal/domain/" .. verb, function(req)
        local sess, _, site, res = page.site_form(req, MISSING)
        if not sess then
            return res
        end
        local out, err = wm.db.tx(function()
            local row = custom_domains.for_site(site.id)
            if not row then
                return { why = "There is no domain on this website." }
            end
            local r, why = fn(row, sess)
            return { row = r, why = why }
        end)
        if not out then
            return page.unavailable(err)
        end
        if not out.row then
            return show(sess, site, 409, { error = out.why })
        end
        return done(site, verb == "check" and "checking" or "removed")
    end)
end

act("check", function(row, sess)
    if row.status == "verified" then
        return nil, "This domain is already connected."
    end
    return custom_domains.recheck(row.id, "customer", sess.subject)
end)

act("remove", function(row, sess)
    return custom_domains.remove(row.id, "customer", sess.subject)
end)
