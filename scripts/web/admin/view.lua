-- The dashboard's layout and helpers, in one place (style.md L5): pages
-- call view.page(req, title, template, ctx) and get the layout with the
-- navigation (links the user's role may follow), the CSRF token for forms,
-- the flash message and a strict Content-Security-Policy (styles and the
-- one script from /static, nothing from elsewhere).
local template = require "lib.template"
local router = require "wm.router"

local _M = {}

_M.CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    .. "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

local HEADERS = {
    ["Content-Type"] = "text/html; charset=utf-8",
    ["Content-Security-Policy"] = _M.CSP,
    ["Cache-Control"] = "no-store",
    ["X-Content-Type-Options"] = "nosniff",
    ["Referrer-Policy"] = "same-origin",
    ["X-Frame-Options"] = "DENY",
}

local NAV = {
    { href = "/admin/", label = "Overview", role = "viewer" },
    { href = "/admin/coverage", label = "Coverage", role = "viewer" },
    { href = "/admin/leads", label = "Leads", role = "viewer" },
    { href = "/admin/sites", label = "Sites", role = "viewer" },
    { href = "/admin/prompts", label = "Prompts", role = "viewer" },
    { href = "/admin/jobs", label = "Jobs", role = "viewer" },
    { href = "/admin/campaigns", label = "Campaigns", role = "viewer" },
    { href = "/admin/customers", label = "Customers", role = "viewer" },
    { href = "/admin/subscriptions", label = "Subscriptions", role = "viewer" },
    { href = "/admin/tickets", label = "Requests", role = "viewer" },
    { href = "/admin/payments", label = "Payments", role = "viewer" },
    { href = "/admin/webhooks", label = "Webhooks", role = "viewer" },
    { href = "/admin/activity", label = "Activity", role = "viewer" },
    { href = "/admin/users", label = "Users", role = "super_admin" },
}

-- Messages a redirect may ask for (?flash=code): fixed texts, so no
-- request can make the page say something of its own.
local FLASH = {
    retried = "The job will run again now.",
    cancelled = "The job was cancelled.",
    resolved_sent = "The campaign is marked sent.",
    resolved_release = "The campaign was released: it will be sent again.",
    user_added = "The account was created.",
    user_changed = "The account was changed.",
    welcome = "Welcome. You are signed in.",
    cancel_requested = "The payment provider was asked to cancel; the subscription shows cancelled when its webhook arrives.",
    refund_requested = "The payment provider was asked to refund; the payment shows refunded when its webhook arrives.",
    replayed = "The event will be applied again now.",
    replay_noop = "The event was already applied (or ignored): a replay changes nothing.",
    cell_paused = "The cell is paused: the autopilot skips it until it is resumed.",
    cell_resumed = "The cell is pending again.",
    cell_priority = "The cell's priority was changed.",
    cell_cooldown = "The cell is cooling down.",
    site_regenerating = "The site will be built again: a new version appears when the architect is done.",
    site_archived = "The site was archived: it is no longer served.",
    site_rolled_back = "The earlier version is served again, as a new version on top; the one it replaced is kept.",
    ticket_filed = "The request was filed for the customer: it is being read and prepared now.",
    prompt_saved = "Saved as a new version; the old one is kept.",
    prompt_changed = "The prompt setting was changed.",
}

local LAYOUT = [[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · WebMagic admin</title>
<link rel="stylesheet" href="/static/admin.css">
<link rel="icon" href="data:,">
<script src="/static/admin.js" defer></script>
</head><body>
{{#user}}<header class="top"><a class="brand" href="/admin/">WebMagic</a>
<nav>{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}</nav>
<form method="post" action="/admin/logout" class="logout"><input type="hidden" name="csrf" value="{{csrf}}">
<span class="who">{{user.email}} · {{user.role}}</span> <button type="submit" class="link">Log out</button></form>
</header>{{/user}}
<main>
<h1>{{title}}</h1>
{{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}
{{#error}}<p class="flash err" role="alert">{{error}}</p>{{/error}}
{{>content}}
</main></body></html>
]]

function _M.headers(extra)
    local h = {}
    for k, v in pairs(HEADERS) do
        h[k] = v
    end
    for k, v in pairs(extra or {}) do
        h[k] = v
    end
    return h
end

-- Whether the request's user may do what `role` allows (for showing
-- controls; the route's own role is what enforces).
function _M.can(req, role)
    return req.user ~= nil and router.role_allows(req.user.role, role)
end

-- status defaults to 200; ctx.error is shown as an alert.
function _M.page(req, title, content, ctx, status, extra_headers)
    ctx = ctx or {}
    ctx.title = title
    if req.user then
        ctx.user = req.user
        ctx.csrf = req.session and req.session.csrf or ""
        local nav = {}
        for _, n in ipairs(NAV) do
            if _M.can(req, n.role) then
                local current = (n.href == "/admin/" and req.path == "/admin/")
                    or (n.href ~= "/admin/" and req.path:sub(1, #n.href) == n.href)
                nav[#nav + 1] = { href = n.href, label = n.label, current = current }
            end
        end
        ctx.nav = nav
    end
    local code = req.query and req.query.flash
    if type(code) == "string" and FLASH[code] then
        ctx.flash = FLASH[code]
    end
    return { status = status or 200, headers = _M.headers(extra_headers),
             body = template.render(LAYOUT, ctx, { partials = { content = content } }) }
end

function _M.redirect(to, flash, extra_headers)
    local loc = to
    if flash then
        loc = loc .. (loc:find("?", 1, true) and "&" or "?") .. "flash=" .. flash
    end
    local h = { Location = loc, ["Cache-Control"] = "no-store" }
    for k, v in pairs(extra_headers or {}) do
        h[k] = v
    end
    return { status = 303, headers = h, body = "" }
end

function _M.not_found(req)
    return _M.page(req, "Not found", "<p>There is nothing here. <a href=\"/admin/\">Back to the overview</a>.</p>",
        {}, 404)
end

-- A refusal: the page titled `title` with `message` as its alert and a
-- link back (href, label); status defaults to 409.
function _M.refused(req, title, back, label, message, status)
    return _M.page(req, title, '<p><a href="{{back}}">{{label}}</a></p>',
        { error = message, back = back, label = label }, status or 409)
end

-- The handler of a POST /admin/<thing>/:id that changes one row through its
-- domain function: opts.call(id, form, actor) runs in a transaction; a
-- result goes to opts.to(id, result) (default opts.back(id)) with
-- opts.flash, nil and an error to a 409 that says "Not changed: <error>."
-- (opts.refused when the call gave none) with a link to opts.back(id)
-- labelled opts.label. A malformed id is a 404.
function _M.action(opts)
    return function(req)
        local id = req.params.id
        if not _M.uuid(id) then
            return _M.not_found(req)
        end
        local form = _M.form(req)
        local res, err = wm.db.tx(function()
            return opts.call(id, form, req.actor)
        end)
        if not res then
            return _M.refused(req, opts.title, opts.back(id), opts.label,
                ("Not changed: %s."):format(tostring(err or opts.refused)))
        end
        return _M.redirect((opts.to or opts.back)(id, res), opts.flash)
    end
end

-- The decoded form of a POST (the guard may have decoded it already).
function _M.form(req)
    req.form = req.form or require("lib.admin_auth").form(req.body)
    return req.form
end

local function thousands(n)
    local s = tostring(math.floor(n))
    local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
    return (out:gsub("^,", ""):gsub("^%-,", "-"))
end
_M.thousands = thousands

function _M.money(cents)
    cents = tonumber(cents) or 0
    return ("%s.%02d"):format(thousands(cents / 100), cents % 100)
end

function _M.pct(num, den)
    num, den = tonumber(num) or 0, tonumber(den) or 0
    if den <= 0 then
        return "–"
    end
    return ("%.1f%%"):format(100 * num / den)
end

function _M.uuid(s)
    return type(s) == "string" and s:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

function _M.str(v)
    if v == nil or v == wm.null then
        return ""
    end
    return tostring(v)
end

return _M
