-- /admin/login, /admin/logout and /admin/setup/<token> (the first
-- super_admin, while no active admin exists).
local view = require "web.admin.view"

local LOGIN = [[<form method="post" action="/admin/login" class="card narrow">
<input type="hidden" name="next" value="{{next}}">
<label>Email <input type="email" name="email" value="{{email}}" autocomplete="username" required autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
<p class="muted narrow">No account? An administrator creates one with <code>wm users add</code>.</p>]]

local SETUP = [[<form method="post" action="/admin/setup/{{token}}" class="card narrow">
<p>No administrator exists yet. Create the first one (super_admin); this link works once.</p>
<label>Email <input type="email" name="email" value="{{email}}" autocomplete="username" required autofocus></label>
<label>Name <input type="text" name="name" value="{{name}}" autocomplete="name"></label>
<label>Password (10 characters or more) <input type="password" name="password" autocomplete="new-password" minlength="10" required></label>
<button type="submit">Create and log in</button>
</form>]]

local GONE = [[<p class="card narrow">This setup link is used or expired. Create an account with
<code>wm users add EMAIL --role super_admin</code>, or restart <code>wm serve</code> for a new link
while no administrator exists.</p>]]

local PUBLIC = { role = "public" }

-- Where to go after logging in: a dashboard path only (never elsewhere).
local function safe_next(v)
    if type(v) == "string" and v:match("^/admin/[%w/_.-]*$") and not v:find("//", 1, true) then
        return v
    end
    return "/admin/"
end

-- A login or setup form posted from another site is refused: logging a
-- victim into the attacker's account is an attack too.
local function cross_site(req)
    local site = req.headers["sec-fetch-site"]
    if site and site ~= "same-origin" and site ~= "none" then
        return true
    end
    local origin = req.headers.origin
    if origin and origin ~= "null" then
        local host = origin:match("^%a+://([^/]+)")
        return host == nil or host:lower() ~= (req.headers.host or ""):lower()
    end
    return false
end

local function session_headers(s)
    return { ["Set-Cookie"] = require("lib.admin_auth").cookie(s.token) }
end

wm.route("GET", "/admin/login", function(req)
    return view.page(req, "Log in", LOGIN, { next = safe_next(req.query and req.query.next), email = "" })
end, PUBLIC)

wm.route("POST", "/admin/login", function(req)
    local auth = require "lib.admin_auth"
    if cross_site(req) then
        return auth.deny(req, 403, "cross_site", "403 Forbidden: log in from this site's own login page")
    end
    local f = view.form(req)
    local s, err, wait = auth.login(f.email, f.password, req.remote_addr, req.headers["user-agent"])
    if not s then
        local ctx = { email = f.email or "", next = safe_next(f.next) }
        if err == "throttled" then
            ctx.error = ("Too many failed attempts. Try again in %d seconds."):format(wait)
            return view.page(req, "Log in", LOGIN, ctx, 429, { ["Retry-After"] = tostring(wait) })
        end
        ctx.error = "That email and password do not match an active account."
        return view.page(req, "Log in", LOGIN, ctx, 401)
    end
    return view.redirect(safe_next(f.next), nil, session_headers(s))
end, PUBLIC)

wm.route("POST", "/admin/logout", function(req)
    local auth = require "lib.admin_auth"
    auth.logout(req.session, req.user)
    return view.redirect("/admin/login", nil, { ["Set-Cookie"] = auth.cookie(nil) })
end, { role = "viewer" })

wm.route("GET", "/admin", function()
    return view.redirect("/admin/")
end, PUBLIC)

wm.route("GET", "/admin/setup/:token", function(req)
    if not require("lib.admin_auth").setup_valid(req.params.token) then
        return view.page(req, "Setup link", GONE, {}, 410)
    end
    return view.page(req, "Create the first administrator", SETUP, { token = req.params.token, email = "", name = "" })
end, PUBLIC)

wm.route("POST", "/admin/setup/:token", function(req)
    local auth = require "lib.admin_auth"
    if cross_site(req) then
        return auth.deny(req, 403, "cross_site", "403 Forbidden: use the setup page itself")
    end
    local token = req.params.token
    if not auth.setup_valid(token) then
        return view.page(req, "Setup link", GONE, {}, 410)
    end
    local f = view.form(req)
    local s, err = auth.setup(token, f.email, f.name or "", f.password, req.remote_addr, req.headers["user-agent"])
    if not s then
        return view.page(req, "Create the first administrator", SETUP,
            { token = token, email = f.email or "", name = f.name or "", error = tostring(err):match("[^\n]*"):gsub("^.-:%d+: ", "") },
            422)
    end
    return view.redirect("/admin/", "welcome", session_headers(s))
end, PUBLIC)
