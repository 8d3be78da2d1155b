-- domain.deliveries: each provider event applies once, campaign status only
-- moves forward, bounces and complaints suppress the address and set the
-- business's contact_status, and an event proves a stuck 'sending' campaign left.
local T = {}

local deliveries = require "domain.deliveries"
local mail = dofile(wm.root .. "/tests/lib/mail.lua")

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

-- A campaign SendGrid took, to a mixed-case address (suppressions are kept
-- in lower case): its id, its business's and its message id.
local function campaign(status, contact)
    assert(require("wm.migrate").up())
    local mid = "msg-" .. wm.crypto.random_token(6):lower()
    local cid, _, bid = mail.campaign { email = "Owner+" .. mid .. "@Example.com", status = status or "sent",
                                        contact_status = contact or "emailed", provider = "sendgrid",
                                        message_id = mid }
    return cid, bid, mid
end

-- Event ids are made unique per campaign: the tests share one database.
local function apply(cid, kind, event_id, extra)
    return wm.db.tx(function()
        local e = { campaign_id = cid, kind = kind, provider = "sendgrid",
                    event_id = event_id and (cid .. ":" .. event_id), at = 1767000000 }
        for k, v in pairs(extra or {}) do
            e[k] = v
        end
        return deliveries.apply(e)
    end)
end

local function state(cid)
    return one([[SELECT c.status, c.delivered_at IS NOT NULL AS delivered, c.opened_count, c.clicked_count,
            c.replied_at IS NOT NULL AS replied, b.contact_status,
            (SELECT reason FROM suppression_list s WHERE s.email = lower(c.recipient_email)) AS suppressed,
            (SELECT count(*)::int FROM mail_events m WHERE m.campaign_id = c.id) AS events,
            (SELECT count(*)::int FROM activity_log a WHERE a.entity_id = c.id AND a.action LIKE 'delivery.%')
                AS activity
        FROM campaigns c JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], cid)
end

function T.delivered_applies_once(t)
    local cid = campaign()
    t.eq(apply(cid, "delivered", "ev-1"), "applied")
    for _ = 1, 3 do
        t.eq(apply(cid, "delivered", "ev-1"), "duplicate")
    end
    local s = state(cid)
    t.eq(s.status, "delivered")
    t.eq(s.delivered, true)
    t.eq(s.events, 1)
    t.eq(s.activity, 1, "one activity row")
    t.eq(one([[SELECT actor_type FROM activity_log WHERE entity_id = $1 AND action = 'delivery.delivered']],
             cid).actor_type, "webhook")
    t.eq(s.suppressed, wm.null)
end

function T.bounce_suppresses_and_a_late_delivery_does_not_undo_it(t)
    local cid, bid = campaign()
    t.eq(apply(cid, "bounced", "ev-b", { detail = { reason = "550 5.1.1 no such user" } }), "applied")
    t.eq(apply(cid, "delivered", "ev-d"), "applied")
    local s = state(cid)
    t.eq(s.status, "bounced", "a late 'delivered' does not move a bounce back")
    t.eq(s.suppressed, "bounced")
    t.eq(s.contact_status, "bounced")
    t.eq(one("SELECT error_message FROM campaigns WHERE id = $1", cid).error_message, "550 5.1.1 no such user")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", bid).contact_status, "bounced")
end

function T.bounce_after_an_open_keeps_the_open_but_suppresses(t)
    local cid = campaign()
    t.eq(apply(cid, "opened", "ev-o"), "applied")
    t.eq(apply(cid, "bounced", "ev-b"), "applied")
    local s = state(cid)
    t.eq(s.status, "opened")
    t.eq(s.suppressed, "bounced")
end

function T.soft_bounce_changes_nothing_but_the_record(t)
    local cid = campaign("delivered", "emailed")
    t.eq(apply(cid, "soft_bounce", "ev-s"), "applied")
    local s = state(cid)
    t.eq(s.status, "delivered")
    t.eq(s.suppressed, wm.null)
    t.eq(s.contact_status, "emailed")
    t.eq(s.events, 1)
end

function T.complaint_suppresses_even_after_a_click(t)
    local cid = campaign()
    t.eq(apply(cid, "clicked", "ev-c"), "applied")
    t.eq(apply(cid, "complained", "ev-x"), "applied")
    t.eq(apply(cid, "delivered", "ev-d"), "applied")
    local s = state(cid)
    t.eq(s.status, "complained")
    t.eq(s.suppressed, "complained")
    t.eq(s.contact_status, "unsubscribed", "the seed has no 'complained' contact status")
    t.eq(s.delivered, true, "delivered_at is still recorded")
end

function T.opens_and_clicks_count_per_event(t)
    local cid = campaign()
    t.eq(apply(cid, "opened", "o1"), "applied")
    t.eq(apply(cid, "opened", "o1"), "duplicate")
    t.eq(apply(cid, "opened", "o2"), "applied")
    t.eq(apply(cid, "clicked", "c1"), "applied")
    local s = state(cid)
    t.eq(s.opened_count, 2)
    t.eq(s.clicked_count, 1)
    t.eq(s.status, "clicked")
    t.eq(s.contact_status, "clicked")
    t.eq(s.activity, 0, "opens and clicks are counted, not logged")
end

function T.unsubscribe_and_reply(t)
    local cid = campaign()
    t.eq(apply(cid, "replied", "r1"), "applied")
    local s = state(cid)
    t.eq(s.status, "replied")
    t.eq(s.replied, true)
    t.eq(s.contact_status, "replied")
    t.eq(apply(cid, "unsubscribed", "u1"), "applied")
    s = state(cid)
    t.eq(s.suppressed, "unsubscribed")
    t.eq(s.contact_status, "unsubscribed")
end

function T.an_event_proves_a_stuck_campaign_was_sent(t)
    local cid, bid = campaign("sending", "pending")
    t.eq(apply(cid, "delivered", "ev-1"), "applied")
    local c = one("SELECT status, sent_at IS NOT NULL AS sent, email_provider FROM campaigns WHERE id = $1", cid)
    t.eq(c.status, "delivered")
    t.eq(c.sent, true)
    t.eq(c.email_provider, "sendgrid")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", bid).contact_status, "emailed")
end

function T.concurrent_deliveries_of_one_event_apply_once(t)
    local cid = campaign()
    local tasks = {}
    for i = 1, 6 do
        tasks[i] = wm.spawn(apply, cid, "bounced", "same")
    end
    local applied = 0
    for i = 1, 6 do
        local ok, res = tasks[i]:wait(20)
        t.eq(ok, true)
        if res == "applied" then
            applied = applied + 1
        else
            t.eq(res, "duplicate")
        end
    end
    t.eq(applied, 1)
    t.eq(state(cid).activity, 1)
end

function T.refuses_what_it_cannot_apply(t)
    local cid = campaign()
    local r, err = apply(cid, "exploded", "e1")
    t.eq(r, nil)
    t.match(err, "unknown delivery event kind")
    r, err = apply("00000000-0000-0000-0000-000000000000", "delivered", "e2")
    t.eq(r, nil)
    t.match(err, "no campaign")
    r, err = apply(cid, "delivered", nil)
    t.eq(r, nil)
    t.match(err, "event_id")
    t.eq(state(cid).events, 0)
end

function T.campaign_by_message_id(t)
    local cid, _, mid = campaign()
    t.eq(deliveries.campaign_by_message_id(mid), cid)
    t.eq(deliveries.campaign_by_message_id(mid, "sendgrid"), cid)
    t.eq(deliveries.campaign_by_message_id(mid, "ses"), nil)
    t.eq(deliveries.campaign_by_message_id("nope"), nil)
end

return T
