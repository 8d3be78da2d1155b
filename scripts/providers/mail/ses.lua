-- The Amazon SES provider: SES v2 SendEmail with the raw MIME message
-- (lib.mime), POST <endpoint>/v2/email/outbound-emails, signed with AWS
-- Signature Version 4 by libcurl (aws_sigv4 = "aws:amz:<region>:ses": the
-- signing name is "ses", not the host's "email").
--
--   ses.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}
--       -> {message_id = "<SES MessageId>"}
--        | nil, err, {sent = false | "unknown", permanent = bool,
--                     retry_after = s, throttled = bool}
--   ses.classify(status, headers, body) -> nil, err, info (a refusal's answer)
--
-- The MessageId is kept as the campaign's message_id: SES's notifications
-- name the message by it (mail.messageId). The campaign id also goes as
-- the email tag campaign_id, which the notifications carry too.
-- Keys: aws.access_key_id / aws.secret_access_key (WM_AWS_ACCESS_KEY_ID,
-- WM_AWS_SECRET_ACCESS_KEY), plus aws.session_token for temporary
-- credentials (sent as x-amz-security-token). The rate limit
-- (mail.rate_limits.ses, 14/s by default, shared by every host) is taken by
-- every caller (lib.mail_limit).
--
-- What an answer means (the send stage acts on it alone):
--   - 200 with a MessageId: sent.
--   - throttling (429, TooManyRequestsException, Throttling,
--     ThrottlingException, LimitExceededException): sent = false,
--     throttled, retry_after (Retry-After or mail.ses.retry_after).
--   - the account or set-up (403 signature/credentials, AccountSuspended,
--     SendingPaused, a missing configuration set): sent = false, not
--     permanent: the operator fixes it and the message goes later.
--   - the message refused (MessageRejected, MailFromDomainNotVerified,
--     BadRequest, any other 4xx): sent = false, permanent.
--   - 5xx: sent = false (SES answered that it did not take it), retried.
--   - no answer: when curl never handed the whole request over (connect,
--     DNS, TLS, a timeout before the body went out) nothing can have been
--     sent, sent = false; once the whole body went out (a timeout or a
--     dropped connection waiting for the answer) SES may have sent it:
--     sent = "unknown", and the campaign stays 'sending'.
local mime = require "lib.mime"
local core = require "wm.core.httpc"

local type, tostring, tonumber = type, tostring, tonumber
local match, lower = string.match, string.lower

local _M = { _VERSION = "0.1", name = "ses" }

local THROTTLED = {
    toomanyrequestsexception = true, throttling = true, throttlingexception = true,
    limitexceededexception = true,
}
local SETUP = {
    accountsuspendedexception = true, sendingpausedexception = true, notfoundexception = true,
    invalidsignatureexception = true, signaturedoesnotmatch = true, unrecognizedclientexception = true,
    incompletesignature = true, missingauthenticationtoken = true, expiredtoken = true,
    expiredtokenexception = true, accessdeniedexception = true, accessdenied = true,
    invalidclienttokenid = true,
}

local function cfg()
    return (wm.config.mail or {}).ses or {}
end

local function keys()
    local a = wm.config.aws or {}
    local id, secret, token = a.access_key_id, a.secret_access_key, a.session_token
    if type(id) ~= "string" or id == "" or type(secret) ~= "string" or secret == "" then
        return nil
    end
    return id, secret, type(token) == "string" and token ~= "" and token or nil
end

function _M.endpoint()
    local c = cfg()
    if type(c.endpoint) == "string" and c.endpoint ~= "" then
        return (c.endpoint:gsub("/+$", ""))
    end
    return "https://email." .. (c.region or "us-east-1") .. ".amazonaws.com"
end

local function address(a)
    return type(a) == "table" and a.email or a
end

-- The error's name: the x-amzn-ErrorType header ("Name:http://..."), else
-- the body's __type / code / Code (JSON), else an XML <Code> (the v1 form).
local function error_name(headers, body)
    local h = headers and headers["x-amzn-errortype"]
    if type(h) == "string" and h ~= "" then
        return (match(h, "^([^:,]+)"))
    end
    local doc = type(body) == "string" and wm.json.decode(body)
    if type(doc) == "table" then
        local t = doc.__type or doc.code or doc.Code
        if type(t) == "string" then
            return match(t, "#?([%w_.]+)$") or t
        end
    end
    return type(body) == "string" and match(body, "<Code>([%w_.]+)</Code>") or nil
end

local function error_message(body)
    local doc = type(body) == "string" and wm.json.decode(body)
    local m = type(doc) == "table" and (doc.message or doc.Message)
    if type(m) ~= "string" and type(body) == "string" then
        m = match(body, "<Message>([^<]*)</Message>")
    end
    return type(m) == "string" and m:sub(1, 300) or nil
end

function _M.classify(status, headers, body)
    local name = error_name(headers, body)
    local key = lower(name or "")
    local why = ("ses: %d %s%s"):format(status, name or "error",
        error_message(body) and (": " .. error_message(body)) or "")
    if status == 429 or THROTTLED[key] then
        local after = tonumber(headers and headers["retry-after"])
        return nil, why, { sent = false, throttled = true, retry_after = after or cfg().retry_after or 10 }
    end
    if status >= 500 then
        return nil, why, { sent = false }
    end
    if status == 401 or status == 403 or SETUP[key] then
        return nil, why, { sent = false, permanent = false }
    end
    return nil, why, { sent = false, permanent = true }
end

function _M.send(msg)
    if type(msg) ~= "table" then
        error("usage: ses.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}", 2)
    end
    local id, secret, token = keys()
    if not id then
        return nil, "ses: no AWS keys (set WM_AWS_ACCESS_KEY_ID and WM_AWS_SECRET_ACCESS_KEY)", { sent = false }
    end
    local eml, mid = mime.build {
        from = msg.from, to = msg.to, subject = msg.subject, text = msg.text, html = msg.html,
        headers = msg.headers, message_id = msg.message_id, date = wm.now(),
    }
    if not eml then
        return nil, mid, { sent = false, permanent = true }
    end
    local c = cfg()
    local req = {
        FromEmailAddress = address(msg.from),
        Destination = { ToAddresses = { address(msg.to) } },
        Content = { Raw = { Data = wm.crypto.b64_encode(eml) } },
    }
    if type(c.configuration_set) == "string" and c.configuration_set ~= "" then
        req.ConfigurationSetName = c.configuration_set
    end
    if msg.campaign_id then
        req.EmailTags = { { Name = "campaign_id", Value = tostring(msg.campaign_id) } }
    end
    local headers = { ["Content-Type"] = "application/json" }
    if token then
        headers["x-amz-security-token"] = token
    end
    local res, err, info = core.request {
        method = "POST", url = _M.endpoint() .. "/v2/email/outbound-emails", headers = headers,
        body = wm.json.encode(req), timeout = c.timeout or 30, max_body = 65536,
        aws_sigv4 = "aws:amz:" .. (c.region or "us-east-1") .. ":ses",
        aws_access_key_id = id, aws_secret_access_key = secret,
    }
    if not res then
        if type(info) == "table" and info.body_sent == "all" then
            return nil, "ses: the request went out but SES did not answer (" .. tostring(err) .. ")",
                { sent = "unknown" }
        end
        return nil, "ses: " .. tostring(err), { sent = false }
    end
    if res.status ~= 200 then
        return _M.classify(res.status, res.headers, res.body)
    end
    local doc = wm.json.decode(res.body)
    local message_id = type(doc) == "table" and type(doc.MessageId) == "string" and doc.MessageId or nil
    if not message_id then
        -- Accepted, but its id is lost: notifications cannot name it, the
        -- email tag still can.
        wm.log.warn("ses: 200 without a MessageId", { campaign = msg.campaign_id })
    end
    return { message_id = message_id }
end

return _M
