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
local tracking = require "lib.tracking"
local html = require "lib.html"
local activity = require "lib.activity"

local GIF = "GIF89a\1\0\1\0\128\0\0\0\0\0\255\255\255\33\249\4\1\0\0\0\0\44\0\0\0\0\1\0\1\0\0\2\2\68\1\0\59"
local GIF_HEADERS = { ["Content-Type"] = "image/gif", ["Cache-Control"] = "no-store, private" }
local PAGE = { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-store",
               ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" }

local function record(campaign_id, kind, req, url)
    return wm.db.query([[INSERT INTO tracking_events (campaign_id, kind, url, remote_addr, user_agent)
        SELECT id, $2, $3, $4, left($5, 500) FROM campaigns WHERE id = $1]],
        campaign_id, kind, url, req.remote_addr, req.headers["user-agent"])
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
        assert(wm.db.query([[UPDATE campaigns SET opened_at = coalesce(opened_at, now()),
            opened_count = opened_count + 1, status = CASE WHEN status IN ('sent', 'delivered') THEN 'opened'
            ELSE status END, updated_at = now() WHERE id = $1]], id))
        assert(wm.db.query([[UPDATE businesses SET contact_status = 'opened', updated_at = now()
            WHERE id = (SELECT business_id FROM campaigns WHERE id = $1) AND contact_status = 'emailed']], id))
        record(id, "open", req)
    end
    -- The pixel answers the same either way: a bad token learns nothing.
    return { status = 200, headers = GIF_HEADERS, body = GIF }
end)

wm.route("GET", "/t/c/:token", function(req)
    local id, url = tracking.verify_click(req.params.token)
    if not id then
        return { status = 400, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                 body = "This link is not valid (" .. tostring(url) .. ").\n" }
    end
    assert(wm.db.query([[UPDATE campaigns SET clicked_at = coalesce(clicked_at, now()),
        clicked_count = clicked_count + 1, opened_at = coalesce(opened_at, now()),
        status = CASE WHEN status IN ('sent', 'delivered', 'opened') THEN 'clicked' ELSE status END,
        updated_at = now() WHERE id = $1]], id))
    assert(wm.db.query([[UPDATE businesses SET contact_status = 'clicked', updated_at = now()
        WHERE id = (SELECT business_id FROM campaigns WHERE id = $1) AND contact_status IN ('emailed', 'opened')]], id))
    record(id, "click", req, url)
    return { status = 302, headers = { Location = url, ["Cache-Control"] = "no-store" }, body = "" }
end)

wm.route("GET", "/u/:token", function(req)
    local id, err = tracking.verify_unsubscribe(req.params.token)
    if not id then
        return page(400, "This link is not valid", "<p>" .. html.escape(err) .. "</p>")
    end
    local c = wm.db.one("SELECT recipient_email, unsubscribed_at FROM campaigns WHERE id = $1", id)
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
end)

wm.route("POST", "/u/:token", function(req)
    local id, err = tracking.verify_unsubscribe(req.params.token)
    if not id then
        return page(400, "This link is not valid", "<p>" .. html.escape(err) .. "</p>")
    end
    local ok, terr = wm.db.tx(function(q)
        local c = q:one("SELECT id, business_id, recipient_email FROM campaigns WHERE id = $1 FOR UPDATE", id)
        if not c then
            return "unknown"
        end
        assert(q:query([[INSERT INTO suppression_list (email, reason, campaign_id, details)
            VALUES (lower($1), 'unsubscribed', $2, $3::jsonb) ON CONFLICT (email) DO NOTHING]],
            c.recipient_email, c.id, { one_click = (req.body or ""):find("List-Unsubscribe=One-Click", 1, true) ~= nil }))
        assert(q:query("UPDATE campaigns SET unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now() WHERE id = $1", c.id))
        assert(q:query("UPDATE businesses SET contact_status = 'unsubscribed', updated_at = now() WHERE id = $1",
                       c.business_id))
        assert(q:query([[INSERT INTO tracking_events (campaign_id, kind, remote_addr, user_agent)
            VALUES ($1, 'unsubscribe', $2, left($3, 500))]], c.id, req.remote_addr, req.headers["user-agent"]))
        activity.log("contact.unsubscribed", "campaign", c.id, {}, "user")
        return "done"
    end)
    if not ok then
        return page(500, "Please try again", "<p>We could not record this just now: " .. html.escape(terr) .. "</p>")
    end
    if ok == "unknown" then
        return page(404, "Unknown subscription", "<p>We could not find this email.</p>")
    end
    return page(200, "You are unsubscribed", "<p>We will not email you again.</p>")
end)
