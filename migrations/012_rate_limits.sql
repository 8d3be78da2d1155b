-- 012_rate_limits.sql: token buckets shared by every host (lib/ratelimit.lua),
-- one row per limited thing (e.g. 'mail:smtp'). `tokens` is what the bucket
-- held at `updated_at`; it may go below zero: a take reserves a slot in the
-- future and the taker waits until then, so hosts queue fairly without
-- asking again.
CREATE TABLE rate_limits (
    name TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- Whether the last take got a slot (RETURNING reads it).
    granted BOOLEAN NOT NULL DEFAULT true
);
