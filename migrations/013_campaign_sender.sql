-- 013_campaign_sender.sql: which sender had a campaign when it went to 'sending'.
--
-- A campaign left in 'sending' (a crash between the provider's acceptance and the
-- commit) may be resolved automatically only by a provider that can tell for certain
-- whether it left. The outbox can, but only from the folder it wrote to: hosts with
-- their own paths.var have their own outboxes, and a host that looked in its own
-- folder for another host's file would wrongly conclude "not sent" and send again.
-- sending_host names the sender (for the outbox: hostname and outbox folder), so
-- only that sender says "not sent".
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

ALTER TABLE campaigns ADD COLUMN sending_host TEXT;
