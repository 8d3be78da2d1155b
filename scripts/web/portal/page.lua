-- What every customer portal page shares (scripts/web/portal*.lua): the
-- layout and its headers (strict CSP, no caching, no framing), the short
-- answers, the main-host check, and the signed-in session with its
-- CSRF-checked form.
--
--   page.route(method, pattern, fn)       a public route on the main host only
--   page.render(status, title, content_template, ctx[, headers])
--   page.plain(status, body) / page.forbidden() / page.redirect(location[, cookie])
--   page.unavailable(err, sqlstate)       the outage page, or raises
--   page.session(req) -> sess | nil[, response]
--   page.signed_in(req) -> sess | nil, response          (a GET: signed out goes to /portal)
--   page.signed_form(req[, read]) -> sess, form | nil, nil, response (403 on a bad CSRF token)
--       read(req, sess) -> fields | nil, response: another body than urlencoded (a
--       multipart upload), read only once the session and the origin are checked
--   page.uuid(v) -> v lower-cased when it is a UUID, else nil
--   page.own_site(sess, site_id[, statuses]) -> {id, subdomain, business} | nil | nil, err, sqlstate
--       the site when one of the customer's subscriptions is for it (and its status is one
--       of `statuses`, when given): another customer's site is as absent as none
--   page.site_page(req, missing[, statuses]) -> sess, site | nil, nil, response
--   page.site_form(req, missing[, statuses]) -> sess, form, site | nil, nil, nil, response
--       signed_in / signed_form and own_site of the query's or the form's `site`;
--       `missing` is the 404's text
local claim = require "web.claim"
local account = require "web.portal.account"
local outage = require "lib.outage"
local router = require "wm.router"
local session = require "lib.session"

local store = account.store

local _M = {}

local CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
    .. "form-action 'self'"
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local LAYOUT = [[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1f2937;overflow-wrap:anywhere}
h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.note{background:#f3f4f6;border-radius:6px;padding:.75rem 1rem}.err{background:#fef2f2;color:#991b1b}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:1rem;margin:.75rem 0}
.card p{margin:.25rem 0}.status{font-weight:700}
table{width:100%;border-collapse:collapse;font-size:.95rem;table-layout:fixed}th,td{text-align:left;padding:.4rem .3rem;border-bottom:1px solid #e5e7eb}
td.num,th.num{text-align:right;white-space:nowrap}
button{font:inherit;padding:.6rem 1.1rem;border:0;border-radius:6px;background:#111827;color:#fff;cursor:pointer;margin:.5rem 0}
button.alt{background:#e5e7eb;color:#111827}header{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
header form{margin:0}a{color:#1d4ed8;overflow-wrap:anywhere}</style>
</head><body><main>
<header><h1>{{title}}</h1>{{#csrf_logout}}<form method="post" action="/portal/logout">
<input type="hidden" name="csrf" value="{{csrf_logout}}"><button type="submit" class="alt">Sign out</button></form>{{/csrf_logout}}</header>
{{>content}}
</main></body></html>
]]

local function render(status, title, content, ctx, headers)
    ctx.title = title
    ctx.csrf_logout = ctx.csrf_logout or false
    local h = { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-store",
                ["Content-Security-Policy"] = CSP, ["X-Content-Type-Options"] = "nosniff",
                ["Referrer-Policy"] = "no-referrer", ["X-Frame-Options"] = "DENY" }
    for k, v in pairs(headers or {}) do
        h[k] = v
    end
    return { status = status, headers = h,
             body = require("lib.template").render(LAYOUT, ctx, { partials = { content = content } }) }
end

local function plain(status, body)
    return { status = status, headers = { ["Content-Type"] = "text/plain; charset=utf-8",
                                          ["Cache-Control"] = "no-store" }, body = body }
end

local function forbidden()
    return plain(403, "This form has expired. Go back, reload the page and try again.\n")
end

local function redirect(location, cookie)
    return { status = 303, headers = { Location = location, ["Cache-Control"] = "no-store", ["Set-Cookie"] = cookie },
             body = "" }
end

-- A database that does not answer is an outage page, not a 500.
local function unavailable(err, state)
    if outage.confirm(err, state) then
        return outage.response()
    end
    error(err, 0)
end

-- The main host: sites.base_url's, or any host that is not a site's.
local function on_main_host(req)
    local host = router.host_name(req.headers.host or "")
    local base = account.base_url():match("^%a+://([^/]+)")
    if base and router.host_name(base) == host then
        return true
    end
    local domain = ((wm.config.http or {}).sites_domain or "localhost"):lower()
    return host:sub(-#domain - 1) ~= "." .. domain
end

-- Public to the router: the portal signs its customers in itself.
local function route(method, pattern, fn)
    wm.route(method, pattern, function(req)
        if not on_main_host(req) then
            return plain(404, "No such page.\n")
        end
        return fn(req)
    end, { role = "public" })
end

local function session_or_page(req)
    local sess, err = store:load(req)
    if sess then
        return sess
    end
    if err then
        return nil, unavailable(err)
    end
    return nil
end

local function signed_in(req)
    local sess, res = session_or_page(req)
    if sess then
        return sess
    end
    return nil, res or redirect("/portal")
end

-- The session and the form of a signed-in POST, or the answer to give.
local function signed_form(req, read)
    local sess, res = session_or_page(req)
    if res then
        return nil, nil, res
    end
    if not sess or not claim.same_site(req) then
        return nil, nil, forbidden()
    end
    local f
    if read then
        f, res = read(req, sess)
        if not f then
            return nil, nil, res
        end
    else
        f = claim.form(req.body)
    end
    if not session.csrf_ok(sess, f.csrf) then
        return nil, nil, forbidden()
    end
    return sess, f
end

local function uuid(v)
    return type(v) == "string" and v:lower():match(UUID) or nil
end

local function own_site(sess, site_id, statuses)
    site_id = uuid(site_id)
    if not site_id then
        return nil
    end
    return wm.db.one([[SELECT g.id, g.subdomain, b.name AS business FROM subscriptions s
        JOIN generated_sites g ON g.id = s.site_id JOIN businesses b ON b.id = g.business_id
        WHERE s.customer_id = $1 AND s.site_id = $2 AND ($3::text[] IS NULL OR g.status = ANY($3::text[]))
        LIMIT 1]], sess.subject, site_id, statuses and wm.db.array(statuses) or wm.null)
end

local function site_of(sess, site_id, missing, statuses)
    local site, err, code = own_site(sess, site_id, statuses)
    if err then
        return nil, unavailable(err, code)
    end
    if not site then
        return nil, plain(404, missing)
    end
    return site
end

local function site_page(req, missing, statuses)
    local sess, res = signed_in(req)
    if not sess then
        return nil, nil, res
    end
    local site
    site, res = site_of(sess, req.query and req.query.site, missing, statuses)
    if not site then
        return nil, nil, res
    end
    return sess, site
end

local function site_form(req, missing, statuses)
    local sess, f, res = signed_form(req)
    if not sess then
        return nil, nil, nil, res
    end
    local site
    site, res = site_of(sess, f.site, missing, statuses)
    if not site then
        return nil, nil, nil, res
    end
    return sess, f, site
end

_M.UUID = UUID
_M.render, _M.plain, _M.forbidden, _M.redirect = render, plain, forbidden, redirect
_M.unavailable, _M.route = unavailable, route
_M.session, _M.signed_in, _M.signed_form = session_or_page, signed_in, signed_form
_M.uuid, _M.own_site, _M.site_page, _M.site_form = uuid, own_site, site_page, site_form

return _M
