-- 030_inbox_state.sql: where the mailbox reader (stages/poll_inbox.lua) is.
--
-- One row per mailbox URL: the mailbox's UIDVALIDITY and the highest UID
-- whose message has been handled (its effect committed in the same
-- transaction). A poll reads UIDs above last_uid, so a message is read
-- again after a crash before that commit, whatever its \Seen flag says
-- (fetching a message sets \Seen on the server); its effect happens once
-- all the same (mail_replies / mail_events keyed by its Message-ID or
-- UIDVALIDITY:UID). A new UIDVALIDITY means the UIDs were renumbered:
-- last_uid starts again from 0.
--
-- Plain SQL, no BEGIN/COMMIT: the migration runner wraps each file in a transaction.

CREATE TABLE inbox_state (
    mailbox TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
