-- 002_prompts.sql: the prompt tables of the seed schema.
--
-- Editable prompt sections (prompt_settings, versioned, A/B weighted) and the master
-- templates per agent (prompt_templates). Reproduces /work/shared/seed/webmagic-schema.md
-- exactly; needs admin_users from 001 (prompt_settings.created_by).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

-- ---- prompt_settings ------------------------------------------------------------------
-- Dynamic prompt configuration (editable via admin UI).

CREATE TABLE prompt_settings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Agent Identification
    agent_name VARCHAR(50) NOT NULL,
    -- Values: analyst, concept, director, architect, email_composer

    -- Section within the agent
    section_name VARCHAR(100) NOT NULL,
    -- Examples: "review_highlight", "vibe_code", "typography_rules"

    -- Content
    content TEXT NOT NULL,
    description TEXT,  -- Help text for admin UI

    -- Versioning
    version INTEGER DEFAULT 1,
    is_active BOOLEAN DEFAULT true,

    -- A/B Testing
    variant VARCHAR(50),  -- For testing different versions
    weight INTEGER DEFAULT 100,  -- Percentage weight for A/B

    -- Performance Tracking
    usage_count INTEGER DEFAULT 0,
    success_count INTEGER DEFAULT 0,  -- Conversions when used

    -- Timestamps
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW(),
    created_by UUID REFERENCES admin_users(id),

    -- Constraints
    UNIQUE(agent_name, section_name, version)
);

-- Indexes
CREATE INDEX idx_prompts_agent ON prompt_settings(agent_name);
CREATE INDEX idx_prompts_active ON prompt_settings(is_active) WHERE is_active = true;

-- ---- prompt_templates -----------------------------------------------------------------
-- Master prompt templates (rarely changed).

CREATE TABLE prompt_templates (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Identification
    agent_name VARCHAR(50) NOT NULL UNIQUE,

    -- Template
    system_prompt TEXT NOT NULL,      -- The base instructions
    output_format TEXT,               -- Expected output structure

    -- Placeholders (which sections can be injected)
    placeholder_sections JSONB DEFAULT '[]',
    -- Example: ["frontend_aesthetics", "vibe_list", "banned_fonts"]

    -- Timestamps
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);
