-- The dashboard's accounts (admin_users) and their API tokens: every change
-- is a function here that joins the caller's transaction and writes its
-- activity_log row with the actor ({ type = "admin" | "user", id = uuid }).
-- Passwords are argon2id (wm.crypto.password_hash); tokens are 256-bit
-- random, stored as their SHA-256.
local activity = require "lib.activity"

local _M = {}

_M.ROLES = { "viewer", "editor", "admin", "super_admin" }
local VALID = { viewer = true, editor = true, admin = true, super_admin = true }

function _M.valid_role(role)
    return VALID[role] == true
end

function _M.hash_token(token)
    return wm.crypto.sha256_hex(token)
end

local function log(action, id, details, actor)
    assert(activity.log(action, "admin_user", id, details, actor and actor.type or "system", actor and actor.id))
end

local function normal_email(email)
    email = tostring(email or ""):lower():gsub("^%s+", ""):gsub("%s+$", "")
    if not email:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") then
        return nil
    end
    return email
end
_M.normal_email = normal_email

-- A password a person can live with and a guesser cannot: 10 bytes or more.
function _M.password_problem(pw)
    if type(pw) ~= "string" or #pw < 10 then
        return "a password needs at least 10 characters"
    end
    if #pw > 1024 then
        return "a password may have at most 1024 characters"
    end
    return nil
end

-- The user by id or email (any status), or nil.
function _M.find(key)
    key = tostring(key or "")
    if key:match("^%x%x%x%x%x%x%x%x%-") then
        return wm.db.run_one("SELECT * FROM admin_users WHERE id = $1::uuid", key)
    end
    return wm.db.run_one("SELECT * FROM admin_users WHERE lower(email) = lower($1)", key)
end

function _M.count_active()
    local r = assert(wm.db.run_one("SELECT count(*)::int AS n FROM admin_users WHERE is_active"))
    return r.n
end

-- add{email=, role=, name=, password=} -> user row | nil, err
function _M.add(u, actor)
    local email = normal_email(u.email)
    if not email then
        return nil, "not an email address: " .. tostring(u.email)
    end
    if not VALID[u.role] then
        return nil, "role must be viewer, editor, admin or super_admin"
    end
    local problem = _M.password_problem(u.password)
    if problem then
        return nil, problem
    end
    if _M.find(email) then
        return nil, "a user with that email exists: " .. email
    end
    local hash = assert(wm.crypto.password_hash(u.password))
    local row, err = wm.db.run_one([[INSERT INTO admin_users (email, password_hash, full_name, role)
        VALUES ($1, $2, $3, $4) RETURNING id, email, role, full_name]], email, hash, u.name, u.role)
    if not row then
        return nil, err
    end
    log("admin_user.added", row.id, { email = email, role = u.role }, actor)
    return row
end

function _M.set_role(id, role, actor)
    if not VALID[role] then
        return nil, "role must be viewer, editor, admin or super_admin"
    end
    local row = wm.db.run_one([[UPDATE admin_users u SET role = $2, updated_at = now()
        FROM (SELECT id, role FROM admin_users WHERE id = $1 FOR UPDATE) old
        WHERE u.id = old.id RETURNING u.id, old.role AS was]], id, role)
    if not row then
        return nil, "no such user"
    end
    log("admin_user.role_changed", id, { from = row.was, to = role }, actor)
    return true
end

-- Disabled: every open session and token stops working at once (the guard
-- also checks is_active on every request).
function _M.disable(id, actor)
    local row = wm.db.run_one([[UPDATE admin_users SET is_active = false, updated_at = now()
        WHERE id = $1 AND is_active RETURNING id]], id)
    if not row then
        return nil, "no such active user"
    end
    assert(wm.db.run("UPDATE admin_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL", id))
    log("admin_user.disabled", id, {}, actor)
    return true
end

function _M.enable(id, actor)
    local row = wm.db.run_one([[UPDATE admin_users SET is_active = true, updated_at = now()
        WHERE id = $1 AND NOT is_active RETURNING id]], id)
    if not row then
        return nil, "no such disabled user"
    end
    log("admin_user.enabled", id, {}, actor)
    return true
end

-- A new password ends the user's sessions (whoever knew the old one is out).
function _M.set_password(id, password, actor)
    local problem = _M.password_problem(password)
    if problem then
        return nil, problem
    end
    local hash = assert(wm.crypto.password_hash(password))
    local row = wm.db.run_one("UPDATE admin_users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING id",
        id, hash)
    if not row then
        return nil, "no such user"
    end
    assert(wm.db.run("UPDATE admin_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL", id))
    log("admin_user.password_changed", id, {}, actor)
    return true
end

function _M.recorded_login(id)
    assert(wm.db.run("UPDATE admin_users SET last_login_at = now() WHERE id = $1", id))
end

-- A new API token for the user: the token (shown once) and its row id.
function _M.token_create(id, name, actor)
    local token = "wmt_" .. wm.crypto.random_token(32)
    local row, err = wm.db.run_one([[INSERT INTO admin_api_tokens (user_id, name, token_hash)
        VALUES ($1, $2, $3) RETURNING id]], id, name or "", _M.hash_token(token))
    if not row then
        return nil, err
    end
    log("admin_user.token_created", id, { token_id = row.id, name = name or "" }, actor)
    return token, row.id
end

function _M.token_revoke(token_id, actor)
    local row = wm.db.run_one([[UPDATE admin_api_tokens SET revoked_at = now()
        WHERE id = $1 AND revoked_at IS NULL RETURNING user_id]], token_id)
    if not row then
        return nil, "no such live token"
    end
    log("admin_user.token_revoked", row.user_id, { token_id = token_id }, actor)
    return true
end

return _M
