-- Reads the bounce and reply mailbox (mail.inbox: IMAP over TLS through
-- libcurl on the loop), run by cron (cron.inbox). For each message above
-- the last UID handled (inbox_state, migration 030), in UID order: fetch it
-- raw, classify it (lib/inbox.lua: RFC 3464 DSN, ARF complaint, reply,
-- auto-reply, malformed), then in ONE transaction apply its effect and
-- advance last_uid; only then mark it \Seen. A crash before the commit
-- reads the message again next time, and its effect (keyed by its
-- Message-ID, or UIDVALIDITY:UID without one) still happens once.
--
-- The UID, not \Seen, says what was handled: libcurl fetches a message
-- with FETCH BODY[] (which sets \Seen), and a command's literal (BODY.PEEK[])
-- does not reach the caller, so \Seen cannot mean "committed".
local core = require "wm.core.httpc"
local inbox = require "lib.inbox"

local tonumber, ipairs = tonumber, ipairs
local match, gmatch = string.match, string.gmatch

local function cfg()
    return (wm.config.mail or {}).inbox or {}
end

local function call(c, url, command, max_body)
    return core.imap {
        url = url, command = command, username = c.username ~= "" and c.username or nil,
        password = c.password ~= "" and c.password or nil, ca_file = c.ca_file ~= "" and c.ca_file or nil,
        timeout = c.timeout, max_body = max_body,
    }
end

local M = {}

-- The mailbox of mail.inbox.url ("imaps://host/Bounce%20Box", or with the
-- space written as is) -> the URL with its path percent-encoded, which
-- libcurl needs, and the name as an IMAP command takes it: a quoted string
-- ("Bounce Box"). Names beyond ASCII (modified UTF-7) are not handled.
local function mailbox_of(url)
    local base, raw = match(url, "^(imaps?://[^/]+)/([^;?]+)$")
    if not base then
        return nil
    end
    local name = raw:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    local path = name:gsub("[^%w%-._~/]", function(ch) return ("%%%02X"):format(ch:byte()) end)
    return base, base .. "/" .. path, '"' .. name:gsub('[\\"]', "\\%0") .. '"'
end

-- Polls once; returns counts {read=, applied=, duplicate=, malformed=}.
function M.poll()
    local c = cfg()
    local url = c.url or ""
    if url == "" then
        return { read = 0 }
    end
    local base, box_url, mailbox = mailbox_of(url)
    if not base then
        error("mail.inbox.url must be imaps://host[:port]/MAILBOX, got " .. url, 0)
    end
    local st = assert(call(c, base .. "/", ("STATUS %s (UIDVALIDITY UIDNEXT)"):format(mailbox)))
    local validity = tonumber(match(st.body, "UIDVALIDITY (%d+)"))
    local uidnext = tonumber(match(st.body, "UIDNEXT (%d+)"))
    if not validity or not uidnext then
        error("imap: STATUS answered without UIDVALIDITY/UIDNEXT: " .. st.body:sub(1, 200), 0)
    end
    local row = assert(wm.db.one([[INSERT INTO inbox_state (mailbox, uid_validity) VALUES ($1, $2)
        ON CONFLICT (mailbox) DO UPDATE SET
            last_uid = CASE WHEN inbox_state.uid_validity = $2 THEN inbox_state.last_uid ELSE 0 END,
            uid_validity = $2, updated_at = now()
        RETURNING last_uid]], box_url, validity))
    local last = tonumber(row.last_uid)
    local counts = { read = 0, applied = 0, duplicate = 0, malformed = 0 }
    if uidnext <= last + 1 then
        return counts
    end
    -- "n:*" always names the highest UID, even one below n: filter.
    local found = assert(call(c, box_url, ("UID SEARCH UID %d:*"):format(last + 1)))
    local uids = {}
    for line in gmatch(found.body, "[^\r\n]+") do
        local list = match(line, "^%* SEARCH(.*)$")
        for u in gmatch(list or "", "%d+") do
            u = tonumber(u)
            if u > last then
                uids[#uids + 1] = u
            end
        end
    end
    table.sort(uids)
    for i, uid in ipairs(uids) do
        if i > (c.batch or 50) then
            break
        end
        local msg, err, info = call(c, box_url .. ";UID=" .. uid, nil, c.max_bytes)
        local m
        if msg then
            m = inbox.classify(msg.body)
        elseif info and info.outcome == "too_large" then
            m = { kind = "malformed", err = "larger than mail.inbox.max_bytes" }
        elseif info and info.outcome == "protocol" then
            m = nil    -- expunged since the search: nothing to read, move past it
        else
            error("imap: fetching UID " .. uid .. ": " .. tostring(err), 0)
        end
        local key = m and (m.message_id or ("uid:" .. validity .. ":" .. uid))
        local res = assert(wm.db.tx(function()
            local r = m and assert(inbox.apply(m, key)) or { kind = "gone" }
            assert(wm.db.run([[UPDATE inbox_state SET last_uid = greatest(last_uid, $2), updated_at = now()
                WHERE mailbox = $1 AND uid_validity = $3]], box_url, uid, validity))
            return r
        end))
        counts.read = counts.read + 1
        if res.duplicate then
            counts.duplicate = counts.duplicate + 1
        elseif m and m.kind == "malformed" then
            counts.malformed = counts.malformed + 1
            wm.log.warn("inbox: an unreadable message, kept and marked", { uid = uid, error = m.err })
        else
            counts.applied = counts.applied + 1
        end
        if m then
            local ok, serr = call(c, box_url, ("UID STORE %d +FLAGS (\\Seen)"):format(uid))
            if not ok then
                wm.log.warn("inbox: could not mark a handled message \\Seen", { uid = uid, error = serr })
            end
        end
    end
    if counts.read > 0 then
        wm.log.info("inbox polled", counts)
    end
    return counts
end

return {
    kind = "poll_inbox",
    concurrency = 1,
    timeout = 300,
    poll = M.poll,
    mailbox_of = mailbox_of,
    run = function()
        M.poll()
    end,
}
