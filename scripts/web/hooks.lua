-- POST /hooks/recurrente: Recurrente's webhooks (delivered by Svix).
--
-- The signature is checked on the raw body before anything else is done
-- with it (lib.svix: svix-* or webhook-* headers, +-5 minutes): a missing or
-- bad signature, or a stale or future timestamp, is a 401 and nothing is
-- stored. An accepted event is stored once per (provider, svix-id) and
-- answered 200 at once; the apply_webhook job (enqueued in the same
-- transaction, one per event) applies it. A redelivery of a stored event is
-- a 200 with nothing new. A type this system does not act on is stored as
-- 'ignored' and acknowledged; a signed body that is not a JSON object is
-- stored as 'failed' and answered 400. While the database is down the
-- answer is a 503, and Svix delivers again later.
local svix = require "lib.svix"
local webhook_events = require "domain.webhook_events"

local JSON = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }
local PROVIDER = "recurrente"

local function answer(status, body)
    return { status = status, headers = JSON, body = wm.json.encode(body) }
end

wm.route("POST", "/hooks/recurrente", function(req)
    local secret, serr = svix.secret()
    if not secret then
        wm.log.warn("recurrente webhook refused: no secret", { error = serr })
        return answer(401, { error = "no webhook secret configured" })
    end
    local body = req.body or ""
    local event_id, why = svix.verify(secret, req.headers, body)
    if not event_id then
        wm.log.info("recurrente webhook refused", { reason = why, remote = req.remote_addr })
        return answer(401, { error = why })
    end
    event_id = event_id:sub(1, 200)
    local doc = wm.text.utf8_clean(body) == body and wm.json.decode(body)
    if type(doc) ~= "table" then
        local stored, err = webhook_events.receive(PROVIDER, event_id, nil, wm.text.utf8_clean(body), "failed",
                                                   "malformed JSON")
        if stored == nil then
            error(err, 0)
        end
        return answer(400, { error = "the body is not a JSON object" })
    end
    local event_type, kind = require("lib.recurrente_events").read(doc)
    local status = kind and "received" or "ignored"
    local new, err = webhook_events.receive(PROVIDER, event_id, event_type, body, status,
                                            not kind and "no effect for this event type" or nil)
    if new == nil then
        error(err, 0)
    end
    return answer(200, { received = true, duplicate = not new, status = new and status or nil })
end, { role = "public" })
