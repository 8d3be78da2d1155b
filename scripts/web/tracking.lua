-- Tracking: the open pixel, signed click redirects and unsubscribe.
--
--   GET  /t/o/<token>.gif   a 43-byte transparent GIF; records the open
--   GET  /t/c/<token>       302 to the URL inside the signed token; a bad
--                           signature is a 400, never a redirect (no open
--                           redirect: the target comes only from the token)
--   GET  /u/<token>         a page with a button; does NOT unsubscribe
--                           (scanners prefetch links, RFC 8058 §3.2)
--   POST /u/<token>         unsubscribes (the button, or RFC 8058 one-click
--                           "List-Unsubscribe=One-Click"); 200, never a redirect
--
-- While the database is down the pixel and clicks still answer (the click's
-- target is in its signed token) and their events are spooled to disk
-- (lib.tracking_spool), recorded when it is back, each once (dedupe_key).
-- So is an unsubscribe: its page (without the address, which only the
-- database knows) and its button work during an outage, and the spooled
-- request is applied, with the time it was made, when the database is back.
-- Only when the spool cannot keep it either is the answer a 503.
local tracking = require "lib.tracking"
local html = require "lib.html"
local campaigns = require "domain.campaigns"
local outage = require "lib.outage"
local spool = require "lib.tracking_spool"

local GIF = "GIF89a\1\0\1\0\128\0\0\0\0\0\255\255\255\33\249\4\1\0\0\0\0\44\0\0\0\0\1\0\1\0\0\2\2\68\1\0\59"
local GIF_HEADERS = { ["Content-Type"] = "image/gif", ["Cache-Control"] = "no-store, private" }
local PAGE = { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-store",
               ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" }

-- ---- state changes: each runs inside the caller's transaction `q` ----
-- ev = {key=, kind=, campaign_id=, url=, remote_addr=, user_agent=, at=}; `at`
-- (epoch seconds) is set when the event waited in the spool, so that it
-- counts at the time it happened; otherwise the database's now().

-- Inserts the event; true when it is new, false when its key was recorded
-- already (a replayed spool file) or the campaign is gone.
local function insert_event(q, ev)
    local rows = assert(q:query([[INSERT INTO tracking_events
            (campaign_id, kind, url, remote_addr, user_agent, dedupe_key, created_at)
        SELECT id, $2, $3, $4, left($5, 500), $6, coalesce(to_timestamp($7::float8), now())
        FROM campaigns WHERE id = $1
        ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id]],
        ev.campaign_id, ev.kind, ev.url, ev.remote_addr, ev.user_agent, ev.key, ev.at))
    return #rows > 0
end

local function campaign_opened(q, ev)
    if insert_event(q, ev) then
        assert(campaigns.opened(ev.campaign_id, ev.at))
    end
end

local function campaign_clicked(q, ev)
    if insert_event(q, ev) then
        assert(campaigns.clicked(ev.campaign_id, ev.at))
    end
end

-- "done" | "already" | "unknown" (domain.campaigns.unsubscribe); the
-- event is recorded only when this call unsubscribed.
local function campaign_unsubscribed(q, ev, one_click)
    local state = assert(campaigns.unsubscribe(ev.campaign_id, one_click, ev.at))
    if state == "done" then
        insert_event(q, ev)
    end
    return state
end

local APPLY = {
    open = campaign_opened,
    click = campaign_clicked,
    unsubscribe = function(q, ev) campaign_unsubscribed(q, ev, ev.one_click) end,
}

-- The spool's replayer records a waiting event through the same functions.
spool.set_applier(function(ev)
    local apply = APPLY[ev.kind]
    if not apply then
        return nil, "unknown tracking event kind " .. tostring(ev.kind)
    end
    return wm.db.tx(function(q) apply(q, ev) end)
end)

local function event(kind, campaign_id, req, url)
    return { key = spool.key(), kind = kind, campaign_id = campaign_id, url = url, remote_addr = req.remote_addr,
             user_agent = req.headers["user-agent"] }
end

-- Keeps an event for the replayer while the database is down: true, or
-- nil when the spool cannot (logged).
local function keep_for_later(ev)
    ev.at = wm.now()
    ev.user_agent = ev.user_agent and ev.user_agent:sub(1, 500)
    local ok, err = spool.add(ev)
    if not ok then
        wm.log.error("tracking: event lost while the database is down", { kind = ev.kind,
            campaign_id = ev.campaign_id, error = tostring(err) })
    end
    return ok
end

-- Records an open or click now, or spools it when the database is down (the
-- same key either way: a commit whose answer was lost is not counted twice).
local function record(ev)
    spool.kick()
    local ok, err = wm.db.tx(function(q) APPLY[ev.kind](q, ev) end)
    if ok then
        return
    end
    if not outage.confirm(err) then
        error(err, 0)
    end
    keep_for_later(ev)
end

local function page(status, title, body)
    return {
        status = status,
        headers = PAGE,
        body = ([[<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>%s</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#222;color:#fff;cursor:pointer}</style>
</head><body><main><h1>%s</h1>%s</main></body></html>]]):format(html.escape(title), html.escape(title), body),
    }
end

wm.route("GET", "/t/o/:token.gif", function(req)
    local id = tracking.verify_open(req.params.token)
    if id then
        record(event("open", id, req))
    end
    -- The pixel answers the same either way: a bad token learns nothing.
    return { status = 200, headers = GIF_HEADERS, body = GIF }
end, { role = "public" })

wm.route("GET", "/t/c/:token", function(req)
    local id, url = tracking.verify_click(req.params.token)
    if not id then
        return { status = 400, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                 body = "This link is not valid (" .. tostring(url) .. ").\n" }
    end
    record(event("click", id, req, url))
    return { status = 302, headers = { Location = url, ["Cache-Control"] = "no-store" }, body = "" }
end, { role = "public" })

local function try_later()
    local res = page(503, "Please try again in a moment", "<p>We cannot reach our records just now.</p>")
    res.headers = { ["Retry-After"] = outage.RETRY_AFTER }
    for k, v in pairs(PAGE) do
        res.headers[k] = v
    end
    return res
end

wm.route("GET", "/u/:token", function(req)
    local id, err = tracking.verify_unsubscribe(req.params.token)
    if not id then
        return page(400, "This link is not valid", "<p>" .. html.escape(err) .. "</p>")
    end
    local c, qerr, state = wm.db.one("SELECT recipient_email, unsubscribed_at FROM campaigns WHERE id = $1", id)
    if qerr then
        if not outage.confirm(qerr, state) then
            error(qerr, 0)
        end
        return page(200, "Unsubscribe", ([[<p>Stop all email from us to this address?</p>
<form method="post" action="/u/%s"><button type="submit">Unsubscribe</button></form>]]):format(
            html.attr(req.params.token)))
    end
    if not c then
        return page(404, "Unknown subscription", "<p>We could not find this email.</p>")
    end
    if c.unsubscribed_at ~= wm.null then
        return page(200, "You are unsubscribed", "<p>We will not email " .. html.escape(c.recipient_email)
            .. " again.</p>")
    end
    return page(200, "Unsubscribe", ([[<p>Stop all email from us to <strong>%s</strong>?</p>
<form method="post" action="/u/%s"><button type="submit">Unsubscribe</button></form>]]):format(
        html.escape(c.recipient_email), html.attr(req.params.token)))
end, { role = "public" })

wm.route("POST", "/u/:token", function(req)
    local id, err = tracking.verify_unsubscribe(req.params.token)
    if not id then
        return page(400, "This link is not valid", "<p>" .. html.escape(err) .. "</p>")
    end
    local one_click = (req.body or ""):find("List-Unsubscribe=One-Click", 1, true) ~= nil
    local ev = event("unsubscribe", id, req)
    ev.one_click = one_click
    spool.kick()
    local done, terr = wm.db.tx(function(q)
        return campaign_unsubscribed(q, ev, one_click)
    end)
    if not done then
        if outage.confirm(terr) then
            if not keep_for_later(ev) then
                return try_later()
            end
            return page(200, "You are unsubscribed", "<p>We will not email you again.</p>")
        end
        -- The details (a traceback) go to the log, not to the visitor.
        wm.log.error("unsubscribe failed", { request_id = req.id, campaign_id = id, error = tostring(terr) })
        return page(500, "Please try again", "<p>We could not record this just now.</p>")
    end
    if done == "unknown" then
        return page(404, "Unknown subscription", "<p>We could not find this email.</p>")
    end
    return page(200, "You are unsubscribed", "<p>We will not email you again.</p>")
end, { role = "public" })
