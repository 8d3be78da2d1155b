-- 006_llm_calls.sql: every LLM call, what it cost, and which prompt versions it used
-- (original-lessons.md #3 and #4: record tokens and cost per call; keep a failed answer
-- for inspection; prompts versioned, never overwritten, and their changes seen by every
-- host).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

-- ---- llm_calls ------------------------------------------------------------------------
-- One row per request to a model (lib/llm.lua writes it, success or failure). Cost is in
-- micro-USD (1 USD per million tokens = 1 micro-USD per token), so small calls never
-- round to zero; analytics sums it into cents.

CREATE TABLE llm_calls (
    id BIGSERIAL PRIMARY KEY,
    agent VARCHAR(50) NOT NULL,                 -- analyst, concept, director, architect, email_composer
    provider VARCHAR(50) NOT NULL,              -- offline, anthropic
    model VARCHAR(100) NOT NULL,
    business_id UUID REFERENCES businesses(id) ON DELETE SET NULL,
    job_id BIGINT,                              -- jobs.id; no FK: jobs are pruned, costs are not

    max_tokens INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),

    stop_reason VARCHAR(50),                    -- as the provider sent it; NULL when no answer came
    ok BOOLEAN NOT NULL,
    error TEXT,                                 -- "retryable: ..." or "fatal: ..." when not ok
    raw_response TEXT,                          -- the model's text, kept when the call failed
    request_id VARCHAR(100),                    -- the provider's request id, for support

    -- Which prompt was sent: its hash, the template version and the prompt_settings rows
    -- (each row is one version of one section, so this pins the exact text).
    prompt_hash VARCHAR(64),
    template_version INTEGER,
    prompt_settings_ids UUID[] NOT NULL DEFAULT '{}',

    duration_ms INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX idx_llm_calls_created ON llm_calls (created_at);
CREATE INDEX idx_llm_calls_business ON llm_calls (business_id, created_at) WHERE business_id IS NOT NULL;
CREATE INDEX idx_llm_calls_job ON llm_calls (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX idx_llm_calls_agent ON llm_calls (agent, created_at);
CREATE INDEX idx_llm_calls_failed ON llm_calls (created_at) WHERE NOT ok;

-- ---- prompt_template_versions ----------------------------------------------------------
-- prompt_templates keeps one row per agent (the seed's UNIQUE(agent_name)); every content
-- it has had is kept here, numbered per agent. `wm prompts sync` writes a new version
-- when the repo's template changes; a row found in prompt_templates with content not
-- recorded here (an edit made in the database) is archived before being replaced.

CREATE TABLE prompt_template_versions (
    agent_name VARCHAR(50) NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    system_prompt TEXT NOT NULL,
    output_format TEXT,
    placeholder_sections JSONB NOT NULL DEFAULT '[]',
    content_hash VARCHAR(64) NOT NULL,          -- sha256 of the three fields above
    source VARCHAR(20) NOT NULL DEFAULT 'repo', -- repo (written by sync) or database (archived edit)
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_name, version)
);

CREATE INDEX idx_prompt_template_versions_hash ON prompt_template_versions (agent_name, content_hash);

-- ---- change notification ---------------------------------------------------------------
-- Every host caches the active prompts (lib/prompts.lua) and drops its cache on NOTIFY
-- wm_prompts. The triggers make any writer (sync, the admin UI, psql) notify; counting
-- usage (usage_count, success_count) does not. The notification is sent at commit.

CREATE FUNCTION wm_prompts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wm_prompts', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER prompt_settings_notify
    AFTER INSERT OR DELETE OR TRUNCATE ON prompt_settings
    FOR EACH STATEMENT EXECUTE FUNCTION wm_prompts_notify();
CREATE TRIGGER prompt_settings_notify_update
    AFTER UPDATE OF agent_name, section_name, content, version, is_active, variant, weight
    ON prompt_settings
    FOR EACH STATEMENT EXECUTE FUNCTION wm_prompts_notify();
CREATE TRIGGER prompt_templates_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON prompt_templates
    FOR EACH STATEMENT EXECUTE FUNCTION wm_prompts_notify();
