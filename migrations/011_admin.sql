-- 011_admin.sql: what the dashboard's accounts need beyond the seed's admin_users.
-- Every secret handed to a browser or a script (session, API token, setup link) is a
-- 256-bit random token; only its SHA-256 is stored, so a copy of the database opens nothing.

-- A login in one browser. Ends at logout (ended_at), after admin.session_idle seconds
-- without a request (last_seen_at) or at expires_at (admin.session_max after the login).
CREATE TABLE admin_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash TEXT NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES admin_users(id) ON DELETE CASCADE,
    -- The form token of this session (a hidden field, or X-CSRF-Token).
    csrf_token TEXT NOT NULL,
    remote_addr TEXT,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ
);
CREATE INDEX idx_admin_sessions_user_open ON admin_sessions (user_id) WHERE ended_at IS NULL;

-- Bearer tokens for the JSON API (wm users token), revocable one by one.
CREATE TABLE admin_api_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES admin_users(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX idx_admin_api_tokens_user ON admin_api_tokens (user_id);

-- Every login attempt, for throttling per account and per address.
CREATE TABLE login_attempts (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_login_attempts_email ON login_attempts (lower(email), created_at);
CREATE INDEX idx_login_attempts_addr ON login_attempts (remote_addr, created_at);

-- The one-time link that creates the first super_admin when there is none.
CREATE TABLE admin_setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
