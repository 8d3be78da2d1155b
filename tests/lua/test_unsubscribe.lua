-- Unsubscribe happens once: the one-click POST (RFC 8058) delivered five
-- times, one after another or all at once, writes one tracking event, one
-- activity row and one suppression, and every delivery answers 200.
local T = {}

local tracking = require "lib.tracking"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local function setup(t)
    assert(require("wm.migrate").up())
    wm.config.paths.var = t.tmpdir()
    tracking.reset_key()
    local slug = "unsub-" .. wm.crypto.random_token(6):lower()
    local b = one([[INSERT INTO businesses (name, slug, contact_status) VALUES ('Acme Plumbing', $1, 'emailed')
        RETURNING id]], slug)
    local c = one([[INSERT INTO campaigns (business_id, subject_line, email_body, recipient_email, status, sent_at)
        VALUES ($1, 'Your site', 'Hello', $2, 'sent', now()) RETURNING id]], b.id, "Owner+" .. slug .. "@Example.com")
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    t.defer(function() http_server.stop(0) end)
    local _, port = srv:address()
    return c.id, b.id, "http://127.0.0.1:" .. port .. "/u/" .. tracking.unsubscribe_token(c.id)
end

local function post(url)
    return assert(wm.http.request { method = "POST", url = url, body = "List-Unsubscribe=One-Click", timeout = 10,
        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } })
end

local function effects(t, cid, bid)
    t.eq(count("SELECT count(*)::int AS n FROM tracking_events WHERE campaign_id = $1 AND kind = 'unsubscribe'", cid),
         1, "one tracking event")
    t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE action = 'contact.unsubscribed'
        AND entity_id = $1]], cid), 1, "one activity row")
    local c = one("SELECT recipient_email, unsubscribed_at FROM campaigns WHERE id = $1", cid)
    t.ok(c.unsubscribed_at ~= wm.null, "the campaign is unsubscribed")
    local s = one("SELECT count(*)::int AS n, min(reason) AS reason FROM suppression_list WHERE email = lower($1)",
                  c.recipient_email)
    t.eq(s.n, 1)
    t.eq(s.reason, "unsubscribed")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", bid).contact_status, "unsubscribed")
end

function T.five_posts_one_after_another_unsubscribe_once(t)
    local cid, bid, url = setup(t)
    for i = 1, 5 do
        local res = post(url)
        t.eq(res.status, 200, "delivery " .. i)
        t.match(res.body, "You are unsubscribed")
    end
    effects(t, cid, bid)
    local res = assert(wm.http.request { url = url, timeout = 10 })
    t.eq(res.status, 200)
    t.match(res.body, "You are unsubscribed", "the page says so, with no button")
    t.eq(res.body:find("<form", 1, true), nil)
end

function T.five_posts_at_once_unsubscribe_once(t)
    local cid, bid, url = setup(t)
    local tasks = {}
    for i = 1, 5 do
        tasks[i] = wm.spawn(post, url)
    end
    for i = 1, 5 do
        local ok, res = tasks[i]:wait(20)
        t.eq(ok, true, "delivery " .. i .. " finished")
        t.eq(res.status, 200, "delivery " .. i)
    end
    effects(t, cid, bid)
end

return T
