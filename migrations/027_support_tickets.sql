-- 027_support_tickets.sql: what a support ticket needs beyond the seed's row
-- (scripts/domain/tickets.lua is the one home of support_tickets.status):
--   open -> in_progress (the interpret_ticket job) -> awaiting_approval (a
--   proposed version is built) | needs_person; awaiting_approval ->
--   completed (approved: it went live) | rejected | in_progress (its base
--   went stale: rebuilt); needs_person -> completed | rejected.
-- A proposed version is a generated_sites row with status 'proposed' (never
-- served: the site host serves preview, live and sold), version = the base's
-- + 1 and previous_version_id = the live row it would replace.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.
ALTER TABLE support_tickets
    -- The interpretation split into operations ({kind = "text" | "contact" | ...}).
    ADD COLUMN operations JSONB,
    -- Why the ticket needs a person (an unsafe or unknown request).
    ADD COLUMN needs_person_reason TEXT,
    ADD COLUMN proposed_site_id UUID REFERENCES generated_sites(id) ON DELETE SET NULL,
    -- The live version the proposal was built on: a proposal whose base is
    -- no longer the live version is rebuilt on the current one.
    ADD COLUMN base_version INTEGER,
    -- What the proposed page is rendered from (the architect's content, the
    -- palette, the business's contact details): written to the site's
    -- stored inputs when approved, so a later re-render keeps the change.
    ADD COLUMN proposed_inputs JSONB,
    ADD COLUMN approval_note TEXT,
    -- Who filed and who decided: 'customer' (the portal) or 'user' (staff).
    ADD COLUMN created_by_type VARCHAR(20) NOT NULL DEFAULT 'customer',
    ADD COLUMN created_by UUID,
    ADD COLUMN decided_by_type VARCHAR(20),
    ADD COLUMN decided_by UUID,
    ADD COLUMN decided_at TIMESTAMP,
    -- The version that went live when it was approved.
    ADD COLUMN applied_version INTEGER,
    ADD COLUMN rebuilds INTEGER NOT NULL DEFAULT 0;

CREATE INDEX idx_tickets_site ON support_tickets (site_id, created_at DESC);
CREATE INDEX idx_tickets_customer_created ON support_tickets (customer_id, created_at DESC);
