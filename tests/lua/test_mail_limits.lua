-- Every email that reaches the provider takes a token from its shared rate
-- limit (lib.mail_limit over lib.ratelimit), transactional mail first. The
-- stages run in this process's job scheduler and write to the outbox with
-- mail.rate_limits.outbox set; each email's time is its outbox file's name.
--
-- Covered: a burst of portal sign-in links and ticket emails all go out
-- exactly once and no faster than the limit; a sign-in link enqueued behind
-- a queue of campaigns goes out within a token or two, not after the
-- queue, and campaigns plus transactional mail together keep to the limit;
-- a booked transactional slot holds outreach back until it has gone; a
-- sign-in link SendGrid throttles snoozes and goes once; the outbox with no
-- limit configured takes nothing.
local T = {}

local mail = dofile(wm.root .. "/tests/lib/mail.lua")
local mail_limit = require "lib.mail_limit"
local outcome = require "lib.outcome"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local var
-- See keeps_to. Without a limit the 16 emails of the burst go within a
-- fraction of a second, far inside even this.
local SLACK = 1.0

local function setup(t, rate, jobs)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    var = t.tmpdir()
    t.config("paths", { var = var })
    require("lib.tracking").reset_key()
    t.config("providers", { mail = "outbox" })
    t.config("mail", { rate_limits = { smtp = 0, sendgrid = 0, ses = 14, outbox = rate }, daily_cap = 1000 })
    t.config("sites", { base_url = "http://127.0.0.1:1" })
    t.config("autopilot", { enabled = false })
    if jobs then
        t.config("jobs", jobs)
        assert(wm.jobs.start_worker { cron = false })
        t.defer(function() wm.jobs.stop_worker(5) end)
    end
end

-- The outbox's messages, oldest first: {at = seconds (from the file's
-- UTC name, to the millisecond), raw = the file}.
local function sent()
    local dir = var .. "/outbox"
    local names = wm.fs.list_dir(dir) or {}
    table.sort(names)
    local out = {}
    for _, n in ipairs(names) do
        local y, mo, d, h, mi, s, ms = n:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)%.(%d%d%d)Z.*%.eml$")
        if y then
            local day = os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 12 }
            out[#out + 1] = { at = day + (tonumber(h) - 12) * 3600 + tonumber(mi) * 60 + tonumber(s)
                                   + tonumber(ms) / 1000,
                              raw = assert(wm.fs.read_file(dir .. "/" .. n)) }
        end
    end
    return out
end

local function sent_to(email)
    local n = 0
    for _, m in ipairs(sent()) do
        if m.raw:find(email, 1, true) then
            n = n + 1
        end
    end
    return n
end

-- No stretch of the outbox holds more than a token bucket of `rate` and
-- size max(1, rate) lets through. A file is written a little after its
-- token, and on a loaded machine (2 cores, several suites) that lag varies
-- by a few tenths of a second, which can bring two files closer than their
-- tokens were: a stretch may be up to `slack` seconds longer than it looks.
local function keeps_to(t, msgs, rate, slack)
    local burst = math.max(1, rate)
    for i = 1, #msgs do
        for j = i + 1, #msgs do
            local span = msgs[j].at - msgs[i].at
            if j - i + 1 > burst + rate * (span + slack) then
                t.fail(("%d emails within %.3f s at %s/s (emails %d..%d)"):format(j - i + 1, span, rate, i, j))
            end
        end
    end
end

local n = 0
local function customer()
    n = n + 1
    local email = ("person%d-%s@example.test"):format(n, wm.crypto.random_token(4):lower():gsub("[^%w]", "x"))
    return one("INSERT INTO customers (email, full_name) VALUES ($1, $2) RETURNING id",
               email, "Person " .. n).id, email
end

local function settled(t, timeout)
    t.wait_for("jobs to settle", function()
        return count("SELECT count(*)::int AS n FROM jobs WHERE status IN ('scheduled', 'available', 'running', 'retryable')") == 0
    end, timeout)
end

function T.a_burst_of_transactional_mail_goes_once_each_within_the_limit(t)
    local RATE = 4
    setup(t, RATE, { backoff_base = 0.05, concurrency = { default = 10, portal_welcome = 4, ticket_email = 4 } })
    local emails = {}
    local cid, site_owner = mail.campaign { status = "skipped" }
    local site = one("SELECT site_id FROM campaigns WHERE id = $1", cid).site_id
    for i = 1, 16 do
        local id, email = customer()
        emails[#emails + 1] = email
        if i % 4 == 0 then
            local ticket = one([[INSERT INTO support_tickets (customer_id, site_id, request_text)
                VALUES ($1, $2, 'A bigger logo') RETURNING id]], id, site).id
            assert(wm.jobs.enqueue("ticket_email", { id = ticket, kind = "received" }))
        else
            assert(wm.jobs.enqueue("portal_welcome", { customer_id = id, kind = "link" }))
        end
    end
    settled(t, 30)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE status <> 'completed'"), 0, "every job completed")
    local msgs = sent()
    t.eq(#msgs, 16, "one email per job")
    for _, email in ipairs(emails) do
        t.eq(sent_to(email), 1, email .. " got exactly one")
    end
    t.eq(sent_to(site_owner), 0)
    t.eq(count("SELECT count(*)::int AS n FROM portal_links"), 12, "one link per sign-in email, none left unused")
    -- 16 at 4/s from a full bucket of 4: 3 s at the least.
    t.ok(msgs[16].at - msgs[1].at >= (16 - RATE) / RATE - SLACK,
         ("the burst took %.3f s"):format(msgs[16].at - msgs[1].at))
    keeps_to(t, msgs, RATE, SLACK)
end

function T.a_sign_in_link_is_not_starved_by_a_queue_of_campaigns(t)
    local RATE = 2
    -- Eight send workers stand for several hosts' campaigns waiting at once.
    setup(t, RATE, { backoff_base = 0.05, concurrency = { default = 10, send = 8 } })
    local campaigns = {}
    for i = 1, 14 do
        campaigns[i] = mail.campaign()
        assert(wm.jobs.enqueue("send", { campaign_id = campaigns[i] }))
    end
    t.wait_for("the campaigns to be under way", function() return #sent() >= 3 end, 20)
    local id, email = customer()
    local asked = wm.now()
    assert(wm.jobs.enqueue("portal_welcome", { customer_id = id, kind = "link" }))
    t.wait_for("the sign-in link", function() return sent_to(email) == 1 end, 20)
    local took = wm.now() - asked
    local waiting = count("SELECT count(*)::int AS n FROM campaigns WHERE status = 'pending'")
    -- It waits for the next token (0.5 s) and for the campaigns that already
    -- held one, not behind the eight waiting ones (4 s) or the queue (5 s).
    t.ok(took < 2.5, ("the sign-in link took %.3f s"):format(took))
    t.ok(waiting >= 5, ("campaigns still waiting when it went: %d"):format(waiting))
    settled(t, 40)
    for _, c in ipairs(campaigns) do
        local row = mail.campaign_row(c)
        t.eq(row.status, "sent")
        t.eq(sent_to(row.message_id:gsub("^<(.*)>$", "%1")), 1, "campaign " .. c .. " went once")
    end
    local msgs = sent()
    t.eq(#msgs, 15)
    keeps_to(t, msgs, RATE, SLACK)
end

function T.a_booked_transactional_slot_holds_outreach_back(t)
    setup(t, 1)
    -- Two at 1/s from a full bucket of 1: the first goes at once, the
    -- second books a slot 1 s ahead and sleeps on it.
    t.eq(mail_limit.turn("transactional"), nil)
    local second = wm.spawn(function() return mail_limit.turn("transactional") end)
    t.wait_for("the second to book its slot", function()
        return count("SELECT count(*)::int AS n FROM rate_limits WHERE name = 'mail:outbox' AND tokens < 0") == 1
    end, 5)
    local later = mail_limit.turn("outreach")
    t.ok(outcome.is(later), "outreach waits")
    t.eq(later.outcome, outcome.snooze(1).outcome, "as a snooze: no attempt spent")
    -- Until a whole token is there after the booked slot: 2 s from the
    -- booking; its own token alone would be 1 s at most.
    t.ok(later.delay > 1.2 and later.delay <= 2.05, ("outreach waits %.3f s"):format(later.delay))
    local ok, res = second:wait()
    t.eq(ok, true)
    t.eq(res, nil, "the second transactional went")
    wm.sleep(later.delay + 0.05)
    t.eq(mail_limit.turn("outreach"), nil, "outreach goes once its token is there")
end

-- Through SendGrid (tests/fakes/sendgrid.py) with its limit set: the
-- sign-in link takes a token from its bucket, and a 429 (a quota the bucket did
-- not know about) snoozes the job, spending no attempt, then sends it once.
function T.a_throttled_sign_in_link_snoozes_and_goes_once(t)
    setup(t, 0)
    local fake = dofile(wm.root .. "/tests/fakes/start.lua")("sendgrid.py", "10", "SG.test-key")
    t.config("providers", { mail = "sendgrid" })
    t.config("mail", { rate_limits = { smtp = 0, sendgrid = 5, ses = 14, outbox = 0 } })
    t.config("sendgrid", { api_key = "SG.test-key", base_url = fake, timeout = 5, retry_after = 60,
                           sandbox = false, webhook_public_key = "", inbound_token = "" })
    local id, email = customer()
    email = "throttle-" .. email
    assert(wm.db.query("UPDATE customers SET email = $2 WHERE id = $1", id, email))
    local job = { id = 0, kind = "portal_welcome", attempt = 1, max_attempts = 5,
                  payload = { customer_id = id, kind = "link" } }
    local stage = require "stages.portal_welcome"
    local first = stage.run(job)
    t.eq(first.outcome, outcome.snooze(1).outcome, tostring(first))
    t.ok(first.delay >= 1 and first.delay <= 3, "until X-RateLimit-Reset (got " .. tostring(first.delay) .. ")")
    t.match(tostring(stage.run(job)), "^outcome%.done")
    local log = wm.json.decode(assert(wm.http.get(fake .. "/_log", { timeout = 10 })).body)
    local statuses = {}
    for _, e in ipairs(log) do
        if type(e.json) == "table" and e.json.personalizations[1].to[1].email == email then
            statuses[#statuses + 1] = e.status
        end
    end
    t.eq(statuses, { 429, 202 }, "refused once, then sent once")
    t.eq(count("SELECT count(*)::int AS n FROM rate_limits WHERE name = 'mail:sendgrid'"), 1,
         "SendGrid's own bucket was taken")
end

function T.the_outbox_with_no_limit_takes_nothing(t)
    setup(t, 0)
    t.config("mail", { rate_limits = { smtp = 0, sendgrid = 0, ses = 14 } })
    local started = wm.monotonic()
    for _ = 1, 20 do
        t.eq(mail_limit.turn("transactional"), nil)
        t.eq(mail_limit.turn("outreach"), nil)
    end
    t.ok(wm.monotonic() - started < 1)
    t.eq(count("SELECT count(*)::int AS n FROM rate_limits"), 0, "no bucket at all")
    local c = mail.campaign()
    t.match(tostring(mail.send(c)), "^outcome%.done")
    t.eq(mail.campaign_row(c).status, "sent")
end

return T
