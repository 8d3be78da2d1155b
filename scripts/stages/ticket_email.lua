-- ticket_email {id, kind}: tells the customer about their change request
-- through the mail provider (web.portal.account.send), in its turn in the
-- provider's rate limit (lib.mail_limit: before any campaign): "received"
-- (the acknowledgement, enqueued with the ticket) or "ready" (a new version
-- waits for their approval; `edited`: staff changed it). A "ready" email is
-- not sent once the request is decided or the proposal it was about is
-- replaced. The request is the customer's own text: the HTML escapes it
-- (lib.template), the text body keeps it as typed, the subject has none of it.
local outcome = require "lib.outcome"
local account = require "web.portal.account"
local mail_limit = require "lib.mail_limit"
local template = require "lib.template"
local text = require "lib.text"

-- Why a "ready" email would say what is no longer so (nil: send it): the
-- request was decided, or a newer proposal replaced this one (it has an
-- email of its own; a staff edit's email stands for whatever is proposed
-- when it goes).
local function stale_ready(t, p)
    if t.status ~= "awaiting_approval" then
        return "the request is " .. tostring(t.status) .. ", no longer waiting for approval"
    end
    if not p.edited and p.proposal and p.proposal ~= t.proposed_site_id then
        return "a newer proposal replaced the one this email was about"
    end
end

local HTML = [[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{subject}}</title></head>
<body style="margin:0;padding:24px 12px;background:#f4f4f5;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.55;color:#1f2937;">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:28px;">
<p>Hello {{name}},</p>
{{#received}}<p>We have your request to change <strong>{{business}}</strong>'s website:</p>
<blockquote style="margin:0 0 16px 0;padding:8px 12px;border-left:3px solid #d1d5db;color:#4b5563;white-space:pre-wrap;">{{request}}</blockquote>
<p>We will prepare the change and show it to you before anything goes live.</p>
{{/received}}{{#ready}}<p>The change you asked for on <strong>{{business}}</strong>'s website is ready for you to look at. Nothing is live until you approve it.</p>
{{/ready}}{{#edited}}<p>We adjusted the change you asked for on <strong>{{business}}</strong>'s website. It is ready for you to look at. Nothing is live until you approve it.</p>
{{/edited}}<p><a href="{{url}}" style="display:inline-block;padding:12px 22px;font-weight:600;color:#ffffff;background:#2563eb;text-decoration:none;border-radius:6px;">See your requests</a></p>
<p style="font-size:12px;color:#6b7280;">{{postal_address}}</p>
</div></body></html>
]]

return {
    kind = "ticket_email",
    concurrency = 2,
    timeout = 60,
    max_attempts = 5,
    run = function(job)
        local t, err = wm.db.one([[SELECT t.id, t.request_text, t.status, t.proposed_site_id, c.email, c.full_name,
                b.name AS business
            FROM support_tickets t JOIN customers c ON c.id = t.customer_id
            JOIN generated_sites g ON g.id = t.site_id JOIN businesses b ON b.id = g.business_id
            WHERE t.id = $1]], job.payload.id)
        if not t then
            return err and outcome.retry(err) or outcome.discard("no ticket " .. tostring(job.payload.id))
        end
        local ready = job.payload.kind == "ready"
        if ready then
            local stale = stale_ready(t, job.payload)
            if stale then
                wm.log.info("ticket_email: not sent: " .. stale, { ticket = t.id })
                return outcome.done()
            end
        end
        local later = mail_limit.turn("transactional")
        if later then
            return later
        end
        local edited = ready and job.payload.edited == true
        local name = text.line(t.full_name ~= wm.null and t.full_name or nil, 120) or "there"
        local business = text.line(t.business, 200) or "your business"
        local url = account.base_url() .. "/portal/support"
        local postal = text.line(wm.config.mail.postal_address, 400) or ""
        local subject = ready and "Your website change is ready to review" or "We received your change request"
        local body = { "Hello " .. name .. ",", "" }
        if ready then
            body[#body + 1] = (edited and "We adjusted the change you asked for on " or "The change you asked for on ")
                .. business .. "'s website" .. (edited and ". It" or "") .. " is ready for you to look at. "
                .. "Nothing is live until you approve it."
        else
            body[#body + 1] = "We have your request to change " .. business .. "'s website:"
            body[#body + 1] = ""
            body[#body + 1] = t.request_text
            body[#body + 1] = ""
            body[#body + 1] = "We will prepare the change and show it to you before anything goes live."
        end
        body[#body + 1] = ""
        body[#body + 1] = url
        body[#body + 1] = ""
        body[#body + 1] = "-- "
        body[#body + 1] = postal
        body[#body + 1] = ""
        local sent, failed = account.send(t, {
            subject = subject, text = table.concat(body, "\n"),
            html = template.render(HTML, { subject = subject, name = name, business = business, received = not ready,
                                           ready = ready and not edited, edited = edited, request = t.request_text, url = url,
                                           postal_address = postal }),
        })
        if not sent then
            return failed
        end
        assert(require("lib.activity").log("ticket.email_sent", "ticket", t.id,
            { kind = ready and "ready" or "received", message_id = sent.message_id }))
        return outcome.done()
    end,
}
