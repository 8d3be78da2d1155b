-- Replies to outreach: what an inbound message is and which campaign it
-- answers. Shared by SendGrid's Inbound Parse (/hooks/sendgrid-inbound) and
-- the mailbox reader, so both count the same things.
--
--   replies.message_id(campaign_id, domain) -> "<wm.<hex id><mac>@domain>"
--     The Message-ID a provider that lets us choose it gives the campaign's
--     email: a reply's In-Reply-To/References then names the campaign
--     without a lookup, and the MAC (tracking key) means a forged reference
--     cannot name another one.
--   replies.campaign_of(message_id_or_list) -> campaign_id | nil
--     The campaign named by the first of our Message-IDs found in an
--     In-Reply-To or References value (several ids, any order).
--   replies.headers(raw) -> { lower-case name = value } (unfolded; the first of repeated names)
--   replies.classify{headers=, subject=, text=, from=} -> kind, why
--     kind: "bounce" (a DSN), "auto_reply" (Auto-Submitted, vacation
--     notices), "unsubscribe" (the person's own words ask to stop), "reply".
--     Only "reply" and "unsubscribe" are a person answering.
--   replies.own_text(text) -> the new part of a reply, without the quoted
--     message below it (our own email quoted back says "unsubscribe").
--   replies.clean(text) -> sanitised text to store (controls removed, bounded)
local tracking = require "lib.tracking"

local type, tostring, ipairs = type, tostring, ipairs
local lower, match, sub, gsub, find, gmatch = string.lower, string.match, string.sub, string.gsub, string.find,
    string.gmatch

local _M = { _VERSION = "0.1" }

local MAC_HEX = 16
local MAX_TEXT = 20000

local function mac(hex_id)
    return sub(wm.crypto.hmac_sha256(tracking.key(), "msgid\0" .. hex_id, "hex"), 1, MAC_HEX)
end

function _M.message_id(campaign_id, domain)
    local hex_id = gsub(lower(tostring(campaign_id)), "-", "")
    if not match(hex_id, "^%x+$") or #hex_id ~= 32 then
        error("replies.message_id: campaign_id must be a UUID", 2)
    end
    return "<wm." .. hex_id .. mac(hex_id) .. "@" .. lower(domain or "localhost") .. ">"
end

local function uuid(h)
    return ("%s-%s-%s-%s-%s"):format(sub(h, 1, 8), sub(h, 9, 12), sub(h, 13, 16), sub(h, 17, 20), sub(h, 21, 32))
end

function _M.campaign_of(refs)
    if type(refs) ~= "string" then
        return nil
    end
    for tag in gmatch(lower(refs), "<wm%.(%x+)@[^>]*>") do
        if #tag == 32 + MAC_HEX and wm.crypto.equal(sub(tag, 33), mac(sub(tag, 1, 32))) then
            return uuid(sub(tag, 1, 32))
        end
    end
    return nil
end

function _M.headers(raw)
    if type(raw) ~= "string" then
        return {}
    end
    return (require("lib.dsn").headers(gsub(raw, "\r\n?", "\n")))
end

-- Subjects of vacation notices and auto-responders, in the languages of the
-- markets served (English, Spanish) and the commonest others.
local AUTO_SUBJECTS = {
    "out of office", "out of the office", "automatic reply", "auto%-reply", "autoreply", "auto reply",
    "autoresponse", "auto%-response", "vacation", "away from the office", "on leave",
    "respuesta autom", "fuera de la oficina", "fuera de oficina", "ausente", "vacaciones",
    "abwesenheit", "absence", "r[ée]ponse automatique", "automatisch antwoord",
}
local DSN_SUBJECTS = {
    "undeliver", "delivery status notification", "delivery failure", "mail delivery failed",
    "returned mail", "failure notice", "delivery has failed", "non%-delivery", "could not be delivered",
}

-- The words that ask us to stop, as whole words in the person's own text.
local STOP = { "unsubscribe", "stop", "remove me", "take me off", "opt out", "opt%-out", "no more emails",
               "darme de baja", "dar de baja", "no me escriban" }

function _M.own_text(text)
    if type(text) ~= "string" then
        return ""
    end
    local out = {}
    for line in gmatch(gsub(text, "\r\n?", "\n") .. "\n", "([^\n]*)\n") do
        local l = lower(line)
        if match(l, "^%s*on .+wrote:%s*$") or match(l, "^%s*el .+escribi[óo]:%s*$")
            or find(l, "-----original message-----", 1, true) or match(l, "^%s*_____+%s*$")
            or match(l, "^%s*from: .+") or match(l, "^%s*de: .+") then
            break
        end
        if not match(line, "^%s*>") then
            out[#out + 1] = line
        end
    end
    return table.concat(out, "\n")
end

local function has_word(s, w)
    return find(" " .. s .. " ", "[^%w]" .. w .. "[^%w]") ~= nil
end

local function any(s, patterns)
    for _, p in ipairs(patterns) do
        if find(s, p) then
            return p
        end
    end
end

function _M.classify(m)
    local h = m.headers or {}
    local subject = lower(m.subject or h.subject or "")
    local from = lower(m.from or h.from or "")
    local ctype = lower(h["content-type"] or "")
    if find(ctype, "report%-type=\"?delivery%-status") or match(from, "mailer%-daemon@")
        or match(from, "^[^@]*postmaster@") or (any(subject, DSN_SUBJECTS) and find(from, "daemon", 1, true)) then
        return "bounce", "delivery status notification"
    end
    if any(subject, DSN_SUBJECTS) and h["x-failed-recipients"] then
        return "bounce", "x-failed-recipients"
    end
    local auto = lower(h["auto-submitted"] or "no")
    if auto ~= "no" and auto ~= "" then
        return "auto_reply", "auto-submitted: " .. auto
    end
    if h["x-autoreply"] or h["x-autorespond"] or h["x-autoresponder"] then
        return "auto_reply", "x-autoreply"
    end
    local prec = lower(h.precedence or "")
    if prec == "auto_reply" or prec == "bulk" or prec == "junk" then
        return "auto_reply", "precedence: " .. prec
    end
    local p = any(subject, AUTO_SUBJECTS)
    if p then
        return "auto_reply", "subject: " .. p
    end
    local own = lower(_M.own_text(m.text))
    for _, w in ipairs(STOP) do
        if has_word(own, w) then
            return "unsubscribe", "asks to stop: " .. w
        end
    end
    return "reply"
end

function _M.clean(text)
    return require("lib.text").paragraph(text, MAX_TEXT)
end

return _M
