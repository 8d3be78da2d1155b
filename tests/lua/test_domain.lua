-- The domain layer and what hangs on it: each transition checks the state
-- it comes from; thresholds come from config only; a mail provider's
-- answer (not its message) decides between retry and hold; nothing stuck
-- goes unseen (`wm campaigns stuck`, the outbox resolving its own); one
-- cold email per address, whichever business it belongs to.
local T = {}

local campaigns = require "domain.campaigns"
local businesses = require "domain.businesses"
local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(t)
    web.fresh_schema()
    wm.config.paths.var = t.tmpdir()
    require("lib.tracking").reset_key()
    local saved = wm.config.providers.mail
    t.defer(function() wm.config.providers.mail = saved end)
end

-- A business with a preview site and a pending campaign to `email` (by
-- `provider`, default the outbox): the campaign's id and the business's.
local function campaign(email, provider)
    local id, _, bid = mail.campaign { email = email, provider = provider or "outbox" }
    return id, bid
end

-- Runs the send stage; returns ok, err, {retry_in=, discard=} read from its outcome.
local function send(id)
    local o = mail.send(id)
    local codes = require "wm.core.jobs"
    if o.outcome == codes.COMPLETED then
        return true
    end
    return nil, o.error, { retry_in = o.delay, discard = o.outcome == codes.DISCARD or nil }
end

local function status(id)
    return one("SELECT status FROM campaigns WHERE id = $1", id).status
end

-- A mail provider for the test, answering what `answer` says.
local function provider(t, answer)
    local calls = {}
    package.loaded["providers.mail.scripted"] = {
        send = function(msg)
            calls[#calls + 1] = msg
            return answer(msg, #calls)
        end,
    }
    t.defer(function() package.loaded["providers.mail.scripted"] = nil end)
    wm.config.providers.mail = "scripted"
    return calls
end

function T.transitions_check_where_they_come_from(t)
    setup(t)
    local id = campaign("a@example.com")
    t.eq(select(2, campaigns.mark_sent(id, "<m@x>", "outbox")), "campaign not sending",
         "pending cannot jump to sent")
    t.ok(campaigns.start_sending(id))
    t.eq(campaigns.start_sending(id), nil, "sending twice is refused")
    t.ok(campaigns.mark_sent(id, "<m@x>", "outbox"))
    t.eq(status(id), "sent")
    t.eq(campaigns.release(id, "x"), nil, "a sent campaign cannot be released")
    t.eq(one([[SELECT count(*)::int AS n FROM activity_log WHERE entity_id = $1 AND action = 'campaign.sent']],
             id).n, 1, "one activity row for the change")
end

function T.lower_thresholds_in_config_reach_site_planning(t)
    setup(t)
    local _, bid = campaign("low@example.com")
    one("UPDATE businesses SET rating = 3.6, review_count = 4, website_status = 'none' WHERE id = $1 RETURNING id", bid)
    local plan = require "stages.plan_sites"
    assert(wm.db.tx(function(q) return plan.pick(q, bid) end))
    t.eq(one("SELECT website_status FROM businesses WHERE id = $1", bid).website_status, "none",
         "below the configured gates: no site")
    local saved = { wm.config.qualify.min_rating, wm.config.qualify.min_reviews }
    t.defer(function() wm.config.qualify.min_rating, wm.config.qualify.min_reviews = saved[1], saved[2] end)
    wm.config.qualify.min_rating, wm.config.qualify.min_reviews = 3.5, 3
    assert(wm.db.tx(function(q) return plan.pick(q, bid) end))
    t.eq(one("SELECT website_status FROM businesses WHERE id = $1", bid).website_status, "generating",
         "lowered in config: the qualified lead gets a site")
    t.eq(businesses.start_site(bid), nil, "and never twice")
end

function T.one_cold_email_per_address_across_businesses(t)
    setup(t)
    local a = campaign("Shared@Example.com")
    local b = campaign("shared@example.com")
    local c = campaign("other@example.com")
    -- Sent at once, as two hosts would.
    local t1 = wm.spawn(send, a)
    local t2 = wm.spawn(send, b)
    t1:wait(30)
    t2:wait(30)
    assert(send(c))
    local sent = one([[SELECT count(*)::int AS n FROM campaigns WHERE lower(recipient_email) = 'shared@example.com'
        AND status = 'sent']]).n
    t.eq(sent, 1, "the shared address got one email")
    local skipped = one([[SELECT error_message FROM campaigns WHERE lower(recipient_email) = 'shared@example.com'
        AND status = 'failed']])
    t.match(skipped.error_message, "address already emailed", "the other is skipped, with the reason")
    t.eq(status(c), "sent")
    local files = wm.fs.list_dir(wm.config.paths.var .. "/outbox")
    local eml = 0
    for _, f in ipairs(files) do
        if f:match("%.eml$") then eml = eml + 1 end
    end
    t.eq(eml, 2, "two files in the outbox")
end

function T.not_sent_goes_back_and_is_retried(t)
    setup(t)
    local calls = provider(t, function(_, i)
        if i == 1 then
            return nil, "421 try later", { sent = false, retry_after = 7 }
        end
        return { message_id = "<ok-" .. i .. "@x>" }
    end)
    local id = campaign("retry@example.com", "scripted")
    local ok, err, opts = send(id)
    t.eq(ok, nil)
    t.match(err, "421")
    t.eq(opts.retry_in, 7, "the provider's retry_after is honoured")
    t.eq(opts.discard, nil)
    t.eq(status(id), "pending", "nothing left: back to pending")
    t.ok(send(id))
    t.eq(status(id), "sent")
    t.eq(#calls, 2)
    t.eq(one("SELECT retry_count FROM campaigns WHERE id = $1", id).retry_count, 1)
end

function T.permanent_refusal_fails_the_campaign(t)
    setup(t)
    provider(t, function() return nil, "550 no such user", { sent = false, permanent = true } end)
    local id = campaign("gone@example.com", "scripted")
    local ok, _, opts = send(id)
    t.eq(ok, nil)
    t.eq(opts.discard, true)
    t.eq(status(id), "failed")
end

function T.uncertain_send_is_held_listed_and_never_resent(t)
    setup(t)
    local calls = provider(t, function() return nil, "connection dropped after DATA", { sent = "unknown" } end)
    local id, bid = campaign("maybe@example.com", "scripted")
    local ok, err, opts = send(id)
    t.eq(ok, nil)
    t.eq(opts.discard, true, "the job says it failed, it does not claim completion")
    t.match(err, "wm campaigns stuck")
    t.eq(status(id), "sending", "held")
    -- A second run (a retry by hand, a rescued lease) sends nothing.
    local ok2, err2, opts2 = send(id)
    t.eq(ok2, nil)
    t.eq(opts2.discard, true)
    t.match(err2, "sending")
    t.eq(#calls, 1, "never handed to the provider twice")
    -- The operator sees it: the CLI, the gauge.
    local rows = assert(campaigns.stuck())
    t.eq(#rows, 1)
    t.eq(rows[1].id, id)
    t.eq(campaigns.stuck_count(), 1)
    -- and resolves it.
    assert(wm.db.tx(function() return campaigns.resolve(id, "sent", { type = "user" }) end))
    t.eq(status(id), "sent")
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", bid).contact_status, "emailed")
end

function T.outbox_resolves_its_own_after_a_crash(t)
    setup(t)
    wm.config.providers.mail = "outbox"
    -- A crash after the file was written, before the commit: simulate by
    -- writing through the provider with the campaign left in 'sending'.
    local outbox = require "providers.mail.outbox"
    local written = campaign("crash1@example.com")
    assert(campaigns.start_sending(written, "outbox", outbox.sender()))
    local res = assert(require("providers.mail.outbox").send {
        from = { email = "a@b.example" }, to = { email = "crash1@example.com" }, subject = "s", text = "t",
        campaign_id = written })
    -- A crash before the file was written.
    local lost = campaign("crash2@example.com")
    assert(campaigns.start_sending(lost, "outbox", outbox.sender()))
    -- Claimed by a host with an outbox of its own: no file here proves nothing.
    local elsewhere = campaign("crash3@example.com")
    assert(campaigns.start_sending(elsewhere, "outbox", "otherhost:/srv/wm/var/outbox"))
    t.eq(campaigns.stuck_count(), 3)
    t.eq(campaigns.auto_resolve(), 2)
    t.eq(status(written), "sent", "its file exists: it was sent")
    t.eq(one("SELECT message_id FROM campaigns WHERE id = $1", written).message_id, res.message_id)
    t.eq(status(lost), "pending", "no file: released")
    t.ok(wm.db.one("SELECT id FROM jobs WHERE kind = 'send' AND payload->>'campaign_id' = $1", lost),
         "and queued to be sent again")
    t.eq(status(elsewhere), "sending", "another host's campaign stays held, never resent from here")
    t.eq(campaigns.stuck_count(), 1)
end

function T.cli_lists_and_resolves_stuck(t)
    setup(t)
    local id = campaign("cli@example.com", "smtp")
    assert(campaigns.start_sending(id))
    assert(campaigns.hold(id, "timeout after DATA\nsecond line"))
    local env = { WM_PATHS_VAR = wm.config.paths.var }
    local function wmcli(...)
        local res = assert(wm.exec { argv = { os.getenv("WM_TEST_WM"), ... }, env = env, timeout = 30 })
        return res
    end
    local r = wmcli("campaigns", "stuck")
    t.eq(r.code, 0, r.stderr)
    t.ok(r.stdout:find(id, 1, true), "the stuck campaign is listed: " .. r.stdout)
    t.match(r.stdout, "timeout after DATA second line", "its error on one line")
    r = wmcli("campaigns", "resolve", id, "bogus")
    t.eq(r.code, 2)
    r = wmcli("campaigns", "resolve", id, "release")
    t.eq(r.code, 0, r.stderr)
    t.eq(status(id), "pending")
    r = wmcli("campaigns", "resolve", id, "release")
    t.eq(r.code, 1, "not stuck any more")
    t.match(r.stderr, "not in 'sending'")
    r = wmcli("campaigns", "stuck")
    t.match(r.stdout, "No campaign is stuck")
    -- wm jobs ls stays a table when an error has several lines.
    assert(wm.db.query([[INSERT INTO jobs (kind, payload, status, last_error)
        VALUES ('send', '{}', 'discarded', E'line one\nline two\n\ttraceback')]]))
    r = wmcli("jobs", "ls", "--status", "discarded")
    t.eq(r.code, 0, r.stderr)
    local lines = {}
    for l in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = l end
    t.eq(#lines, 2, "header and one row: " .. r.stdout)
    t.match(lines[2], "line one line two traceback")
end

function T.llm_throttling_snoozes_instead_of_spending_attempts(t)
    local pipeline = require "lib.pipeline"
    local codes = require "wm.core.jobs"
    local o = pipeline.llm_failure("anthropic 429 rate_limit_error", { permanent = false, status = 429, retry_after = 12 })
    t.eq(o.outcome, codes.SNOOZE, "429: wait, no attempt spent")
    t.eq(o.delay, 12, "for as long as the provider said")
    t.eq(pipeline.llm_failure("anthropic 529 overloaded", { permanent = false, status = 529 }).delay, 30,
        "529 without Retry-After")
    o = pipeline.llm_failure("anthropic 500", { permanent = false, status = 500, retry_after = 3 })
    t.eq(o.outcome, codes.RETRY, "a server error spends an attempt")
    t.eq(o.delay, 3)
    t.eq(pipeline.llm_failure("anthropic 401", { permanent = true, status = 401 }).outcome, codes.DISCARD)
    t.eq(pipeline.llm_failure("refusal: the model declined to answer", { permanent = true }).outcome, codes.DISCARD,
        "decided by the value, whatever the words")
    t.eq(pipeline.llm_failure("fatal-sounding words", { permanent = false }).outcome, codes.RETRY)
    t.eq(pipeline.llm_failure("no call at all").outcome, codes.RETRY, "without a call: retried")
end

return T
