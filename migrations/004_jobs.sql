-- The job queue (design.md §5): every pipeline step is a job, claimed with
-- FOR UPDATE SKIP LOCKED, leased to one host, retried with backoff, kept
-- with every error it met. Also the cron bookkeeping that makes a periodic
-- entry fire once per period across all hosts.

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL DEFAULT '{}',
    status VARCHAR(20) NOT NULL DEFAULT 'available'
        CHECK (status IN ('scheduled', 'available', 'running', 'completed',
                          'retryable', 'discarded', 'cancelled')),
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    priority INTEGER NOT NULL DEFAULT 0,
    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    unique_key VARCHAR(255),
    lease_owner VARCHAR(255),
    lease_expires_at TIMESTAMPTZ,
    last_error TEXT,
    errors JSONB NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempted_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);

-- At most one live job per unique_key.
CREATE UNIQUE INDEX idx_jobs_unique_live ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'available', 'running', 'retryable');
-- The claim: by kind, highest priority first, oldest first.
CREATE INDEX idx_jobs_claim ON jobs (kind, priority DESC, run_at, id)
    WHERE status IN ('scheduled', 'available', 'retryable');
-- Lease rescue.
CREATE INDEX idx_jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX idx_jobs_status_kind ON jobs (status, kind);

CREATE TABLE cron_runs (
    name VARCHAR(100) NOT NULL,
    slot BIGINT NOT NULL,
    job_id BIGINT,
    fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    fired_by VARCHAR(255),
    PRIMARY KEY (name, slot)
);
