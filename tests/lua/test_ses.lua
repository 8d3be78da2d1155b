-- The ses mail provider through the real send stage, against tests/fakes/ses.py
-- (SES v2 shapes; it recomputes each request's AWS Signature Version 4 from
-- the request as it arrived, so a request curl signed wrong is refused), and
-- POST /hooks/ses with SNS messages signed by the fake with a throwaway
-- certificate (python3-cryptography: the string to sign is written there
-- again, so a mistake in lib/sns.lua cannot be mirrored by the signer).
local T = {}

local codes = require "wm.core.jobs"
local ses = require "providers.mail.ses"

local KEY_ID, SECRET, REGION = "AKIDTESTM3", "m3/secret+key", "eu-west-1"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local start = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*/[^/]*$") or "tests") .. "/fakes/start.lua")
local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")

local fake

local function post_json(path, doc)
    local res = assert(wm.http.request { method = "POST", url = fake .. path, body = wm.json.encode(doc),
                                         headers = { ["Content-Type"] = "application/json" } })
    assert(res.status == 200, path .. ": " .. res.status .. " " .. res.body)
    return wm.json.decode(res.body)
end

local function get_json(path)
    local res = assert(wm.http.request { url = fake .. path })
    return wm.json.decode(res.body)
end

local function setup(t, o)
    o = o or {}
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    fake = start("ses.py", "30", KEY_ID, SECRET, REGION)
    t.config("providers", { mail = "ses" })
    t.config("aws", { access_key_id = KEY_ID, secret_access_key = o.secret or SECRET, session_token = o.token or "" })
    local m = {}
    for k, v in pairs(wm.config.mail.ses) do
        m[k] = v
    end
    m.region, m.endpoint, m.timeout, m.retry_after = REGION, fake, o.timeout or 10, 7
    m.sns_topics = o.topics or ""
    m.sns_url_pattern = "^http://127%.0%.0%.1:" .. fake:match(":(%d+)$") .. "/"
    t.config("mail", { ses = m, rate_limits = { smtp = 0, sendgrid = 0, ses = 14 } })
end

-- ---- sending ----

function T.send_keeps_the_message_id_and_signs_with_sigv4(t)
    setup(t, { token = "session-token-xyz" })
    local id, email = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.COMPLETED, tostring(o.error))
    local sent = get_json("/_fake/sent")
    t.eq(#sent, 1)
    local c = mail.campaign_row(id)
    t.eq(c.status, "sent")
    t.eq(c.email_provider, "ses")
    t.eq(c.message_id, sent[1].message_id, "the SES MessageId is kept")
    -- The fake recomputed the signature; its shape and scope are checked here too.
    local auth = sent[1].authorization
    t.match(auth, "^AWS4%-HMAC%-SHA256 Credential=" .. KEY_ID .. "/%d%d%d%d%d%d%d%d/" .. REGION:gsub("%-", "%%-")
        .. "/ses/aws4_request, SignedHeaders=[%w;%-]+, Signature=%x+$")
    t.match(auth, "SignedHeaders=[^,]*host")
    t.eq(auth:match("Credential=[^/]+/(%d+)/"), sent[1].amz_date:sub(1, 8))
    t.eq(sent[1].security_token, "session-token-xyz")
    t.no_match(auth, SECRET:gsub("%p", "%%%0"), "the secret never travels")
    -- The raw MIME message, with the campaign's tag.
    local req = sent[1].request
    t.eq(req.Destination.ToAddresses[1], email)
    t.eq(req.EmailTags[1].Name, "campaign_id")
    t.eq(req.EmailTags[1].Value, id)
    t.match(sent[1].raw, "\r\nList%-Unsubscribe%-Post: List%-Unsubscribe=One%-Click\r\n")
    t.match(sent[1].raw, "\r\nTo: [^\r]*" .. email:gsub("%p", "%%%0"))
    t.eq(count("SELECT count(*)::int AS n FROM rate_limits WHERE name = 'mail:ses'"), 1,
         "the shared rate limit (mail.rate_limits.ses) was taken")
end

function T.sigv4_option_misuse_raises_without_the_secret(t)
    local function try(o)
        local ok, err = pcall(wm.http.request, o)
        t.eq(ok, false)
        t.no_match(tostring(err), "s3cr3t", "the secret stays out of the message")
        return tostring(err)
    end
    local base = { method = "POST", url = "http://127.0.0.1:1/", body = "{}", aws_access_key_id = "AKID",
                   aws_secret_access_key = "s3cr3t" }
    local function with(k, v)
        local o = {}
        for kk, vv in pairs(base) do
            o[kk] = vv
        end
        o[k] = v
        return o
    end
    t.match(try(with("aws_sigv4", "aws:amz:us-east-1:ses:extra")), "aws_sigv4")
    t.match(try(with("aws_sigv4", "aws amz")), "aws_sigv4")
    t.match(try(with("aws_sigv4", 5)), "aws_sigv4")
    local o = with("aws_sigv4", "aws:amz:us-east-1:ses")
    o.aws_secret_access_key = ""
    t.match(try(o), "aws_secret_access_key")
    -- Well formed: a request, refused by nobody listening, with nothing sent.
    local res, err, info = wm.http.request(with("aws_sigv4", "aws:amz:us-east-1:ses"))
    t.eq(res, nil)
    t.eq(err, "connect")
    t.eq(info.body_sent, "none")
end

function T.a_wrong_secret_is_refused_by_the_signature_check_and_retried(t)
    setup(t, { secret = "not-the-secret" })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY, "a set-up problem is no reason to fail the message")
    t.match(tostring(o.error), "SignatureDoesNotMatch")
    t.eq(mail.campaign_row(id).status, "pending")
    t.eq(#get_json("/_fake/sent"), 0)
end

function T.throttled_then_sent_once(t)
    setup(t)
    local id = mail.campaign()
    post_json("/_fake/queue", { status = 429, error = "TooManyRequestsException",
                                message = "Maximum sending rate exceeded.", retry_after = 3 })
    local o = mail.send(id)
    t.eq(o.outcome, codes.SNOOZE, "throttling waits without spending an attempt")
    t.eq(o.delay, 3, "Retry-After is honoured")
    t.eq(mail.campaign_row(id).status, "pending")
    -- SES v1's form (400 Throttling, XML) is throttling too.
    post_json("/_fake/queue", { status = 400, error = "Throttling", message = "Maximum sending rate exceeded.",
                                xml = true })
    o = mail.send(id)
    t.eq(o.outcome, codes.SNOOZE)
    t.eq(o.delay, 7, "mail.ses.retry_after without a Retry-After")
    o = mail.send(id)
    t.eq(o.outcome, codes.COMPLETED, tostring(o.error))
    t.eq(mail.campaign_row(id).status, "sent")
    t.eq(#get_json("/_fake/sent"), 1, "one message at the fake")
    t.eq(get_json("/_fake/stats").sends, 3)
end

function T.refusals_are_permanent_and_5xx_retried(t)
    setup(t)
    for _, e in ipairs({ "MessageRejected", "MailFromDomainNotVerifiedException" }) do
        local id = mail.campaign()
        post_json("/_fake/queue", { status = 400, error = e, message = "Email address is not verified." })
        local o = mail.send(id)
        t.eq(o.outcome, codes.DISCARD, e)
        local c = mail.campaign_row(id)
        t.eq(c.status, "failed", e)
        t.match(c.error_message, e)
    end
    local id = mail.campaign()
    post_json("/_fake/queue", { status = 503, error = "ServiceUnavailable", message = "try later" })
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY)
    t.eq(mail.campaign_row(id).status, "pending")
    o = mail.send(id)
    t.eq(o.outcome, codes.COMPLETED)
    t.eq(#get_json("/_fake/sent"), 1)
end

function T.no_answer_after_the_request_went_out_stays_sending(t)
    setup(t, { timeout = 1 })
    local id = mail.campaign()
    post_json("/_fake/queue", { stall = 3 })
    local o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD)
    t.eq(mail.campaign_row(id).status, "sending", "SES may have sent it: never again by itself")
    o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD, "a second run does not send it")
    t.eq(get_json("/_fake/stats").sends, 1)
    -- Nothing listening: nothing can have gone out.
    local id2 = mail.campaign()
    wm.config.mail.ses.endpoint = "http://127.0.0.1:1"
    o = mail.send(id2)
    t.eq(o.outcome, codes.RETRY)
    t.eq(mail.campaign_row(id2).status, "pending")
end

function T.missing_keys_leave_it_pending(t)
    setup(t)
    wm.config.aws.secret_access_key = ""
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY)
    t.match(tostring(o.error), "WM_AWS_SECRET_ACCESS_KEY")
    t.eq(mail.campaign_row(id).status, "pending")
    t.eq(ses.endpoint(), fake)
end

-- ---- SNS: POST /hooks/ses ----

local TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"

local function hooks(t)
    setup(t, { topics = "arn:aws:sns:eu-west-1:123456789012:other " .. TOPIC })
    require("lib.sns").reset()
    t.defer(function() require("lib.sns").reset() end)
    return "http://127.0.0.1:" .. web.serve(t, { worker = true })
end

local function sns_id()
    return wm.crypto.random_token(12):gsub("[^%w]", "x")
end

-- The fake signs the message (its own string to sign, its own key).
local function signed(fields)
    local m = { Type = "Notification", MessageId = sns_id(), TopicArn = TOPIC,
                Timestamp = "2026-11-29T12:00:00.000Z", SignatureVersion = "1",
                UnsubscribeURL = fake .. "/?Action=Unsubscribe&SubscriptionArn=x" }
    for k, v in pairs(fields) do
        m[k] = v
    end
    return post_json("/_fake/sign", m)
end

-- An SES event as SNS carries it: Message is a string of JSON.
local function ses_event(o)
    local ev = { mail = { timestamp = "2026-11-29T11:59:00.000Z", source = "hello@webmagic.example",
                          messageId = o.message_id, destination = { o.email or "x@shop.test" },
                          tags = o.tag and { campaign_id = { o.tag } } or nil } }
    ev[o.spelling or "notificationType"] = o.type
    if o.type == "Bounce" then
        ev.bounce = { bounceType = o.bounce_type or "Permanent", bounceSubType = "General",
                      bouncedRecipients = { { emailAddress = o.email, action = "failed", status = "5.1.1",
                                              diagnosticCode = "smtp; 550 5.1.1 user unknown" } },
                      timestamp = "2026-11-29T12:00:01.000Z", feedbackId = o.feedback or sns_id(),
                      reportingMTA = "dsn; a27-23.smtp-out.eu-west-1.amazonses.com" }
    elseif o.type == "Complaint" then
        ev.complaint = { complainedRecipients = { { emailAddress = o.email } }, complaintFeedbackType = "abuse",
                         timestamp = "2026-11-29T12:00:02.000Z", feedbackId = o.feedback or sns_id() }
    elseif o.type == "Delivery" then
        ev.delivery = { timestamp = "2026-11-29T12:00:03.000Z", processingTimeMillis = 546,
                        recipients = { o.email }, smtpResponse = "250 ok: Message 64111812 accepted",
                        reportingMTA = "a8-70.smtp-out.amazonses.com" }
    end
    return wm.json.encode(ev)
end

local function deliver(base, msg, o)
    o = o or {}
    local body = type(msg) == "string" and msg or wm.json.encode(msg)
    return assert(wm.http.request { method = "POST", url = base .. "/hooks/ses", body = body, timeout = 20,
        headers = { ["Content-Type"] = "text/plain; charset=UTF-8",
                    ["x-amz-sns-message-type"] = o.type or (type(msg) == "table" and msg.Type) or nil } })
end

local function settled(t)
    t.wait_for("SES events to settle", function()
        return count([[SELECT count(*)::int AS n FROM webhook_events WHERE status = 'received']]) == 0
            and count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_ses_event'
                AND status IN ('available', 'running', 'retryable', 'scheduled')]]) == 0
    end, 30)
end

local function stored()
    return count("SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'ses'")
end

local function copy(m)
    local c = {}
    for k, v in pairs(m) do
        c[k] = v
    end
    return c
end

function T.sns_forgeries_are_refused_before_anything_is_stored(t)
    local base = hooks(t)
    local good = signed { Message = ses_event { type = "Delivery", message_id = "m-1" } }

    local function refused(m, why, want)
        local res = deliver(base, m)
        t.eq(res.status, want or 403, why .. ": " .. res.body)
    end
    local m = copy(good)
    m.TopicArn = "arn:aws:sns:eu-west-1:123456789012:someone-else"
    refused(m, "a topic not in mail.ses.sns_topics")
    m = copy(good)
    m.Message = ses_event { type = "Bounce", message_id = "m-1", email = "x@shop.test" }
    refused(m, "a tampered Message")
    m = copy(good)
    m.Subject = "added after signing"
    refused(m, "a Subject added after signing")
    m = copy(good)
    m.Signature = signed({ Message = "other" }).Signature
    refused(m, "another message's signature")
    m = copy(good)
    m.SignatureVersion = "2"
    refused(m, "signed as version 1, claimed as 2")
    m = copy(good)
    m.SignatureVersion = "3"
    refused(m, "an unknown SignatureVersion")
    -- The tampered ones were checked against the real certificate, fetched once.
    t.eq(get_json("/_fake/stats").cert_fetches, 1)
    for _, url in ipairs({
        fake:gsub("127%.0%.0%.1", "127.0.0.2") .. "/SimpleNotificationService-fake.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.test/SimpleNotificationService-fake.pem",
        "https://sns.eu-west-1.amazonaws.com@127.0.0.1/SimpleNotificationService-fake.pem",
        fake .. "/SimpleNotificationService-fake.pem?x=1",
        fake .. "/cert.txt",
        fake .. "/../SimpleNotificationService-fake.pem",
    }) do
        -- Signed by the fake for that URL: only the address is wrong.
        refused(signed { Message = good.Message, SigningCertURL = url }, "certificate at " .. url)
    end
    t.eq(get_json("/_fake/stats").cert_fetches, 1, "no certificate fetched from a refused address")
    refused("{not json", "not JSON", 400)
    local res = deliver(base, good, { type = "SubscriptionConfirmation" })
    t.eq(res.status, 400, "x-amz-sns-message-type names another type")
    t.eq(stored(), 0, "nothing stored")

    -- The real thing, both signature versions, is taken.
    t.eq(deliver(base, good).status, 200)
    t.eq(deliver(base, signed { Message = good.Message, SignatureVersion = "2" }).status, 200)
    t.eq(stored(), 2)
    settled(t)
    t.eq(get_json("/_fake/stats").cert_fetches, 1, "one fetch, then the cache")
end

function T.sns_certificate_is_cached_in_var(t)
    local base = hooks(t)
    local m = signed { Message = ses_event { type = "Delivery", message_id = "m-2" } }
    t.eq(deliver(base, m).status, 200)
    local before = get_json("/_fake/stats").cert_fetches
    t.eq(before, 1)
    local dir = wm.config.paths.var .. "/sns-certs"
    local files = wm.fs.list_dir(dir)
    t.eq(#files, 1, "one certificate file")
    -- A new process (an empty memory cache) reads the file, not the network.
    require("lib.sns").reset()
    t.eq(deliver(base, signed { Message = m.Message }).status, 200)
    t.eq(get_json("/_fake/stats").cert_fetches, before)
end

function T.sns_subscription_confirmed_once(t)
    local base = hooks(t)
    local url = fake .. "/?Action=ConfirmSubscription&TopicArn=" .. TOPIC .. "&Token=tok-1"
    local conf = signed { Type = "SubscriptionConfirmation", Token = "tok-1", SubscribeURL = url,
                          Message = "You have chosen to subscribe to the topic " .. TOPIC .. "." }
    t.eq(deliver(base, conf).status, 200)
    t.eq(deliver(base, conf).status, 200, "the same delivery again")
    settled(t)
    -- SNS sends the confirmation again as a new message (new MessageId).
    local again = signed { Type = "SubscriptionConfirmation", Token = "tok-1", SubscribeURL = url,
                           Message = conf.Message }
    t.eq(deliver(base, again).status, 200)
    settled(t)
    local confirms = get_json("/_fake/stats").confirms
    t.eq(#confirms, 1, "SubscribeURL fetched once")
    t.eq(confirms[1].Token, "tok-1")
    local sub = one("SELECT * FROM sns_subscriptions WHERE topic_arn = $1", TOPIC)
    t.eq(sub.subscription_arn, TOPIC .. ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")
    t.ok(sub.confirmed_at ~= wm.null)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'ses' AND status = 'applied'"), 1)
    -- A SubscribeURL that is not an SNS address is never fetched.
    local evil = signed { Type = "SubscriptionConfirmation", Token = "tok-2",
                          SubscribeURL = "http://127.0.0.2:9/?Action=ConfirmSubscription&Token=tok-2",
                          Message = conf.Message }
    t.eq(deliver(base, evil).status, 200)
    settled(t)
    t.eq(one("SELECT status FROM webhook_events WHERE provider = 'ses' AND event_id = $1", evil.MessageId).status,
         "failed")
    t.eq(#get_json("/_fake/stats").confirms, 1)
end

-- Campaigns sent through the ses provider (their SES MessageIds kept).
local function sent_campaigns(t, k)
    local out = {}
    for i = 1, k do
        local id, email, business = mail.campaign()
        t.eq(mail.send(id).outcome, codes.COMPLETED)
        out[i] = { id = id, email = email, business = business, message_id = mail.campaign_row(id).message_id }
    end
    return out
end

function T.sns_bounce_complaint_delivery_effects(t)
    local base = hooks(t)
    local c = sent_campaigns(t, 5)
    local function note(o)
        local m = signed { Message = ses_event(o) }
        t.eq(deliver(base, m).status, 200)
        return m
    end
    note { type = "Delivery", message_id = c[1].message_id, email = c[1].email }
    note { type = "Bounce", spelling = "eventType", message_id = c[2].message_id, email = c[2].email }
    note { type = "Bounce", bounce_type = "Transient", message_id = c[3].message_id, email = c[3].email }
    note { type = "Complaint", message_id = c[4].message_id, email = c[4].email }
    -- No message id of ours, but our email tag (event publishing): still found.
    note { type = "Delivery", spelling = "eventType", message_id = "not-ours", tag = c[5].id, email = c[5].email }
    note { type = "Delivery", message_id = "someone-elses-message" }
    note { type = "Send", spelling = "eventType", message_id = c[1].message_id }
    settled(t)

    local function row(i)
        return one([[SELECT c.status, c.delivered_at, b.contact_status,
                (SELECT reason FROM suppression_list WHERE email = lower(c.recipient_email)) AS suppressed
            FROM campaigns c JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], c[i].id)
    end
    local r = row(1)
    t.eq(r.status, "delivered")
    t.ok(r.delivered_at ~= wm.null)
    t.eq(one("SELECT extract(epoch FROM delivered_at)::float8 AS e FROM campaigns WHERE id = $1", c[1].id).e,
         require("lib.ses_events").epoch("2026-11-29T12:00:03.000Z"), "the event's own time")
    r = row(2)
    t.eq(r.status, "bounced", "permanent bounce, eventType spelling")
    t.eq(r.suppressed, "bounced")
    t.eq(r.contact_status, "bounced")
    r = row(3)
    t.eq(r.status, "sent", "a transient bounce changes nothing")
    t.eq(r.suppressed, wm.null)
    t.eq(count("SELECT count(*)::int AS n FROM mail_events WHERE campaign_id = $1 AND kind = 'soft_bounce'",
               c[3].id), 1, "but is recorded")
    r = row(4)
    t.eq(r.status, "complained")
    t.eq(r.suppressed, "complained")
    t.eq(row(5).status, "delivered", "matched by the campaign_id tag")
    t.eq(count([[SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'ses' AND status = 'ignored']]), 2,
         "a message of no campaign of ours and a Send event are kept, without effect")
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events WHERE provider = 'ses' AND status = 'failed'"), 0)
end

function T.sns_replayed_three_times_applies_once(t)
    local base = hooks(t)
    local c = sent_campaigns(t, 1)[1]
    local feedback = sns_id()
    local m = signed { Message = ses_event { type = "Bounce", message_id = c.message_id, email = c.email,
                                             feedback = feedback } }
    for _ = 1, 3 do
        local res = deliver(base, m)
        t.eq(res.status, 200)
    end
    -- The same bounce by the other route (a configuration set's topic): a
    -- new SNS message, the same feedbackId.
    t.eq(deliver(base, signed { Message = ses_event { type = "Bounce", spelling = "eventType",
        message_id = c.message_id, email = c.email, feedback = feedback } }).status, 200)
    settled(t)
    t.eq(stored(), 2, "one row per SNS message")
    t.eq(count("SELECT count(*)::int AS n FROM mail_events WHERE campaign_id = $1", c.id), 1, "applied once")
    t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE entity_id = $1::uuid
        AND action = 'delivery.bounced']], c.id), 1)
    t.eq(one("SELECT status FROM campaigns WHERE id = $1", c.id).status, "bounced")
end

function T.sns_failed_event_is_replayed_by_its_own_job(t)
    local base = hooks(t)
    local c = sent_campaigns(t, 1)[1]
    wm.jobs.stop_worker(5)
    local m = signed { Message = ses_event { type = "Bounce", message_id = c.message_id, email = c.email } }
    t.eq(deliver(base, m).status, 200)
    -- As if every attempt had failed (the database was away).
    local ev = one([[UPDATE webhook_events SET status = 'failed' WHERE provider = 'ses' AND event_id = $1
        RETURNING id]], m.MessageId)
    assert(wm.db.query("DELETE FROM jobs WHERE kind = 'apply_ses_event'"))
    t.eq(require("domain.webhook_events").replay(ev.id), "enqueued")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_ses_event' AND status = 'available'"), 1)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'apply_webhook'"), 0, "not the payments job")
    assert(wm.jobs.start_worker { cron = false })
    settled(t)
    t.eq(one("SELECT status FROM webhook_events WHERE id = $1", ev.id).status, "applied")
    t.eq(one("SELECT status FROM campaigns WHERE id = $1", c.id).status, "bounced")
end

-- Production keeps mail.ses.sns_url_pattern's default: only https and
-- sns.<region>.amazonaws.com, whatever else the URL tries.
function T.sns_addresses_with_the_default_pattern(t)
    local sns = require "lib.sns"
    t.eq(wm.config.mail.ses.sns_url_pattern, "^https://sns%.[a-z0-9-]+%.amazonaws%.com/")
    local cert = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
    t.eq(sns.url_ok(cert, true), true)
    t.eq(sns.url_ok("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
        .. "arn:aws:sns:eu-west-1:123456789012:t&Token=2336412f37f", false), true, "a SubscribeURL")
    for _, url in ipairs({
        cert:gsub("^https", "http"),
        "https://sns.us-east-1.amazonaws.com.evil.test/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com@evil.test/SimpleNotificationService-1.pem",
        "https://evil.test@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://evil.test/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://xsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?x=.pem",
        "https://sns.us-east-1.amazonaws.com/a/../../SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem.txt",
        "https://sns.us-east-1.amazonaws.com\\@evil.test/SimpleNotificationService-1.pem",
        "https://SNS.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "//sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    }) do
        t.eq(sns.url_ok(url, true), nil, url)
    end
    t.eq(sns.certificate("https://evil.test/SimpleNotificationService-1.pem"), nil, "never fetched")
    t.config("mail", { ses = { sns_topics = " arn:aws:sns:us-east-1:1:a,arn:aws:sns:us-east-1:1:b " } })
    t.eq(sns.topic_allowed("arn:aws:sns:us-east-1:1:b"), true)
    t.eq(sns.topic_allowed("arn:aws:sns:us-east-1:1:c"), false)
    t.eq(sns.topic_allowed("arn:aws:sns:us-east-1:1"), false, "no prefix match")
end

return T
