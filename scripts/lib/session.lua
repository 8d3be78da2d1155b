-- Sign-in for the host's own pages: one-time links, server-side sessions
-- behind a cookie, and per-session CSRF tokens. Nothing here knows who signs
-- in: a store names its tables, the column that says whose row it is (the
-- "subject": a customer for the portal, an operator for an admin page), its
-- cookie and its config section.
--
--   local store = session.store { links = "portal_links", sessions = "portal_sessions",
--                                 subject = "customer_id", cookie = "wm_portal", path = "/portal",
--                                 config = "portal" }
--   store:issue_link(subject_id) -> token                    (single use, config.link_ttl seconds)
--   store:link_state(token) -> {state=, subject=} | nil, err (does not use it up)
--   store:redeem_link(token) -> {state=, subject=} | nil, err
--       state: "ok" (redeem: now used), "used", "expired", "unknown" (subject nil)
--   store:last_link_age(subject_id) -> seconds since the newest link (nil: none)
--   store:start(subject_id) -> token, csrf                   (a new session)
--   store:load(req) -> {subject=, csrf=, id=} | nil[, err]   (touches last_seen_at)
--   store:finish(sess) -> true | nil, err                    (logout)
--   store:cookie(token) / store:clear_cookie() -> a Set-Cookie value
--   session.csrf_ok(sess, value) -> bool                     (constant time)
--   session.cookies(header) -> {name = value}
--
-- Every token is 256 random bits, handed out once and stored only as its
-- SHA-256, so a copy of the database signs nobody in. Links are used up by
-- one UPDATE guarded by used_at IS NULL and expires_at, so two clicks at
-- once make one session. A session ends at config.session_idle seconds
-- without a request, at config.session_max after it began, or at logout.
-- The cookie is HttpOnly, SameSite=Lax, limited to the store's path, and
-- Secure when sites.base_url is https. Queries join the caller's
-- transaction when there is one (wm.db.run).
local _M = {}

local IDENT = "^[%a_][%w_]*$"

local function hash(token)
    return wm.crypto.sha256_hex(token)
end
_M.hash = hash

-- A token as it appears in a link or a cookie: unpadded base64url of 32 bytes.
local function well_formed(token)
    return type(token) == "string" and #token == 43 and not token:find("[^%w_%-]")
end

function _M.cookies(header)
    local out = {}
    for pair in (header or ""):gmatch("[^;]+") do
        local k, v = pair:match("^%s*([^=%s]+)%s*=%s*(.-)%s*$")
        if k and out[k] == nil then
            out[k] = v:match('^"(.*)"$') or v
        end
    end
    return out
end

function _M.csrf_ok(sess, value)
    return type(sess) == "table" and type(sess.csrf) == "string" and type(value) == "string"
        and #value == #sess.csrf and wm.crypto.equal(value, sess.csrf)
end

local Store = {}
Store.__index = Store

function _M.store(spec)
    for _, k in ipairs { "links", "sessions", "subject" } do
        if type(spec[k]) ~= "string" or not spec[k]:match(IDENT) then
            error("session.store: " .. k .. " must be a table or column name", 2)
        end
    end
    if type(spec.cookie) ~= "string" or not spec.cookie:match("^[%w_]+$") or type(spec.path) ~= "string"
        or not spec.path:match("^/[%w/_-]*$") or type(spec.config) ~= "string" then
        error("session.store: cookie (a name), path (/...) and config (a section name) are required", 2)
    end
    return setmetatable({ spec = spec }, Store)
end

function Store:settings()
    return wm.config[self.spec.config] or {}
end

local function one(sql, ...)
    local rows, err = wm.db.run(sql, ...)
    if not rows then
        return nil, err
    end
    return rows[1] or false
end

function Store:issue_link(subject)
    local token = wm.crypto.random_token(32)
    local ok, err = wm.db.run(("INSERT INTO %s (token_sha256, %s, expires_at) "
        .. "VALUES ($1, $2, now() + make_interval(secs => $3))"):format(self.spec.links, self.spec.subject),
        hash(token), subject, self:settings().link_ttl or 900)
    if not ok then
        return nil, err
    end
    return token
end

function Store:link_state(token)
    if not well_formed(token) then
        return { state = "unknown" }
    end
    local row, err = one(("SELECT %s AS subject, used_at IS NOT NULL AS used, expires_at <= now() AS expired "
        .. "FROM %s WHERE token_sha256 = $1"):format(self.spec.subject, self.spec.links), hash(token))
    if row == nil then
        return nil, err
    end
    if not row then
        return { state = "unknown" }
    end
    return { state = row.used and "used" or row.expired and "expired" or "ok", subject = row.subject }
end

function Store:redeem_link(token)
    if not well_formed(token) then
        return { state = "unknown" }
    end
    local row, err = one(("UPDATE %s SET used_at = now() WHERE token_sha256 = $1 AND used_at IS NULL "
        .. "AND expires_at > now() RETURNING %s AS subject"):format(self.spec.links, self.spec.subject), hash(token))
    if row == nil then
        return nil, err
    end
    if row then
        return { state = "ok", subject = row.subject }
    end
    return self:link_state(token)
end

function Store:last_link_age(subject)
    local row, err = one(("SELECT extract(epoch FROM now() - max(created_at))::float8 AS age FROM %s "
        .. "WHERE %s = $1"):format(self.spec.links, self.spec.subject), subject)
    if row == nil then
        return nil, err
    end
    return row.age ~= wm.null and row.age or nil
end

function Store:start(subject)
    local token, csrf = wm.crypto.random_token(32), wm.crypto.random_token(32)
    local ok, err = wm.db.run(("INSERT INTO %s (token_sha256, %s, csrf_token, expires_at) "
        .. "VALUES ($1, $2, $3, now() + make_interval(secs => $4))"):format(self.spec.sessions, self.spec.subject),
        hash(token), subject, csrf, self:settings().session_max or 43200)
    if not ok then
        return nil, err
    end
    return token, csrf
end

-- The request's session, or nil (no cookie, unknown, ended, idle too long or
-- past its end), or nil, err when the database did not answer.
function Store:load(req)
    local token = _M.cookies(req.headers and req.headers.cookie)[self.spec.cookie]
    if not well_formed(token) then
        return nil
    end
    local id = hash(token)
    local row, err = one(("UPDATE %s SET last_seen_at = now() WHERE token_sha256 = $1 AND ended_at IS NULL "
        .. "AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2) "
        .. "RETURNING %s AS subject, csrf_token"):format(self.spec.sessions, self.spec.subject),
        id, self:settings().session_idle or 3600)
    if row == nil then
        return nil, err
    end
    if not row then
        return nil
    end
    return { id = id, subject = row.subject, csrf = row.csrf_token }
end

function Store:finish(sess)
    local ok, err = wm.db.run(("UPDATE %s SET ended_at = now() WHERE token_sha256 = $1 AND ended_at IS NULL")
        :format(self.spec.sessions), sess.id)
    if not ok then
        return nil, err
    end
    return true
end

local function secure()
    return (((wm.config.sites or {}).base_url or ""):lower():match("^https://")) ~= nil
end

function Store:cookie(token)
    return ("%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax%s"):format(self.spec.cookie, token,
        self.spec.path, math.floor(self:settings().session_max or 43200), secure() and "; Secure" or "")
end

function Store:clear_cookie()
    return ("%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Lax%s"):format(self.spec.cookie, self.spec.path,
        secure() and "; Secure" or "")
end

return _M
