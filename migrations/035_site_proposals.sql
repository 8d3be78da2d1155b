-- 035_site_proposals.sql: a change request's proposed page is a
-- generated_sites row that points at the live site it would replace
-- (previous_version_id), so "the newest row of a chain" cannot tell it
-- from a version. The flag says so; it stays when the proposal is archived
-- (approved, rejected or rebuilt).
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.
ALTER TABLE generated_sites
    ADD COLUMN proposal BOOLEAN NOT NULL DEFAULT false;

-- Proposals made before this column: still proposed, named by a ticket, or
-- archived under the "<subdomain>--t<hex>" address domain.tickets gives them.
UPDATE generated_sites SET proposal = true
WHERE status = 'proposed'
   OR id IN (SELECT proposed_site_id FROM support_tickets WHERE proposed_site_id IS NOT NULL)
   OR subdomain ~ '--t[0-9a-f]{12}$';
