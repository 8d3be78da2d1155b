-- The dashboard's authentication: sessions, API tokens, CSRF, login
-- throttling and the one-time setup link; and the guard that the router
-- puts in front of every non-public route (scripts/wm/router.lua).
--
--   admin_auth.guard(req, role, handler)   who is asking (session cookie or
--       bearer token); nobody -> the login page (the API: 401 JSON); a role
--       below `role` -> 403; a mutating request of a session without its
--       CSRF token -> 403; else handler(req) with req.user, req.session
--   admin_auth.login(email, password, addr, ua) -> { token, csrf, user } |
--       nil, "throttled", seconds | nil, "invalid"
--   admin_auth.logout(session)
--   admin_auth.cookie(token | nil) -> the Set-Cookie value (nil: clears it)
--   admin_auth.setup_link() -> url | nil   (only while no active admin exists)
--   admin_auth.setup(token, email, name, password, addr, ua) -> login result
--   admin_auth.form(body) -> decoded application/x-www-form-urlencoded
--
-- Tokens (session, API, setup) are 256-bit random; the database holds their
-- SHA-256 only. The session cookie is HttpOnly, SameSite=Lax, Path=/, and
-- Secure when sites.base_url is https. Expiry: admin.session_idle seconds
-- without a request, admin.session_max after the login, or logout.
local users = require "domain.admin_users"
local activity = require "lib.activity"
local router = require "wm.router"

local _M = {}

local COOKIE = "wm_admin"
-- Checked when the email is unknown, so that an unknown and a known
-- account take the same time to refuse.
local DUMMY_HASH

local function cfg()
    return (wm.config and wm.config.admin) or {}
end

local function hash(token)
    return wm.crypto.sha256_hex(token)
end

_M.form = require("lib.form").parse

local function secure()
    local base = wm.config and wm.config.sites and wm.config.sites.base_url or ""
    return base:sub(1, 8) == "https://"
end

function _M.cookie(token)
    local attrs = "; Path=/; HttpOnly; SameSite=Lax" .. (secure() and "; Secure" or "")
    if not token then
        return COOKIE .. "=; Max-Age=0" .. attrs
    end
    return COOKIE .. "=" .. token .. "; Max-Age=" .. math.floor(cfg().session_max or 43200) .. attrs
end

local function cookie_token(req)
    local c = req.headers and req.headers.cookie
    if not c then
        return nil
    end
    for pair in c:gmatch("[^;]+") do
        local k, v = pair:match("^%s*([^=]+)=(.*)$")
        if k == COOKIE and v and v ~= "" then
            return (v:gsub("%s+$", ""))
        end
    end
    return nil
end

-- The session of a cookie token, with its user, while the session and the
-- user are both live; the session's last_seen_at moves on.
local function session_of(token)
    local c = cfg()
    return wm.db.one([[UPDATE admin_sessions s SET last_seen_at = now()
        FROM admin_users u
        WHERE s.token_hash = $1 AND u.id = s.user_id AND u.is_active AND s.ended_at IS NULL
          AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2)
        RETURNING s.id, s.csrf_token, s.user_id, u.email, u.role, u.full_name]],
        hash(token), c.session_idle or 7200)
end

local function token_user(token)
    return wm.db.one([[UPDATE admin_api_tokens t SET last_used_at = now()
        FROM admin_users u
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND u.is_active
        RETURNING t.id AS token_id, t.user_id, u.email, u.role, u.full_name]], hash(token))
end

-- { user = {id, email, role, name}, session = {id, csrf} | nil, via } or nil.
function _M.identify(req)
    local auth = req.headers and req.headers.authorization
    local bearer = auth and auth:match("^[Bb]earer%s+(%S+)")
    if bearer then
        local row = token_user(bearer)
        if row then
            return { user = { id = row.user_id, email = row.email, role = row.role, name = row.full_name },
                     via = "token", token_id = row.token_id }
        end
        return nil
    end
    local token = cookie_token(req)
    if not token then
        return nil
    end
    local row = session_of(token)
    if not row then
        return nil
    end
    return { user = { id = row.user_id, email = row.email, role = row.role, name = row.full_name },
             session = { id = row.id, csrf = row.csrf_token }, via = "session" }
end

local MUTATING = { POST = true, PUT = true, PATCH = true, DELETE = true }

local function is_api(req)
    return req.path:sub(1, 5) == "/api/"
end

local function deny(req, status, code, message)
    if is_api(req) then
        return { status = status, headers = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store",
                                              ["X-Content-Type-Options"] = "nosniff" },
                 body = wm.json.encode { error = { code = code, message = message } } }
    end
    return { status = status, headers = { ["Content-Type"] = "text/plain; charset=utf-8",
                                          ["Cache-Control"] = "no-store" }, body = message .. "\n" }
end
_M.deny = deny

-- The CSRF token a request carries: the X-CSRF-Token header, or the form's
-- csrf field.
local function sent_csrf(req)
    local h = req.headers["x-csrf-token"]
    if h and h ~= "" then
        return h
    end
    local ct = req.headers["content-type"] or ""
    if ct:find("application/x-www-form-urlencoded", 1, true) then
        req.form = req.form or _M.form(req.body)
        return req.form.csrf
    end
    return nil
end

function _M.guard(req, role, handler)
    local who = _M.identify(req)
    if not who then
        if is_api(req) then
            return deny(req, 401, "unauthorized", "log in, or send Authorization: Bearer <token>")
        end
        local next_path = (req.method == "GET" and req.path:sub(1, 7) == "/admin/") and req.path or "/admin/"
        return { status = 303, headers = { Location = "/admin/login?next=" .. next_path:gsub("[^%w/_.-]", ""),
                                           ["Cache-Control"] = "no-store" }, body = "" }
    end
    if not router.role_allows(who.user.role, role) then
        wm.log.warn("admin: forbidden", { user = who.user.email, role = who.user.role, needs = role,
                                          method = req.method, path = req.path })
        return deny(req, 403, "forbidden", "403 Forbidden: this needs the " .. role .. " role")
    end
    if MUTATING[req.method] and who.via == "session" then
        local sent = sent_csrf(req)
        if not sent or not wm.crypto.equal(sent, who.session.csrf) then
            wm.log.warn("admin: CSRF token missing or wrong", { user = who.user.email, path = req.path })
            return deny(req, 403, "forbidden", "403 Forbidden: the form's security token is missing or stale; "
                .. "reload the page and try again")
        end
    end
    req.user, req.session = who.user, who.session
    req.actor = { type = "admin", id = who.user.id }
    return handler(req)
end

-- ---- login throttling ----

-- Seconds until `email` and `addr` may try again (0: now). Failures in the
-- last hour count, per account since its last success, per address all of
-- them; past admin.login_free_failures each failure doubles the wait.
function _M.wait(email, addr)
    local c = cfg()
    local row = assert(wm.db.one([[
        WITH acct AS (
            SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - max(created_at))::float8 AS age
            FROM login_attempts
            WHERE lower(email) = lower($1) AND NOT succeeded AND created_at > now() - interval '1 hour'
              AND created_at > coalesce((SELECT max(created_at) FROM login_attempts
                                         WHERE lower(email) = lower($1) AND succeeded), '-infinity')),
        host AS (
            SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - max(created_at))::float8 AS age
            FROM login_attempts
            WHERE remote_addr = $2 AND NOT succeeded AND created_at > now() - interval '1 hour')
        SELECT acct.n AS an, acct.age AS aage, host.n AS hn, host.age AS hage FROM acct, host]],
        email, addr))
    local free, base, max = c.login_free_failures or 3, c.login_delay or 1, c.login_delay_max or 900
    local function left(n, age)
        if n < free or age == nil or age == wm.null then
            return 0
        end
        local delay = math.min(base * 2 ^ (n - free), max)
        return math.max(0, delay - age)
    end
    return math.max(left(row.an, row.aage), left(row.hn, row.hage))
end

local function new_session(user, addr, ua)
    local c = cfg()
    local token, csrf = wm.crypto.random_token(32), wm.crypto.random_token(32)
    local row = assert(wm.db.run_one([[INSERT INTO admin_sessions (token_hash, user_id, csrf_token, remote_addr,
            user_agent, expires_at)
        VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id]],
        hash(token), user.id, csrf, addr, ua and ua:sub(1, 300), c.session_max or 43200))
    users.recorded_login(user.id)
    assert(activity.log("admin_user.login", "admin_user", user.id, { session_id = row.id, addr = addr }, "admin",
        user.id))
    return { token = token, csrf = csrf, user = user, session_id = row.id }
end

function _M.login(email, password, addr, ua)
    email = tostring(email or ""):lower():gsub("^%s+", ""):gsub("%s+$", "")
    addr = addr or "?"
    local wait = _M.wait(email, addr)
    if wait > 0 then
        wm.log.warn("admin: login throttled", { email = email, addr = addr, wait_s = math.ceil(wait) })
        return nil, "throttled", math.ceil(wait)
    end
    local u = users.find(email)
    local ok
    if u then
        ok = wm.crypto.password_verify(u.password_hash, tostring(password or "")) and u.is_active == true
    else
        DUMMY_HASH = DUMMY_HASH or assert(wm.crypto.password_hash(wm.crypto.random_token(16)))
        wm.crypto.password_verify(DUMMY_HASH, tostring(password or ""))
        ok = false
    end
    assert(wm.db.query("INSERT INTO login_attempts (email, remote_addr, succeeded) VALUES ($1, $2, $3)",
        email, addr, ok))
    if not ok then
        wm.log.warn("admin: login failed", { email = email, addr = addr,
                                             reason = not u and "unknown" or (u.is_active and "password" or "disabled") })
        return nil, "invalid"
    end
    return wm.db.tx(function()
        return new_session({ id = u.id, email = u.email, role = u.role, name = u.full_name }, addr, ua)
    end)
end

function _M.logout(session, user)
    assert(wm.db.tx(function()
        assert(wm.db.run("UPDATE admin_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL", session.id))
        assert(activity.log("admin_user.logout", "admin_user", user.id, { session_id = session.id }, "admin", user.id))
    end))
end

-- ---- the first account ----

-- A one-time link to create the first super_admin, or nil when an active
-- admin exists. Each call makes a new link; older ones stay valid until
-- they expire or one of them is used.
function _M.setup_link()
    if users.count_active() > 0 then
        return nil
    end
    local token = wm.crypto.random_token(32)
    assert(wm.db.query([[INSERT INTO admin_setup_tokens (token_hash, expires_at)
        VALUES ($1, now() + make_interval(secs => $2))]], hash(token), cfg().setup_link_ttl or 3600))
    local base = (wm.config.sites and wm.config.sites.base_url or ""):gsub("/+$", "")
    return base .. "/admin/setup/" .. token
end

function _M.setup_valid(token)
    return wm.db.one([[SELECT 1 AS ok FROM admin_setup_tokens
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()]], hash(token)) ~= nil
        and users.count_active() == 0
end

-- Creates the first super_admin through a setup link and logs them in.
function _M.setup(token, email, name, password, addr, ua)
    if not users.normal_email(email) then
        return nil, "not an email address"
    end
    local problem = users.password_problem(password)
    if problem then
        return nil, problem
    end
    return wm.db.tx(function()
        -- One setup at a time: the second waits and then finds an admin.
        assert(wm.db.run("SELECT pg_advisory_xact_lock(hashtext('wm.admin_setup'))"))
        local used = wm.db.run_one([[UPDATE admin_setup_tokens SET used_at = now()
            WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING 1 AS ok]], hash(token))
        if not used or users.count_active() > 0 then
            return nil, "this setup link is used or expired; run wm users add, or restart wm serve for a new link"
        end
        local u, err = users.add({ email = email, name = name ~= "" and name or nil, password = password,
                                   role = "super_admin" }, { type = "system" })
        if not u then
            error(err, 0)
        end
        return new_session({ id = u.id, email = u.email, role = u.role, name = u.full_name }, addr, ua)
    end)
end

return _M
