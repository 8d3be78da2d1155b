-- SendGrid end to end against tests/fakes/sendgrid.py: the send stage with
-- providers.mail = "sendgrid" (request shape, X-Message-Id kept, 429 and
-- errors answered as the contract says), the signed Event Webhook (forged,
-- stale, tampered and unsigned batches refused with nothing stored; a batch
-- delivered three times applied once per event; bounces, complaints and
-- events matched by sg_message_id), and Inbound Parse replies (matched,
-- auto-replies ignored, "stop" suppresses).
local T = {}

local codes = require "wm.core.jobs"
local replies = require "lib.replies"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start = dofile(here .. "/../fakes/start.lua")
local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")
local API_KEY = "SG.test-key"
local TOKEN = "inbound-token-0123456789abcdef"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local migrated = false
local fake

-- setup(t[, sendgrid config]) -> fake base URL
local function setup(t, extra)
    if not migrated then
        assert(require("wm.migrate").up())
        migrated = true
    end
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    -- The fake ends after 10 idle seconds (wm test waits for it before it
    -- exits: 120 made every run 2 minutes longer); one that ended in a pause
    -- between tests is started again: each test reads the key it signs
    -- with, and looks only at its own recipients' requests.
    local key = fake and wm.http.get(fake .. "/_key", { timeout = 10 })
    if not key then
        fake = start("sendgrid.py", "10", API_KEY)
        key = assert(wm.http.get(fake .. "/_key", { timeout = 10 }))
    end
    t.config("providers", { mail = "sendgrid" })
    t.config("mail", { rate_limits = { smtp = 0, sendgrid = 0, ses = 14 } })
    local s = { api_key = API_KEY, base_url = fake, timeout = 5, retry_after = 60, sandbox = false,
                webhook_public_key = wm.json.decode(key.body).public_key, webhook_tolerance = 300,
                inbound_token = TOKEN }
    for k, v in pairs(extra or {}) do
        s[k] = v
    end
    t.config("sendgrid", s)
    return fake
end

-- A business with a preview site and a pending campaign; local_part
-- scripts the fake. Its name has a comma, which SendGrid refuses in a
-- display name.
local function campaign(local_part)
    return mail.campaign { local_part = local_part, suffix = ", LLC", provider = "sendgrid" }
end

-- The fake's Mail Send requests for one recipient.
local function requests_for(email)
    local log = wm.json.decode(assert(wm.http.get(fake .. "/_log", { timeout = 10 })).body)
    local out = {}
    for _, e in ipairs(log) do
        local p = type(e.json) == "table" and e.json.personalizations
        if p and p[1].to[1].email == email then
            out[#out + 1] = e
        end
    end
    return out
end

function T.send_keeps_x_message_id_and_sends_the_parts(t)
    setup(t)
    local id, email = campaign()
    t.eq(mail.send(id).outcome, codes.COMPLETED)
    local reqs = requests_for(email)
    t.eq(#reqs, 1)
    local r = reqs[1]
    t.eq(r.status, 202)
    t.eq(r.auth, "Bearer " .. API_KEY)
    t.eq(r.content_type, "application/json")
    local c = mail.campaign_row(id)
    t.eq(c.status, "sent")
    t.eq(c.message_id, r.message_id, "X-Message-Id kept")
    t.eq(c.email_provider, "sendgrid")
    local j = r.json
    t.eq(j.from.email, wm.config.mail.from_email)
    t.eq(j.personalizations[1].to[1].name, "Shop " .. mail.made .. " LLC", "no comma for SendGrid to refuse")
    t.eq(j.subject, "Your new website")
    t.eq(j.content[1].type, "text/plain")
    t.eq(j.content[2].type, "text/html")
    t.match(j.content[2].value, "We built you a website")
    t.eq(j.custom_args.campaign_id, id)
    t.match(j.headers["List-Unsubscribe"], "^<http.*/u/")
    t.eq(j.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
    t.eq(replies.campaign_of(j.headers["Message-ID"]), id, "the Message-ID names the campaign")
    t.eq(j.tracking_settings.click_tracking.enable, false, "our own signed links stay as they are")
    t.eq(j.tracking_settings.open_tracking.enable, false)
    t.eq(mail.send(id).outcome, codes.COMPLETED, "a second run does nothing")
    t.eq(#requests_for(email), 1)
end

function T.throttled_429_waits_then_sends_once(t)
    setup(t)
    local id, email = campaign("throttle")
    local o = mail.send(id)
    t.eq(o.outcome, codes.SNOOZE, tostring(o))
    t.ok(o.delay >= 1 and o.delay <= 3, "waits until X-RateLimit-Reset (got " .. tostring(o.delay) .. ")")
    t.eq(mail.campaign_row(id).status, "pending")
    t.eq(mail.send(id).outcome, codes.COMPLETED)
    t.eq(mail.campaign_row(id).status, "sent")
    local reqs = requests_for(email)
    t.eq(#reqs, 2)
    t.eq(reqs[1].status, 429)
    t.eq(reqs[2].status, 202)
    t.eq(mail.campaign_row(id).message_id, reqs[2].message_id)
end

function T.errors_answer_as_the_contract_says(t)
    setup(t)
    local sendgrid = require "providers.mail.sendgrid"
    local msg = { from = { email = "hello@webmagic.example" }, to = "x@shop.test", subject = "s", text = "t" }
    -- A reserved header: SendGrid's 400 names it, and it is permanent.
    msg.headers = { ["Reply-To"] = "a@b.test" }
    local ok, err, info = sendgrid.send(msg)
    t.eq(ok, nil)
    t.match(err, "HTTP 400: The Reply%-To header is reserved")
    t.eq(info.sent, false)
    t.eq(info.permanent, true)
    msg.headers = nil
    -- A 500: SendGrid answered that it failed; try again.
    msg.to = "boom@shop.test"
    ok, err, info = sendgrid.send(msg)
    t.eq(ok, nil)
    t.eq(info.sent, false)
    t.eq(info.permanent, nil)
    -- A bad key is the operator's set-up, not the message.
    wm.config.sendgrid.api_key = "SG.wrong"
    msg.to = "x@shop.test"
    ok, err, info = sendgrid.send(msg)
    t.match(err, "HTTP 401")
    t.eq(info.sent, false)
    t.eq(info.permanent, false)
    -- Nothing reaches the fake that cannot be refused before it.
    wm.config.sendgrid.api_key = ""
    ok, err, info = sendgrid.send(msg)
    t.match(err, "WM_SENDGRID_API_KEY")
    t.eq(info.sent, false)
end

-- The Event Webhook -----------------------------------------------------------

local function server(t)
    return "http://127.0.0.1:" .. web.serve(t, { worker = true })
end

local function sign(ts, body)
    local r = assert(wm.http.request { method = "POST", url = fake .. "/_sign", body = body, timeout = 10,
                                       headers = { ["X-Timestamp"] = ts } })
    return wm.json.decode(r.body).signature
end

-- post_events(base, events|body[, o]) -> response; o = {ts=, signature=, signed_body=}
local function post_events(base, events, o)
    o = o or {}
    local body = type(events) == "string" and events or wm.json.encode(events)
    local ts = tostring(o.ts or math.floor(wm.now()))
    local headers = { ["Content-Type"] = "application/json",
                      ["X-Twilio-Email-Event-Webhook-Timestamp"] = ts,
                      ["X-Twilio-Email-Event-Webhook-Signature"] = o.signature or sign(ts, o.signed_body or body) }
    if o.unsigned then
        headers["X-Twilio-Email-Event-Webhook-Signature"] = nil
    end
    return assert(wm.http.request { method = "POST", url = base .. "/hooks/sendgrid", headers = headers,
                                    body = body, timeout = 20 })
end

local function settled(t)
    t.wait_for("mail events to settle", function()
        return count([[SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'sendgrid'
                AND status = 'received']]) == 0
            and count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_mail_events'
                AND status IN ('available', 'running', 'retryable', 'scheduled')]]) == 0
    end, 30)
end

local function event(cid, kind, extra)
    local e = { email = "x@shop.test", timestamp = math.floor(wm.now()), event = kind,
                sg_event_id = "sge-" .. wm.crypto.random_token(10), sg_message_id = "nomatch.filter0001.1.0",
                campaign_id = cid }
    for k, v in pairs(extra or {}) do
        e[k] = v ~= false and v or nil
    end
    return e
end

-- A campaign sent through the fake (so it has its X-Message-Id).
local function sent_campaign(local_part)
    local id, email, bid = campaign(local_part)
    assert(mail.send(id).outcome == codes.COMPLETED)
    return id, email, bid, mail.campaign_row(id).message_id
end

local function stored()
    return count("SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'sendgrid'")
end

function T.no_answer_after_the_request_went_out_stays_sending(t)
    setup(t, { timeout = 1 })
    local id, email = campaign("stall")
    local o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD, tostring(o))
    t.eq(mail.campaign_row(id).status, "sending", "SendGrid may have it: never sent again by itself")
    t.eq(mail.send(id).outcome, codes.DISCARD)
    t.eq(#requests_for(email), 1)
    -- SendGrid's 'processed' event proves it left: sent, with its X-Message-Id.
    local base = server(t)
    t.eq(post_events(base, { event(id, "processed", { sg_message_id = "StuckMsgId.filter0001.1.0" }) }).status, 200)
    settled(t)
    t.eq(mail.campaign_row(id).status, "sent")
    t.eq(mail.campaign_row(id).message_id, "StuckMsgId")
    -- Nothing listens: the request never went out, so it was not sent.
    wm.config.sendgrid.base_url = "http://127.0.0.1:1"
    local id2 = campaign()
    o = mail.send(id2)
    t.eq(o.outcome, codes.RETRY, tostring(o))
    t.eq(mail.campaign_row(id2).status, "pending")
end

function T.forged_stale_tampered_and_unsigned_batches_are_refused(t)
    setup(t)
    local base = server(t)
    local id = sent_campaign()
    local before = stored()
    local events = { event(id, "delivered") }
    local body = wm.json.encode(events)
    local now = math.floor(wm.now())
    local cases = {
        { "tampered", post_events(base, body:gsub("delivered", "bounce"), { signed_body = body }) },
        { "stale", post_events(base, body, { ts = now - 3600 }) },
        { "future", post_events(base, body, { ts = now + 3600 }) },
        { "other timestamp", post_events(base, body, { ts = now, signature = sign(tostring(now - 1), body) }) },
        { "garbage", post_events(base, body, { signature = "bm90IGEgc2lnbmF0dXJl" }) },
        { "unsigned", post_events(base, body, { unsigned = true }) },
    }
    -- A key that is not the one SendGrid signs with (a P-256 key of ours).
    local other = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEar0+tlcXtRwn6leJ9qemIve4S6XOjYy+4j/D6uVi5FczGjxS4DSdS1vcyFhDuiwvTXtrCaRqze7Pyzgebn4beQ=="
    wm.config.sendgrid.webhook_public_key = other
    cases[#cases + 1] = { "forged (another key)", post_events(base, body) }
    wm.config.sendgrid.webhook_public_key = ""
    cases[#cases + 1] = { "no key configured", post_events(base, body) }
    for _, c in ipairs(cases) do
        t.eq(c[2].status, 401, c[1])
    end
    t.eq(stored(), before, "nothing stored")
    t.eq(mail.campaign_row(id).status, "sent")
end

function T.a_batch_delivered_three_times_applies_each_event_once(t)
    setup(t)
    local base = server(t)
    local id, _, bid, mid = sent_campaign()
    local id2 = sent_campaign()
    local events = {
        event(id, "processed"),
        event(id, "delivered"),
        event(id, "open"),
        event(id, "open", { sg_machine_open = true }),
        -- No custom arg: found by the X-Message-Id that sg_message_id begins with.
        event(nil, "click", { sg_message_id = mid .. ".filter0001.16648.5515E0B88.0", url = "https://x.test/" }),
        event(id2, "bounce", { type = "bounce", reason = "550 5.1.1 unknown user", status = "5.1.1" }),
        event(nil, "delivered", { sg_message_id = "unknown.filter.0" }),
        event(id, "group_resubscribe"),
    }
    local answers = {}
    for i = 1, 3 do
        local res = post_events(base, events)
        t.eq(res.status, 200, "delivery " .. i)
        answers[i] = wm.json.decode(res.body)
    end
    t.eq(answers[1].duplicate, false)
    t.eq(answers[2].duplicate, true)
    t.eq(answers[3].duplicate, true)
    -- The same events again in another batch (a different body), with one more.
    local more = { events[2], events[6], event(id, "spamreport") }
    t.eq(post_events(base, more).status, 200)
    settled(t)
    local c = one([[SELECT status, delivered_at IS NOT NULL AS delivered, opened_count, clicked_count
        FROM campaigns WHERE id = $1]], id)
    t.eq(c.status, "complained", "the complaint came last")
    t.eq(c.delivered, true)
    t.eq(c.opened_count, 1, "the human open, once; the machine open is not one")
    t.eq(c.clicked_count, 1)
    t.eq(count("SELECT count(*)::int AS n FROM mail_events WHERE campaign_id = $1", id), 5,
         "processed, delivered, open, click, spamreport")
    t.eq(count("SELECT count(*)::int AS n FROM mail_events WHERE campaign_id = $1", id2), 1, "the bounce once")
    t.eq(one("SELECT reason FROM suppression_list s JOIN campaigns c ON s.email = lower(c.recipient_email) WHERE c.id = $1",
             id2).reason, "bounced")
    t.eq(mail.campaign_row(id2).status, "bounced")
    t.eq(one("SELECT reason FROM suppression_list WHERE campaign_id = $1", id).reason, "complained")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", bid).contact_status, "unsubscribed")
    t.eq(count([[SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'sendgrid' AND status = 'applied'
        AND error LIKE '%1 for no campaign of ours%']]), 1, "the unknown message is counted, not applied")
end

function T.blocked_is_a_soft_bounce_and_dropped_spam_is_a_complaint(t)
    setup(t)
    local base = server(t)
    local a = sent_campaign()
    local b = sent_campaign()
    t.eq(post_events(base, { event(a, "bounce", { type = "blocked", reason = "IP blocked" }),
                             event(b, "dropped", { reason = "Spam Reporting Address" }) }).status, 200)
    settled(t)
    t.eq(mail.campaign_row(a).status, "sent")
    t.eq(count("SELECT count(*)::int AS n FROM suppression_list WHERE campaign_id = $1", a), 0, "not suppressed")
    t.eq(count("SELECT count(*)::int AS n FROM mail_events WHERE campaign_id = $1 AND kind = 'soft_bounce'", a), 1)
    t.eq(mail.campaign_row(b).status, "complained")
end

function T.a_signed_body_that_is_not_an_array_is_400_and_kept_failed(t)
    setup(t)
    local base = server(t)
    local res = post_events(base, '{"event":"delivered"}')
    t.eq(res.status, 400)
    t.eq(count([[SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'sendgrid' AND status = 'failed'
        AND body = '{"event":"delivered"}']]), 1)
end

-- Inbound Parse ---------------------------------------------------------------

local function multipart(fields)
    local b = "xYzZY" .. wm.crypto.random_token(8)
    local parts = {}
    for k, v in pairs(fields) do
        parts[#parts + 1] = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"" .. k .. "\"\r\n\r\n" .. v .. "\r\n"
    end
    return table.concat(parts) .. "--" .. b .. "--\r\n", "multipart/form-data; boundary=" .. b
end

local function inbound(base, fields, token)
    local body, ctype = multipart(fields)
    return assert(wm.http.request { method = "POST", url = base .. "/hooks/sendgrid-inbound/" .. (token or TOKEN),
                                    headers = { ["Content-Type"] = ctype }, body = body, timeout = 20 })
end

local function inbound_mail(from, extra_headers, text, subject)
    local mid = "<" .. wm.crypto.random_token(12) .. "@mail.shop.test>"
    return {
        headers = "Received: by mx.sendgrid.net\r\nFrom: Owner <" .. from .. ">\r\nMessage-ID: " .. mid .. "\r\n"
            .. (extra_headers or ""),
        from = "Owner <" .. from .. ">", to = "hello@webmagic.example", subject = subject or "Re: Your new website",
        text = text, envelope = wm.json.encode({ to = { "hello@webmagic.example" }, from = from }),
        charsets = '{"text":"UTF-8"}', SPF = "pass",
    }
end

local function cstate(id)
    return one([[SELECT c.status, c.replied_at IS NOT NULL AS replied, b.contact_status,
            (SELECT reason FROM suppression_list s WHERE s.email = lower(c.recipient_email)) AS suppressed
        FROM campaigns c JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], id)
end

function T.inbound_reply_is_matched_and_stored_once(t)
    setup(t)
    local base = server(t)
    local id, email = sent_campaign()
    local ours = replies.message_id(id, "webmagic.example")
    local m = inbound_mail("someone-else@other.test", "In-Reply-To: " .. ours .. "\r\nReferences: <a@b> " .. ours .. "\r\n",
                   "Yes, I like it! How much?\1\r\n\r\nOn Mon, WebMagic wrote:\r\n> Unsubscribe here")
    local res = inbound(base, m)
    t.eq(res.status, 200)
    t.eq(wm.json.decode(res.body).kind, "reply")
    t.eq(wm.json.decode(res.body).matched, true)
    t.eq(inbound(base, m).status, 200, "Inbound Parse retrying")
    local s = cstate(id)
    t.eq(s.status, "replied")
    t.eq(s.replied, true)
    t.eq(s.contact_status, "replied")
    t.eq(s.suppressed, wm.null, "our own footer quoted back is not a request to stop")
    local r = one("SELECT count(*)::int AS n, min(body_text) AS text, min(kind) AS kind FROM mail_replies WHERE campaign_id = $1", id)
    t.eq(r.n, 1)
    t.eq(r.kind, "reply")
    t.no_match(r.text, "\1", "control characters removed")
    t.match(r.text, "How much%?")
    -- Matched by the address it came from when it names no Message-ID of ours.
    local id2, email2 = sent_campaign()
    t.eq(inbound(base, inbound_mail(email2:upper(), nil, "Call me tomorrow")).status, 200)
    t.eq(cstate(id2).status, "replied")
    t.ne(email, email2)
end

function T.auto_replies_and_dsns_are_kept_but_not_counted(t)
    setup(t)
    local base = server(t)
    local id, email = sent_campaign()
    local ours = replies.message_id(id, "webmagic.example")
    local cases = {
        inbound_mail(email, "Auto-Submitted: auto-replied\r\nIn-Reply-To: " .. ours .. "\r\n", "I am away until Monday."),
        inbound_mail(email, "In-Reply-To: " .. ours .. "\r\n", "Back soon.", "Out of Office: Your new website"),
        inbound_mail(email, "In-Reply-To: " .. ours .. "\r\n", "Estoy de vacaciones.", "Respuesta automática: Your site"),
        inbound_mail("MAILER-DAEMON@mx.shop.test", "Content-Type: multipart/report; report-type=delivery-status\r\n",
             "Delivery failed.\r\nMessage-ID: " .. ours, "Undelivered Mail Returned to Sender"),
    }
    local kinds = {}
    for i, m in ipairs(cases) do
        local res = inbound(base, m)
        t.eq(res.status, 200, "case " .. i)
        kinds[i] = wm.json.decode(res.body).kind
    end
    t.eq(kinds, { "auto_reply", "auto_reply", "auto_reply", "bounce" })
    local s = cstate(id)
    t.eq(s.status, "sent")
    t.eq(s.replied, false)
    t.eq(count("SELECT count(*)::int AS n FROM mail_replies WHERE campaign_id = $1", id), 4, "all kept")
end

function T.a_reply_saying_stop_suppresses(t)
    setup(t)
    local base = server(t)
    local id, email = sent_campaign()
    t.eq(inbound(base, inbound_mail(email, nil, "STOP. Remove me from your list.")).status, 200)
    local s = cstate(id)
    t.eq(s.suppressed, "unsubscribed")
    t.eq(s.contact_status, "unsubscribed")
    t.eq(one("SELECT kind FROM mail_replies WHERE campaign_id = $1", id).kind, "unsubscribe")
end

function T.inbound_needs_its_secret_path(t)
    setup(t)
    local base = server(t)
    local _, email = sent_campaign()
    local before = count("SELECT count(*)::int AS n FROM mail_replies")
    t.eq(inbound(base, inbound_mail(email, nil, "hi"), "wrong-token-0123456789abcdef").status, 404)
    wm.config.sendgrid.inbound_token = "short"
    t.eq(inbound(base, inbound_mail(email, nil, "hi"), "short").status, 404, "a short token is no secret")
    wm.config.sendgrid.inbound_token = TOKEN
    t.eq(inbound(base, { email = "From: " .. email .. "\r\n\r\nhi", to = "x@y", envelope = "{}" }).status, 400,
         "the raw form is refused, not half read")
    t.eq(count("SELECT count(*)::int AS n FROM mail_replies"), before)
end


-- lib.replies and form.multipart on their own (the IMAP path reuses them) ------

function T.classify_replies(t)
    local h = replies.headers
    local function kind(headers, subject, text, from)
        return (replies.classify { headers = h(headers or ""), subject = subject, text = text, from = from })
    end
    t.eq(kind(nil, "Re: Your site", "Looks great, call me."), "reply")
    t.eq(kind("Auto-Submitted: auto-generated\r\n", "Re: Your site", "stop"), "auto_reply",
         "an auto-reply is never a request to stop")
    t.eq(kind("Auto-Submitted: no\r\n", "Re: Your site", "thanks"), "reply")
    t.eq(kind("X-Autoreply: yes\r\n", "Re: Your site", "x"), "auto_reply")
    t.eq(kind("Precedence: auto_reply\r\n", "Re: x", "x"), "auto_reply")
    t.eq(kind(nil, "Automatic reply: Your site", "x"), "auto_reply")
    t.eq(kind(nil, "Fuera de la oficina", "x"), "auto_reply")
    t.eq(kind(nil, "Delivery Status Notification (Failure)", "x", "mailer-daemon@googlemail.com"), "bounce")
    t.eq(kind("Content-Type: multipart/report;\r\n report-type=delivery-status; boundary=x\r\n", "x", "x"),
         "bounce", "a folded Content-Type is unfolded")
    t.eq(kind(nil, "Re: Your site", "Please remove me."), "unsubscribe")
    t.eq(kind(nil, "Re: Your site", "UNSUBSCRIBE"), "unsubscribe")
    t.eq(kind(nil, "Re: Your site", "Por favor darme de baja"), "unsubscribe")
    t.eq(kind(nil, "Re: Your site", "Nonstop service here, how much?"), "reply", "whole words only")
    t.eq(kind(nil, "Re: Your site", "Sounds good\n\nOn Tue, WebMagic <hello@x> wrote:\nUnsubscribe: https://x/u/1"),
         "reply", "the quoted email below is not the person's words")
    t.eq(kind(nil, "Re: Your site", "Sounds good\n> To stop these emails, unsubscribe"), "reply")
end

function T.message_ids_name_their_campaign_and_cannot_be_forged(t)
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    local id = "0e3c9f7a-1b2c-4d5e-8f90-123456789abc"
    local mid = replies.message_id(id, "WebMagic.example")
    t.match(mid, "^<wm%.%x+@webmagic%.example>$")
    t.eq(replies.campaign_of("<other@x> " .. mid), id)
    t.eq(replies.campaign_of(mid:upper()), id, "case folded by a relay")
    local forged = mid:gsub("0e3c9f7a", "1e3c9f7a")
    t.eq(replies.campaign_of(forged), nil)
    t.eq(replies.campaign_of("<wm.abc@x>"), nil)
end

function T.multipart_form_data(t)
    local form = require "lib.form"
    local body = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nline 1\r\n--XyZ in text\r\n"
        .. "--XyZ\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"a.bin\"\r\n"
        .. "Content-Type: application/octet-stream\r\n\r\n\0\1\2\r\n--XyZ--\r\n"
    local f = assert(form.multipart(body, 'multipart/form-data; boundary="XyZ"'))
    t.eq(f.text, "line 1\r\n--XyZ in text")
    t.eq(f.attachment1, "\0\1\2")
    t.eq(form.multipart(body, "application/json"), nil)
    t.eq(form.multipart("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "multipart/form-data; boundary=XyZ"),
         nil, "a truncated body is refused")
    t.eq(form.multipart((body:gsub("\r\n", "\n")), "multipart/form-data; boundary=XyZ"), nil,
         "bare LF line ends are refused (lib.uploads' strict reader)")
    t.eq(form.multipart("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\n"
        .. "Content-Disposition: form-data; name=\"a\"; filename=\"a.txt\"\r\n\r\n2\r\n--XyZ--",
        "multipart/form-data; boundary=XyZ"), { a = "1" }, "the first of repeated names")
end

return T
