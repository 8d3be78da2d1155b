-- The SMTP provider: each message goes to a relay (mail.smtp.url) through
-- the host's SMTP client (wm.core.smtp, core/smtp.c): sessions kept open and
-- reused across messages, the envelope pipelined.
--
--   smtp.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}
--       -> {message_id = "<id@domain>", envelope_from = "bounce+...@domain"}
--        | nil, err, {sent = false | "unknown", permanent = bool,
--                     retry_after = s, throttled = bool}
--   smtp.bounce_address(campaign_id[, domain]) -> "bounce+<hex id><mac>@domain"
--   smtp.campaign_of(address) -> campaign_id | nil, "malformed" | "bad signature"
--
-- The envelope sender is a VERP address: the campaign id (a UUID, as 32 hex
-- digits) and 8 bytes of HMAC-SHA256 over it with the tracking key, so a
-- bounce sent to it names its campaign and cannot be forged. Lower-case hex
-- because relays may fold the local part's case; 55 characters, under the
-- local part's 64.
--
-- What the relay's answer means (the send stage acts on it alone):
--   - accepted (250 to the final dot): sent.
--   - the payload never went out whole (connect/TLS/AUTH failure, a 4xx or
--     5xx at the greeting, MAIL, RCPT or DATA, a drop before the end):
--     nothing can have been accepted, sent = false. 5xx is permanent (the
--     relay refuses this message), except the AUTH/TLS codes 530/534/535/538
--     (the operator's set-up, not the message); 421/450/451/452/454 are
--     throttling: retry_after.
--   - the whole payload went out and the relay answered 4xx/5xx: refused,
--     sent = false as above.
--   - the whole payload went out and then no answer (timeout, dropped
--     connection): sent = "unknown"; the campaign stays 'sending'.
local mime = require "lib.mime"
local tracking = require "lib.tracking"
local core = require "wm.core.smtp"

local type, tostring = type, tostring
local lower, match, sub = string.lower, string.match, string.sub

local _M = { _VERSION = "0.1", name = "smtp" }

local THROTTLE = { [421] = true, [450] = true, [451] = true, [452] = true, [454] = true }
local SETUP = { [530] = true, [534] = true, [535] = true, [538] = true }
local MAC_HEX = 16

local function cfg()
    return (wm.config.mail or {}).smtp or {}
end

local function domain_of(addr)
    return type(addr) == "string" and match(addr, "@([%w.-]+)$") or nil
end

local function mac(hex_id)
    return sub(wm.crypto.hmac_sha256(tracking.key(), "verp\0" .. hex_id, "hex"), 1, MAC_HEX)
end

function _M.bounce_address(campaign_id, domain)
    local hex_id = lower(tostring(campaign_id)):gsub("-", "")
    if not match(hex_id, "^%x+$") or #hex_id ~= 32 then
        error("smtp.bounce_address: campaign_id must be a UUID", 2)
    end
    domain = domain or domain_of(((wm.config.mail or {}).from_email))
    return "bounce+" .. hex_id .. mac(hex_id) .. "@" .. lower(domain or "localhost")
end

function _M.campaign_of(address)
    local tag = type(address) == "string" and match(lower(address), "^bounce%+(%x+)@")
    if not tag or #tag ~= 32 + MAC_HEX then
        return nil, "malformed"
    end
    local hex_id, got = sub(tag, 1, 32), sub(tag, 33)
    if not wm.crypto.equal(got, mac(hex_id)) then
        return nil, "bad signature"
    end
    return ("%s-%s-%s-%s-%s"):format(sub(hex_id, 1, 8), sub(hex_id, 9, 12), sub(hex_id, 13, 16),
                                      sub(hex_id, 17, 20), sub(hex_id, 21, 32))
end

local function address(a)
    return type(a) == "table" and a.email or a
end

-- The answer for a failed transaction (see the top of this file).
local function classify(err, info)
    local code, data = info.code or 0, info.data
    local refused = code >= 400 and code ~= 354
    if data == "all" and not refused then
        return nil, "smtp: the message went out but the relay did not confirm it (" .. err .. ")",
            { sent = "unknown" }
    end
    local why = "smtp: " .. err .. (code > 0 and (" (last reply " .. code .. ")") or "")
    if refused and THROTTLE[code] then
        return nil, why, { sent = false, throttled = true, retry_after = cfg().retry_after or 60 }
    end
    local permanent = refused and code >= 500 and not SETUP[code]
        and info.outcome ~= "auth" and info.outcome ~= "tls"
    return nil, why, { sent = false, permanent = permanent }
end

function _M.send(msg)
    if type(msg) ~= "table" then
        error("usage: smtp.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}", 2)
    end
    local c = cfg()
    if type(c.url) ~= "string" or c.url == "" then
        return nil, "smtp: mail.smtp.url is not set (WM_MAIL_SMTP_URL)", { sent = false }
    end
    local eml, mid = mime.build {
        from = msg.from, to = msg.to, subject = msg.subject, text = msg.text, html = msg.html,
        headers = msg.headers, message_id = msg.message_id, date = wm.now(),
    }
    if not eml then
        return nil, mid, { sent = false, permanent = true }
    end
    local envelope = msg.campaign_id and _M.bounce_address(msg.campaign_id, c.bounce_domain ~= "" and c.bounce_domain
        or domain_of(address(msg.from))) or address(msg.from)

    local res, err, info = core.send {
        url = c.url, from = envelope, to = address(msg.to), body = eml,
        username = c.username ~= "" and c.username or nil, password = c.password,
        starttls = c.starttls, ca_file = c.ca_file ~= "" and c.ca_file or nil, timeout = c.timeout,
    }
    if not res then
        return classify(err, info)
    end
    return { message_id = mid, envelope_from = envelope }
end

return _M
