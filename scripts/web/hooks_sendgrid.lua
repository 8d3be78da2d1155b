-- SendGrid's two webhooks.
--
-- POST /hooks/sendgrid: the signed Event Webhook. The signature is checked
-- on the raw body before anything else is done with it: ECDSA P-256 with
-- SHA-256 over X-Twilio-Email-Event-Webhook-Timestamp .. body, against
-- sendgrid.webhook_public_key (WM_SENDGRID_WEBHOOK_PUBLIC_KEY), with the
-- timestamp within sendgrid.webhook_tolerance of now (SendGrid documents
-- none; 300 s is the common choice). A missing key, a missing, bad or stale
-- signature is a 401 and nothing is stored. An accepted batch is stored
-- whole (webhook_events, provider 'sendgrid', one row per distinct body)
-- together with its apply_mail_events job by one statement, and answered
-- 200 at once; the job applies each event once (by sg_event_id). A
-- redelivered batch is a 200 with nothing new. A signed body that is not a
-- JSON array is stored as 'failed' and answered 400. While the database is
-- down the answer is a 503, and SendGrid delivers again later.
--
-- POST /hooks/sendgrid-inbound/<token>: Inbound Parse (multipart/form-data,
-- the default "parsed" form, not raw MIME). SendGrid signs nothing here, so
-- the URL carries a secret: sendgrid.inbound_token (WM_SENDGRID_INBOUND_TOKEN,
-- at least 16 characters); any other path, or no token configured, is a 404.
-- Each message is stored once (mail_replies, by its Message-ID), classified
-- (lib.replies) and matched to its campaign in one transaction: a reply
-- marks the campaign replied, a reply asking to stop also unsubscribes,
-- auto-replies and DSNs are kept but change nothing.
local form = require "lib.form"
local replies = require "lib.replies"
local inbox = require "lib.inbox"

local JSON = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }
local PROVIDER = "sendgrid"
local INBOUND = { source = "sendgrid_inbound", actor = "webhook" }
local MIN_TOKEN = 16

local function answer(status, body)
    return { status = status, headers = JSON, body = wm.json.encode(body) }
end

local function cfg()
    return wm.config.sendgrid or {}
end

-- The public key as wm.crypto wants it: PEM as given, else base64 DER
-- (the dashboard's form) with any whitespace taken out.
local function public_key()
    local k = cfg().webhook_public_key
    if type(k) ~= "string" or k == "" then
        return nil
    end
    if k:find("-----BEGIN", 1, true) then
        return k
    end
    return (k:gsub("%s", ""))
end

-- nil when the batch is signed by the configured key and fresh, else why not.
local function refuse(req, body)
    local key = public_key()
    if not key then
        return "no webhook public key configured (WM_SENDGRID_WEBHOOK_PUBLIC_KEY)"
    end
    local sig = req.headers["x-twilio-email-event-webhook-signature"]
    local ts = req.headers["x-twilio-email-event-webhook-timestamp"]
    if type(sig) ~= "string" or type(ts) ~= "string" or sig == "" then
        return "missing signature"
    end
    if not ts:match("^%d+$") or #ts > 12 then
        return "bad timestamp"
    end
    if math.abs(wm.now() - tonumber(ts)) > (cfg().webhook_tolerance or 300) then
        return "stale timestamp"
    end
    local der = wm.crypto.b64_decode(sig)
    if not der or der == "" then
        return "bad signature"
    end
    local ok, err = wm.crypto.ecdsa_p256_verify(key, ts .. body, der)
    if ok ~= true then
        if err then
            wm.log.warn("sendgrid webhook: the signature could not be checked", { error = err })
        end
        return "bad signature"
    end
end

-- Stores a batch with its apply_mail_events job (domain.webhook_events:
-- both or neither). The same body again inserts nothing.
-- -> true (new) | false (stored before) | nil, err
local function store(body, status, err)
    return require("domain.webhook_events").receive(PROVIDER, "batch:" .. wm.crypto.sha256_hex(body), "batch", body,
                                                    status, err)
end

wm.route("POST", "/hooks/sendgrid", function(req)
    local body = req.body or ""
    local why = refuse(req, body)
    if why then
        wm.log.info("sendgrid webhook refused", { reason = why, remote = req.remote_addr })
        return answer(401, { error = why })
    end
    local doc = wm.text.utf8_clean(body) == body and wm.json.decode(body)
    if type(doc) ~= "table" or (next(doc) ~= nil and doc[1] == nil) then
        local stored, err = store(wm.text.utf8_clean(body), "failed", "not a JSON array of events")
        if stored == nil then
            error(err, 0)
        end
        return answer(400, { error = "the body is not a JSON array of events" })
    end
    local new, err = store(body, "received")
    if new == nil then
        error(err, 0)
    end
    return answer(200, { received = true, duplicate = not new, events = #doc })
end, { role = "public" })

-- The campaign a message answers: one of our Message-IDs in In-Reply-To or
-- References (or, for a DSN, in the returned message's headers in its
-- text), else the latest campaign sent to the address it came from.
local function match_campaign(h, text, from)
    local id = replies.campaign_of((h["in-reply-to"] or "") .. " " .. (h.references or ""))
        or replies.campaign_of(text)
    if id and wm.db.run_one("SELECT 1 FROM campaigns WHERE id = $1", id) then
        return id
    end
    return inbox.latest_campaign_to(from)
end

-- Kept and applied as a message read from the mailbox is (lib.inbox), as
-- source and provider 'sendgrid_inbound'.
local function receive_inbound(f)
    local h = replies.headers(f.headers)
    local from = inbox.bare(f.from or h.from)
    local subject = f.subject or h.subject
    local text = f.text
    if (not text or text == "") and f.html then
        -- Only for classifying and keeping readable text: the markup goes,
        -- line breaks stay; the stored text is cleaned again (replies.clean).
        text = require("lib.dsn").html_text(f.html)
    end
    local kind, why = replies.classify { headers = h, subject = subject, text = text, from = from }
    local message_id = h["message-id"] and h["message-id"]:sub(1, 300)
        or ("sha256:" .. wm.crypto.sha256_hex((f.headers or "") .. (text or "")))
    return wm.db.tx(function()
        local m = { kind = kind, why = why, from = from, subject = subject, text = text,
                    campaign_id = match_campaign(h, text, from) }
        local r = assert(inbox.apply(m, message_id, INBOUND))
        if r.duplicate then
            return { duplicate = true }
        end
        return { kind = kind, matched = r.campaign_id ~= nil }
    end)
end

wm.route("POST", "/hooks/sendgrid-inbound/:token", function(req)
    local token = cfg().inbound_token
    if type(token) ~= "string" or #token < MIN_TOKEN or not wm.crypto.equal(req.params.token or "", token) then
        return answer(404, { error = "not found" })
    end
    local f, err = form.multipart(req.body, req.headers["content-type"])
    if not f then
        return answer(400, { error = err })
    end
    if f.email and not f.headers then
        -- "POST the raw, full MIME message" is on: this reads the parsed form only.
        wm.log.warn("sendgrid inbound: a raw MIME post; turn off 'POST the raw, full MIME message' in Inbound Parse")
        return answer(400, { error = "raw MIME posts are not read; use the parsed form" })
    end
    local res, terr = receive_inbound(f)
    if not res then
        error(terr, 0)
    end
    return answer(200, res)
end, { role = "public" })
