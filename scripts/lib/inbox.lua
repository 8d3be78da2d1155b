-- What one message read from the mailbox (mail.inbox) means, and its
-- effect, once. Used by stages/poll_inbox.lua.
--
--   inbox.classify(raw) -> m
--     m.kind: "bounced" (a DSN with a permanent failure, 5.x.x),
--     "soft_bounce" (a DSN that failed or is delayed with 4.x.x),
--     "complained" (an ARF feedback report), "reply", "unsubscribe",
--     "auto_reply", "report" (a DSN that reports no failure: delivered,
--     relayed), or "malformed" (m.err says why). Never raises.
--     m.campaign_id: the campaign named by a signed VERP address
--     (smtp.campaign_of: the DSN's To / X-Original-To / Delivered-To, the
--     returned message's Return-Path / From envelope) or by one of our
--     Message-IDs (In-Reply-To / References, the returned message's
--     Message-ID); nil when none matches.
--     m.message_id, m.from, m.subject, m.text, m.why, m.status, m.recipient.
--   inbox.apply(m, key[, via]) -> {kind=, campaign_id=, duplicate=} | nil, err
--     Inside the caller's transaction: the message is kept in mail_replies
--     (source via.source, key) and its effect applied through
--     domain/deliveries.lua (provider via.source, event id = key, actor
--     via.actor), both once per key, so a message read twice changes nothing
--     the second time. via defaults to {source = "imap", actor = "inbox"};
--     SendGrid's Inbound Parse passes its own. A reply not matched through
--     its headers falls back to the latest campaign sent to its sender.
--   inbox.latest_campaign_to(email) -> the campaign last sent to it | nil
--   inbox.bare(from) -> the address in a From value, lower-cased | nil
local dsn = require "lib.dsn"
local replies = require "lib.replies"

local type, ipairs, pcall = type, ipairs, pcall
local lower, match, gmatch, sub = string.lower, string.match, string.gmatch, string.sub

local _M = { _VERSION = "0.1" }

local IMAP = { source = "imap", actor = "inbox" }

-- The address inside "Name <addr>", or the first address-like word, lower-cased.
local function bare(v)
    if type(v) ~= "string" then
        return nil
    end
    local a = match(v, "<([^>]+)>") or match(v, "([^%s,;<>]+@[^%s,;<>]+)")
    return a and lower(a)
end
_M.bare = bare

-- The campaign of the first signed bounce+ address in these header values.
local function by_verp(values)
    local smtp = require "providers.mail.smtp"
    for _, v in ipairs(values) do
        if type(v) == "string" then
            for a in gmatch(lower(v), "bounce%+[%w]+@[%w.-]+") do
                local id = smtp.campaign_of(a)
                if id then
                    return id
                end
            end
        end
    end
end

local function by_refs(values)
    for _, v in ipairs(values) do
        local id = type(v) == "string" and replies.campaign_of(v)
        if id then
            return id
        end
    end
end

local function report_kind(r)
    if r.type == "feedback-report" then
        return "complained", "feedback-report: " .. r.feedback_type
    end
    -- The worst recipient decides: one permanent failure is a bounce.
    local kind, why, st, rcpt
    for _, x in ipairs(r.recipients) do
        local perm = dsn.permanent(x.status)
        if x.action == "failed" and perm ~= false then
            return "bounced", "failed " .. (x.status or "without a status"), x.status, x.final_recipient, x.diagnostic
        elseif (x.action == "delayed" or x.action == "failed") and perm == false and not kind then
            kind, why, st, rcpt = "soft_bounce", x.action .. " " .. x.status, x.status, x.final_recipient
        end
    end
    if kind then
        return kind, why, st, rcpt
    end
    return "report", "a delivery report without a failure"
end

local function classify(raw)
    local msg, err = dsn.parse(raw)
    if not msg then
        return { kind = "malformed", err = err }
    end
    local h = msg.headers
    local m = {
        message_id = h["message-id"] and sub(h["message-id"], 1, 300), from = bare(h.from),
        subject = h.subject and sub(h.subject, 1, 1000), text = dsn.text(msg),
    }
    local r, rerr = dsn.report(msg)
    if rerr then
        m.kind, m.err = "malformed", rerr
        return m
    end
    if r then
        local o = r.original
        m.kind, m.why, m.status, m.recipient, m.diagnostic = report_kind(r)
        m.campaign_id = by_verp { h.to, h["x-original-to"], h["delivered-to"], h["envelope-to"],
                                  o["return-path"], o.from, o.sender }
            or by_refs { o["message-id"], o.references, o["in-reply-to"] }
        return m
    end
    m.kind, m.why = replies.classify { headers = h, subject = m.subject, text = m.text, from = m.from }
    if m.kind == "bounce" then
        -- Looks like a bounce (mailer-daemon, "Undeliverable") but is no
        -- RFC 3464 report: counted as nothing, kept for the dashboard.
        m.kind = "auto_reply"
    end
    m.campaign_id = by_refs { (h["in-reply-to"] or "") .. " " .. (h.references or "") }
        or by_verp { h.to, h["x-original-to"], h["delivered-to"] }
    return m
end

function _M.classify(raw)
    local ok, m = pcall(classify, raw)
    if not ok then
        return { kind = "malformed", err = "unreadable message" }
    end
    return m
end

local function campaign_exists(id)
    return id and wm.db.run_one("SELECT 1 AS x FROM campaigns WHERE id = $1", id) and id or nil
end

function _M.latest_campaign_to(email)
    local row = email and wm.db.run_one([[SELECT id FROM campaigns WHERE lower(recipient_email) = $1
        AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1]], email)
    return row and row.id
end

function _M.apply(m, key, via)
    if type(key) ~= "string" or key == "" then
        return nil, "inbox.apply: a key is required"
    end
    via = via or IMAP
    local deliveries = require "domain.deliveries"
    local campaign_id = campaign_exists(m.campaign_id)
    if not campaign_id and (m.kind == "reply" or m.kind == "unsubscribe") then
        campaign_id = _M.latest_campaign_to(m.from)
    end
    local stored = m.kind
    if stored == "bounced" or stored == "soft_bounce" or stored == "report" then
        stored = "bounce"
    elseif stored == "complained" then
        stored = "complaint"
    end
    local row, err = wm.db.run_one([[INSERT INTO mail_replies (source, message_id, campaign_id, kind, from_email,
            subject, body_text) VALUES ($1, $2, $3, $4, left($5, 255), left($6, 1000), $7)
        ON CONFLICT (source, message_id) WHERE message_id IS NOT NULL DO NOTHING RETURNING id]],
        via.source, key, campaign_id, stored, m.from, m.subject,
        replies.clean(m.kind == "malformed" and "" or (m.text or "")))
    if err then
        return nil, err
    elseif not row then
        return { kind = m.kind, campaign_id = campaign_id, duplicate = true }
    end
    local function event(kind, id, detail)
        local res, aerr = deliveries.apply { campaign_id = campaign_id, provider = via.source, event_id = id,
                                             kind = kind, at = wm.now(), actor = via.actor, detail = detail }
        if not res then
            error(aerr, 0)
        end
    end
    if campaign_id then
        if m.kind == "bounced" or m.kind == "soft_bounce" then
            event(m.kind, key, { reason = m.diagnostic or m.why, status = m.status, recipient = m.recipient,
                                 reply_id = row.id })
        elseif m.kind == "complained" then
            event("complained", key, { reason = m.why, reply_id = row.id })
        elseif m.kind == "reply" or m.kind == "unsubscribe" then
            event("replied", key, { reply_id = row.id, why = m.why })
            if m.kind == "unsubscribe" then
                event("unsubscribed", key .. "#stop", { reply_id = row.id, why = m.why })
            end
        end
    end
    return { kind = m.kind, campaign_id = campaign_id, duplicate = false }
end

return _M
