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
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
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

local n = 0
-- A business with a preview site and a pending campaign.
local function campaign()
    n = n + 1
    local email = ("owner%d-%s@shop.test"):format(n, wm.crypto.random_token(4):lower():gsub("[^%w]", "x"))
    local gmb = "gmb-" .. n .. "-" .. wm.crypto.random_token(4)
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, rating, review_count, lead_status,
            website_status, qualification_score)
        VALUES ($1, $1, $2, $3, 4.8, 50, 'qualified', 'generated', 80) RETURNING id]], gmb, "Shop " .. n, email)
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, '<!DOCTYPE html><title>x</title>', 'preview', $3) RETURNING id]], b.id,
        ("shop-" .. n .. "-" .. wm.crypto.random_token(3):lower():gsub("[^%w]", "x")), wm.crypto.random_token(12))
    local c = one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, business_name,
            recipient_email, status)
        VALUES ($1, $2, 'Your site', $3, $4, $5, 'pending') RETURNING id]], b.id, s.id,
        wm.json.encode({ subject = "Your new website", preview_text = "A site", greeting = "Hi,",
                         paragraphs = { "We built you a website." },
                         cta_label = "See it", sign_off = "WebMagic" }),
        "Shop " .. n, email)
    return c.id, email, b.id
end

local function send(id)
    return require("stages.send").run({ id = 0, kind = "send", attempt = 1, max_attempts = 5,
                                        payload = { campaign_id = id } })
end

local function campaign_row(id)
    return one("SELECT status, message_id, email_provider, error_message FROM campaigns WHERE id = $1", id)
end

-- ---- sending ----

function T.send_keeps_the_message_id_and_signs_with_sigv4(t)
    setup(t, { token = "session-token-xyz" })
    local id, email = campaign()
    local o = send(id)
    t.eq(o.outcome, codes.COMPLETED, tostring(o.error))
    local sent = get_json("/_fake/sent")
    t.eq(#sent, 1)
    local c = campaign_row(id)
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
end

function T.a_wrong_secret_is_refused_by_the_signature_check_and_retried(t)
    setup(t, { secret = "not-the-secret" })
    local id = campaign()
    local o = send(id)
    t.eq(o.outcome, codes.RETRY, "a set-up problem is no reason to fail the message")
    t.match(tostring(o.error), "SignatureDoesNotMatch")
    t.eq(campaign_row(id).status, "pending")
    t.eq(#get_json("/_fake/sent"), 0)
end

function T.throttled_then_sent_once(t)
    setup(t)
    local id = campaign()
    post_json("/_fake/queue", { status = 429, error = "TooManyRequestsException",
                                message = "Maximum sending rate exceeded.", retry_after = 3 })
    local o = send(id)
    t.eq(o.outcome, codes.SNOOZE, "throttling waits without spending an attempt")
    t.eq(o.delay, 3, "Retry-After is honoured")
    t.eq(campaign_row(id).status, "pending")
    -- SES v1's form (400 Throttling, XML) is throttling too.
    post_json("/_fake/queue", { status = 400, error = "Throttling", message = "Maximum sending rate exceeded.",
                                xml = true })
    o = send(id)
    t.eq(o.outcome, codes.SNOOZE)
    t.eq(o.delay, 7, "mail.ses.retry_after without a Retry-After")
    o = send(id)
    t.eq(o.outcome, codes.COMPLETED, tostring(o.error))
    t.eq(campaign_row(id).status, "sent")
    t.eq(#get_json("/_fake/sent"), 1, "one message at the fake")
    t.eq(get_json("/_fake/stats").sends, 3)
end

function T.refusals_are_permanent_and_5xx_retried(t)
    setup(t)
    for _, e in ipairs({ "MessageRejected", "MailFromDomainNotVerifiedException" }) do
        local id = campaign()
        post_json("/_fake/queue", { status = 400, error = e, message = "Email address is not verified." })
        local o = send(id)
        t.eq(o.outcome, codes.DISCARD, e)
        local c = campaign_row(id)
        t.eq(c.status, "failed", e)
        t.match(c.error_message, e)
    end
    local id = campaign()
    post_json("/_fake/queue", { status = 503, error = "ServiceUnavailable", message = "try later" })
    local o = send(id)
    t.eq(o.outcome, codes.RETRY)
    t.eq(campaign_row(id).status, "pending")
    o = send(id)
    t.eq(o.outcome, codes.COMPLETED)
    t.eq(#get_json("/_fake/sent"), 1)
end

function T.no_answer_after_the_request_went_out_stays_sending(t)
    setup(t, { timeout = 1 })
    local id = campaign()
    post_json("/_fake/queue", { stall = 3 })
    local o = send(id)
    t.eq(o.outcome, codes.DISCARD)
    t.eq(campaign_row(id).status, "sending", "SES may have sent it: never again by itself")
    o = send(id)
    t.eq(o.outcome, codes.DISCARD, "a second run does not send it")
    t.eq(get_json("/_fake/stats").sends, 1)
    -- Nothing listening: nothing can have gone out.
    local id2 = campaign()
    wm.config.mail.ses.endpoint = "http://127.0.0.1:1"
    o = send(id2)
    t.eq(o.outcome, codes.RETRY)
    t.eq(campaign_row(id2).status, "pending")
end

function T.missing_keys_leave_it_pending(t)
    setup(t)
    wm.config.aws.secret_access_key = ""
    local id = campaign()
    local o = send(id)
    t.eq(o.outcome, codes.RETRY)
    t.match(tostring(o.error), "WM_AWS_SECRET_ACCESS_KEY")
    t.eq(campaign_row(id).status, "pending")
    t.eq(ses.endpoint(), fake)
end

return T
