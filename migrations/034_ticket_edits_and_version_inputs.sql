-- 034_ticket_edits_and_version_inputs.sql: staff editing a change request's
-- proposal and assigning the request, and what each site version was
-- rendered from (so a rollback brings its inputs back with its page).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.
ALTER TABLE support_tickets
    -- Set when staff saved their own edit of the proposal (domain.tickets.edit):
    -- its approval is then resolved_by 'human'. Cleared when the proposal is
    -- built again by code (a stale base), since the page is the AI's again.
    ADD COLUMN edited_by UUID REFERENCES admin_users(id) ON DELETE SET NULL,
    ADD COLUMN edited_at TIMESTAMP,
    -- The staff member who looks after the request (the dashboard's queue).
    ADD COLUMN assigned_to UUID REFERENCES admin_users(id) ON DELETE SET NULL;

CREATE INDEX idx_tickets_assigned ON support_tickets (assigned_to) WHERE assigned_to IS NOT NULL;

-- What the version's page was rendered from: {content = the architect's
-- output, dna = businesses.creative_dna (null: the concept's), business =
-- {phone, email, address}}, the inputs domain.tickets.approve writes and
-- domain.sites.rollback writes back. NULL when not known (versions built
-- before this column): such a version rolls back without its inputs.
ALTER TABLE generated_sites
    ADD COLUMN rendered_from JSONB;
