-- What the customer portal's pages (scripts/web/portal.lua), its email job
-- (scripts/stages/portal_welcome.lua) and `wm customers login-link` share:
-- the sign-in store over portal_links / portal_sessions, the link's
-- address, and the sign-in email.
--
--   account.store                       the lib.session store (cookie wm_portal, Path=/portal)
--   account.link_url(token) -> "<sites.base_url>/portal/login/<token>"
--   account.new_link(customer_id) -> url | nil, err     (a fresh single-use link)
--   account.email(customer, url, kind) -> {subject=, text=, html=}
--       customer = {full_name=, email=}; kind "welcome" (after the first
--       payment) or "link" (asked for again). Every value is the customer's
--       own text: the HTML escapes it (lib.template), the text body and the
--       subject lose control characters (lib.text.line).
--   account.send(customer, msg) -> sent | nil, outcome
--       msg = {subject=, text=, html=} to the customer ({email=, full_name=})
--       from mail.from_name / mail.from_email through the mail provider
--       (the portal's emails: sign-in links, change requests); the caller
--       has taken its turn in the rate limit first (lib.mail_limit). A
--       failure is the job's outcome: discarded when the provider says it is
--       permanent, snoozed when it throttles (no attempt spent: never lost
--       to a busy provider), else retried (after its retry_after).
local session = require "lib.session"
local template = require "lib.template"
local text = require "lib.text"

local _M = {}

_M.store = session.store { links = "portal_links", sessions = "portal_sessions", subject = "customer_id",
                           cookie = "wm_portal", path = "/portal", config = "portal" }

function _M.base_url()
    return (((wm.config.sites or {}).base_url or ""):gsub("/+$", ""))
end

function _M.link_url(token)
    return _M.base_url() .. "/portal/login/" .. token
end

function _M.new_link(customer_id)
    local token, err = _M.store:issue_link(customer_id)
    if not token then
        return nil, err
    end
    return _M.link_url(token)
end

local HTML = [[
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{subject}}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f5;">
<tbody><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background:#ffffff;border-radius:8px;">
<tbody><tr><td style="padding:28px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.55;color:#1f2937;">
<p style="margin:0 0 16px 0;">Hello {{name}},</p>
{{#welcome}}<p style="margin:0 0 16px 0;">Thank you for your payment. Your website is yours and online.</p>
{{/welcome}}<p style="margin:0 0 16px 0;">Your account shows your website, your plan, the next charge date and your payments, and lets you cancel at any time.</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 24px 0;"><tbody><tr><td style="border-radius:6px;background:#2563eb;">
<a href="{{url}}" style="display:inline-block;padding:12px 22px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">Open my account</a>
</td></tr></tbody></table>
<p style="margin:0 0 16px 0;font-size:14px;color:#4b5563;">The button works once, within {{minutes}} minutes. After that, open it anyway and ask for a new one. If you did not expect this email, you can ignore it.</p>
{{#from_name}}<p style="margin:0;">{{from_name}}</p>
{{/from_name}}</td></tr>
<tr><td style="padding:16px 28px 24px 28px;border-top:1px solid #e5e7eb;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:12px;line-height:1.5;color:#6b7280;">
<p style="margin:0;">{{postal_address}}</p>
</td></tr>
</tbody></table>
</td></tr>
</tbody></table>
</body>
</html>
]]

function _M.email(customer, url, kind)
    local mcfg = wm.config.mail or {}
    local name = text.line(customer.full_name ~= wm.null and customer.full_name or nil, 120) or "there"
    local minutes = math.floor(((wm.config.portal or {}).link_ttl or 900) / 60)
    local welcome = kind == "welcome"
    local subject = welcome and "Your website is live: your account" or "Your sign-in link"
    local postal = text.line(mcfg.postal_address, 400) or ""
    local from_name = text.line(mcfg.from_name, 100)
    local t = { "Hello " .. name .. ",", "" }
    if welcome then
        t[#t + 1] = "Thank you for your payment. Your website is yours and online."
        t[#t + 1] = ""
    end
    t[#t + 1] = "Your account shows your website, your plan, the next charge date and your payments, "
        .. "and lets you cancel at any time:"
    t[#t + 1] = ""
    t[#t + 1] = url
    t[#t + 1] = ""
    t[#t + 1] = ("The link works once, within %d minutes. After that, open it anyway and ask for a new one. "
        .. "If you did not expect this email, you can ignore it."):format(minutes)
    t[#t + 1] = ""
    if from_name then
        t[#t + 1] = from_name
    end
    t[#t + 1] = "-- "
    t[#t + 1] = postal
    t[#t + 1] = ""
    return {
        subject = subject,
        text = table.concat(t, "\n"),
        html = template.render(HTML, { subject = subject, name = name, welcome = welcome, url = url,
                                       minutes = minutes, from_name = from_name or false,
                                       postal_address = postal }),
    }
end

function _M.send(customer, msg)
    local mailer, name = require("lib.providers").get("mail")
    local mcfg = wm.config.mail
    local sent, err, info = mailer.send {
        from = { name = mcfg.from_name, email = mcfg.from_email },
        to = { name = customer.full_name ~= wm.null and customer.full_name or nil, email = customer.email },
        subject = msg.subject, text = msg.text, html = msg.html,
    }
    if sent then
        return sent
    end
    local outcome = require "lib.outcome"
    local why = "mail provider " .. name .. ": " .. tostring(err)
    if type(info) == "table" and info.permanent then
        return nil, outcome.discard(why)
    elseif type(info) == "table" and info.sent == false and info.throttled then
        return nil, outcome.snooze(info.retry_after or 60)
    end
    return nil, outcome.retry(why, type(info) == "table" and info.retry_after or nil)
end

return _M
