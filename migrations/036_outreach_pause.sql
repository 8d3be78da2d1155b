-- 036_outreach_pause.sql: the outreach switch (domain/outreach.lua). One
-- row, read by every host's compose and send stages: while `paused`, no
-- campaign email is composed or sent (the jobs snooze, spending no
-- attempt); transactional mail (portal links, ticket emails) never reads it.
-- paused_at / paused_by / reason say who paused it, when and why; they stay
-- after a resume until the next pause (the activity log keeps the history).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.
CREATE TABLE outreach_state (
    -- Always true: the table holds this one row.
    id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    paused BOOLEAN NOT NULL DEFAULT false,
    paused_at TIMESTAMPTZ,
    paused_by_type VARCHAR(20),
    paused_by UUID,                          -- the actor's id (an admin_users id for the dashboard)
    reason TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO outreach_state (id) VALUES (true);
