-- The smtp mail provider through the real send stage against real servers
-- started here: Postfix's smtp-sink (plain delivery) and aiosmtpd
-- (tests/mail/smtpd.py: STARTTLS with a throwaway certificate, AUTH, and
-- scripted failures). Each failure must give the right answer and leave the
-- campaign where the send stage's rules say: refused before the message
-- went out -> pending (or failed when permanent); gone out without an
-- answer -> 'sending', never sent again. Also kill -9 of wm between the
-- server's acceptance and the commit, and the shared rate limit.
local T = {}

local codes = require "wm.core.jobs"
local smtp = require "providers.mail.smtp"
local ratelimit = require "lib.ratelimit"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")
local WM = os.getenv("WM_TEST_WM")
local SINK_PORT = 19210

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function status(id)
    return one("SELECT status FROM campaigns WHERE id = $1", id).status
end


local function setup(t, smtp_cfg)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    t.config("providers", { mail = "smtp" })
    local s = { url = "", username = "", password = "", starttls = "required", ca_file = "", timeout = 10,
                retry_after = 60, bounce_domain = "" }
    for k, v in pairs(smtp_cfg or {}) do
        s[k] = v
    end
    t.config("mail", { smtp = s, rate_limits = { smtp = 0, sendgrid = 0, ses = 14 } })
end

local function read(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

-- tests/mail/smtpd.py in `mode`; returns {url=, dir=, events(kind)}.
local function smtpd(t, mode, ...)
    local dir = t.tmpdir()
    local argv = { "/usr/bin/python3", here .. "/smtpd.py", dir, mode, ... }
    wm.spawn(function()
        local res, err = wm.exec { argv = argv, timeout = 600 }
        if not res or (res.code ~= 0 and res.signal == nil) then
            wm.log.warn("smtpd ended", { err = err, stderr = res and res.stderr })
        end
    end)
    local port = t.wait_for("smtpd's port", function() return read(dir .. "/port") end, 30)
    local pid = read(dir .. "/pid")
    t.defer(function() wm.exec { argv = { "kill", "-9", pid } } end)
    return {
        url = "smtp://127.0.0.1:" .. port .. "/wm.test",
        dir = dir,
        events = function(kind)
            local out = {}
            for line in (read(dir .. "/log.jsonl") or ""):gmatch("[^\n]+") do
                local ev = wm.json.decode(line)
                if not kind or ev.ev == kind then
                    out[#out + 1] = ev
                end
            end
            return out
        end,
    }
end

-- Postfix's smtp-sink on SINK_PORT, dumping each message to <dir>/dump.
local function sink(t)
    local dir = t.tmpdir()
    assert(wm.exec { argv = { "chmod", "777", dir } })
    local argv = { "/usr/sbin/smtp-sink", "-D", dir .. "/dump", "127.0.0.1:" .. SINK_PORT, "64" }
    if wm.sys.getuid() == 0 then   -- smtp-sink must drop root itself
        table.insert(argv, 2, "-u")
        table.insert(argv, 3, "nobody")
    end
    local task = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", 'echo $$ > "$0/pid"; exec "$@"', dir, unpack(argv) }, timeout = 600 }
    end)
    local pid = t.wait_for("smtp-sink's pid", function() return read(dir .. "/pid") end, 10)
    t.defer(function() wm.exec { argv = { "kill", "-9", (pid:gsub("%s", "")) } } end)
    t.wait_for("smtp-sink listening", function()
        local r = wm.exec { argv = { "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" .. SINK_PORT } }
        return r and r.code == 0
    end, 10)
    return { url = "smtp://127.0.0.1:" .. SINK_PORT .. "/wm.test", dump = dir .. "/dump", task = task }
end

function T.plain_delivery_to_smtp_sink(t)
    local s = sink(t)
    setup(t, { url = s.url, starttls = "off" })
    local ids = {}
    for i = 1, 3 do
        ids[i] = mail.campaign()
        local o = mail.send(ids[i])
        t.eq(o.outcome, codes.COMPLETED, tostring(o))
        local c = one("SELECT status, message_id, email_provider FROM campaigns WHERE id = $1", ids[i])
        t.eq(c.status, "sent")
        t.eq(c.email_provider, "smtp")
        t.match(c.message_id, "^<%x+@webmagic%.example>$")
    end
    local dump = t.wait_for("three messages in the sink", function()
        local d = read(s.dump) or ""
        local _, k = d:gsub("X%-Mail%-Args:", "")
        return k == 3 and d
    end, 10)
    -- The envelope sender is the campaign's own VERP address.
    for _, id in ipairs(ids) do
        t.ok(dump:find("X-Mail-Args: <" .. smtp.bounce_address(id, "webmagic.example") .. ">", 1, true),
             "VERP sender for " .. id)
    end
    t.match(dump, "List%-Unsubscribe%-Post: List%-Unsubscribe=One%-Click")
    -- A lone "." line inside a payload is dot-stuffed (else it would end
    -- the message early and the rest would be read as commands), and so is
    -- one between bare line ends: every line end leaves as CRLF, so no
    -- <LF>.<LF> or <LF>.<CR><LF> can end the message at a relay that reads
    -- it so (SMTP smuggling), and the MAIL FROM after it stays text.
    local core = require "wm.core.smtp"
    local res = assert(core.send { url = s.url, from = "a@wm.test", to = "b@shop.test",
        starttls = "off", timeout = 10, body = "Subject: dots\r\n\r\nbefore\r\n.\r\nQUIT\r\n..two\r\nend\r\n" })
    t.eq(res.code, 250)
    res = assert(core.send { url = s.url, from = "a@wm.test", to = "b@shop.test", starttls = "off", timeout = 10,
        body = "Subject: smuggle\n\nbare\n.\nMAIL FROM:<evil@x.test>\r\nlf\n.\r\nRCPT TO:<c@x.test>\rcr\r.\rlast" })
    t.eq(res.code, 250)
    dump = t.wait_for("the dotted messages", function()
        local d = read(s.dump) or ""
        return d:find("Subject: dots", 1, true) and d:find("Subject: smuggle", 1, true) and d
    end, 10)
    t.match(dump, "before\r?\n%.\r?\nQUIT\r?\n%.%.two\r?\nend")
    t.match(dump, "bare\r?\n%.\r?\nMAIL FROM:<evil@x%.test>\r?\nlf\r?\n%.\r?\nRCPT TO:<c@x%.test>\r?\ncr\r?\n%.\r?\nlast")
    local _, nmsg = dump:gsub("X%-Mail%-Args:", "")
    t.eq(nmsg, 5, "three campaigns and two dotted messages: nothing smuggled in")
    t.eq(smtp.campaign_of(smtp.bounce_address(ids[1], "webmagic.example")), ids[1])
    t.eq(select(2, smtp.campaign_of("bounce+" .. ids[1]:gsub("-", "") .. "0000000000000000@webmagic.example")),
         "bad signature")
end

function T.starttls_required_refuses_a_relay_without_it(t)
    local s = sink(t)
    setup(t, { url = s.url })   -- starttls = "required" by default
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY, tostring(o))
    t.match(o.error, "tls")
    t.eq(status(id), "pending", "nothing went out: back to pending")
    wm.sleep(0.3)
    t.eq(read(s.dump), nil, "no message reached the sink")
end

function T.starttls_and_auth_one_session_for_several_messages(t)
    local d = smtpd(t, "ok", "--tls", "--auth", "wm:s3cret pass")
    setup(t, { url = d.url, username = "wm", password = "s3cret pass", ca_file = d.dir .. "/cert.pem" })
    for _ = 1, 3 do
        local id, email = mail.campaign()
        local o = mail.send(id)
        t.eq(o.outcome, codes.COMPLETED, tostring(o))
        t.eq(status(id), "sent")
        local got = d.events("data")
        t.eq(got[#got].rcpt, { email })
        t.ok(got[#got].tls, "the message went over TLS")
        t.eq(got[#got].auth, "wm")
        t.match(got[#got].mail_from, "^bounce%+%x+@webmagic%.example$")
    end
    t.eq(#d.events("connect"), 1, "one session for three messages (connection reused)")
    -- A wrong password: nothing left, not the message's fault.
    wm.config.mail.smtp.password = "wrong"
    wm.config.mail.smtp.username = "wm2"   -- another login: a new session
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY, tostring(o))
    t.match(o.error, "auth")
    t.eq(status(id), "pending")
end

-- The certificate is checked: the relay's self-signed one is not trusted
-- without its CA file, and nothing goes out.
function T.tls_refuses_an_untrusted_certificate(t)
    local d = smtpd(t, "ok", "--tls")
    setup(t, { url = d.url })   -- the system's CAs
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY, tostring(o))
    t.match(o.error, "tls")
    t.match(o.error, "certificate")
    t.eq(status(id), "pending")
    t.eq(#d.events("data"), 0)
end

-- smtps://: TLS from the first byte (the server speaks nothing else).
function T.implicit_tls_smtps(t)
    local d = smtpd(t, "ok", "--implicit-tls")
    setup(t, { url = d.url:gsub("^smtp:", "smtps:"), ca_file = d.dir .. "/cert.pem" })
    local id, email = mail.campaign()
    t.eq(mail.send(id).outcome, codes.COMPLETED)
    t.eq(status(id), "sent")
    t.eq(d.events("data")[1].rcpt, { email })
end

-- A kept session the relay has dropped meanwhile: the next message finds
-- it dead before any reply and goes once more on a fresh session; it is
-- delivered once.
function T.a_dropped_idle_session_is_replaced(t)
    local d = smtpd(t, "drop_reused")
    setup(t, { url = d.url, starttls = "off" })
    local first, second = mail.campaign(), mail.campaign()
    t.eq(mail.send(first).outcome, codes.COMPLETED)
    t.eq(mail.send(second).outcome, codes.COMPLETED)
    t.eq(status(second), "sent")
    t.eq(#d.events("dropped"), 1, "the kept session was tried first")
    t.eq(#d.events("data"), 2, "each message once")
    t.eq(#d.events("connect"), 2)
end

-- Misuse raises, naming the function; nothing is left running.
function T.send_refuses_bad_arguments(t)
    local core = require "wm.core.smtp"
    local base = { url = "smtp://127.0.0.1:1", from = "a@example.com", to = "b@example.com", body = "x" }
    local function raises(extra, want)
        local o = {}
        for k, v in pairs(base) do o[k] = v end
        for k, v in pairs(extra) do o[k] = v end
        local ok, msg = pcall(core.send, o)
        t.ok(not ok and tostring(msg):find(want, 1, true), want .. ": " .. tostring(msg))
    end
    raises({ timeout = 0 }, "wm.core.smtp.send: timeout must be a positive number of seconds")
    raises({ ca_file = true }, "wm.core.smtp.send: ca_file must be a string")
    raises({ url = "http://127.0.0.1:1" }, "must start smtp:// or smtps://")
    raises({ url = "smtp://127.0.0.1:99999" }, "port must be 1 to 65535")
    raises({ url = "smtp://127.0.0.1/ehlo name" }, "EHLO name")
    raises({ from = "a b@example.com" }, "bad envelope sender")
    raises({ to = "<b@example.com>" }, "bad recipient")
    raises({ to = { "b@example.com", "c\r\nDATA@example.com" } }, "bad recipient")
    raises({ starttls = "maybe" }, "starttls must be")
    raises({ body = 5 }, "body must be a string")
    t.eq(core.active(), 0)
    -- Nobody listening: a connect failure, nothing sent.
    local res, err, info = core.send(base)
    t.eq(res, nil)
    t.match(err, "^connect: ")
    t.eq(info.data, "none")
    t.eq(core.active(), 0)
end

function T.greeting_421_is_throttling(t)
    local d = smtpd(t, "greet421")
    setup(t, { url = d.url, starttls = "off", retry_after = 42 })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.SNOOZE, tostring(o))
    t.eq(o.delay, 42, "waits mail.smtp.retry_after")
    t.eq(status(id), "pending")
end

function T.rcpt_452_is_throttling_then_sent_once(t)
    local d = smtpd(t, "rcpt452")
    setup(t, { url = d.url, starttls = "off" })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.SNOOZE, tostring(o))
    t.eq(status(id), "pending")
    t.eq(#d.events("data"), 0)
    -- The relay recovers: the same campaign goes out, once.
    local ok = smtpd(t, "ok")
    wm.config.mail.smtp.url = ok.url
    t.eq(mail.send(id).outcome, codes.COMPLETED)
    t.eq(status(id), "sent")
    t.eq(mail.send(id).outcome, codes.COMPLETED, "a second run does nothing")
    t.eq(#ok.events("data"), 1)
end

function T.reject_554_after_data_is_permanent(t)
    local d = smtpd(t, "data554")
    setup(t, { url = d.url, starttls = "off" })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD, tostring(o))
    t.match(o.error, "554")
    t.eq(status(id), "failed")
end

-- SIZE (RFC 1870): the MAIL FROM declares the message's size; one over
-- what the relay takes is refused before any of it is sent, for good.
function T.size_is_declared_and_an_oversize_message_is_not_sent(t)
    local roomy = smtpd(t, "ok", "--size", "1000000")
    setup(t, { url = roomy.url, starttls = "off" })
    local id = mail.campaign()
    t.eq(mail.send(id).outcome, codes.COMPLETED)
    local got = roomy.events("data")
    t.eq(#got, 1)
    local declared = tonumber((table.concat(got[1].mail_options, " ")):match("SIZE=(%d+)"))
    t.ok(declared, "MAIL FROM carries SIZE=: " .. wm.json.encode(got[1].mail_options))
    local body = #got[1].body
    t.ok(declared >= body and declared <= body + 64 + body / 10, ("declared %d for %d bytes"):format(declared, body))

    local tight = smtpd(t, "ok", "--size", "1000")
    setup(t, { url = tight.url, starttls = "off" })
    id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD, tostring(o))
    t.match(o.error, "over the 1000")
    t.eq(status(id), "failed")
    t.eq(#tight.events("data"), 0, "not a byte of it was sent")
    t.eq(#tight.events("connect"), 1)
end

function T.dropped_after_data_stays_sending(t)
    local d = smtpd(t, "drop_after_data")
    setup(t, { url = d.url, starttls = "off" })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.DISCARD, tostring(o))
    t.eq(status(id), "sending", "may have been delivered: left for a person")
    local stuck = require("domain.campaigns").stuck()
    t.eq(#stuck, 1)
    t.eq(stuck[1].id, id)
    t.eq(stuck[1].email_provider, "smtp")
    t.eq(require("domain.campaigns").auto_resolve(), 0, "smtp cannot look it up: no guess")
    t.eq(mail.send(id).outcome, codes.DISCARD, "never sent again by itself")
    t.eq(#d.events("data"), 1)
end

function T.stall_after_data_times_out_as_unknown(t)
    local d = smtpd(t, "stall_after_data", "--stall", "30")
    setup(t, { url = d.url, starttls = "off", timeout = 2 })
    local id = mail.campaign()
    local t0 = wm.monotonic()
    local o = mail.send(id)
    t.ok(wm.monotonic() - t0 < 10, "the timeout, not the stall")
    t.eq(o.outcome, codes.DISCARD, tostring(o))
    t.eq(status(id), "sending")
end

function T.stall_at_greeting_times_out_as_not_sent(t)
    local d = smtpd(t, "stall_greeting")
    setup(t, { url = d.url, starttls = "off", timeout = 2 })
    local id = mail.campaign()
    local o = mail.send(id)
    t.eq(o.outcome, codes.RETRY, tostring(o))
    t.match(o.error, "timeout")
    t.eq(status(id), "pending")
end

-- wm dies after the relay accepted the message and before 'sent' is
-- committed: the campaign stays 'sending' and is never sent again.
function T.kill_9_between_acceptance_and_commit(t)
    local d = smtpd(t, "hold")
    setup(t, { url = d.url, starttls = "off" })
    local id = mail.campaign()
    local dir = t.tmpdir()
    local env = {
        WM_DATABASE_URL = wm.config.database.url, WM_PATHS_VAR = wm.config.paths.var,
        WM_PROVIDERS_MAIL = "smtp", WM_MAIL_SMTP_URL = d.url, WM_MAIL_SMTP_STARTTLS = "off",
        WM_LOG_LEVEL = "warn",
    }
    local child = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", 'echo $$ > "$0/pid"; exec "$@"', dir, WM, "run", here .. "/send_one.lua", id },
                         env = env, timeout = 60 }
    end)
    local pid = t.wait_for("the child's pid", function() return read(dir .. "/pid") end, 10):gsub("%s", "")
    t.defer(function() wm.exec { argv = { "kill", "-9", pid } } end)
    t.wait_for("the message at the server", function() return #d.events("data") == 1 end, 30)
    t.eq(status(id), "sending")
    -- Hold the campaign's row so the child's 'sent' cannot commit, then
    -- let the server accept.
    local release = false
    local holder = wm.spawn(function()
        return wm.db.tx(function(q)
            assert(q:query("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", id))
            while not release do
                wm.sleep(0.02)
            end
            return true
        end)
    end)
    t.wait_for("the row lock", function()
        return one([[SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'campaigns' AND l.mode = 'RowShareLock' AND l.granted]]).n > 0
    end, 10)
    assert(io.open(d.dir .. "/go", "w")):close()
    t.wait_for("the server's 250", function() return #d.events("replied") == 1 end, 10)
    t.wait_for("the child blocked on the commit", function()
        return one("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted").n > 0
    end, 10)
    assert(wm.exec { argv = { "kill", "-9", pid } })
    child:wait(10)
    release = true
    holder:wait(10)
    t.eq(d.events("replied")[1].code, 250, "the server accepted it")
    t.eq(status(id), "sending", "left in 'sending'")
    t.eq(mail.send(id).outcome, codes.DISCARD, "never sent again")
    t.eq(#d.events("data"), 1, "one message at the server")
end

function T.rate_limit_shared_token_bucket(t)
    setup(t)
    -- 20/s with a bucket of 20: 40 takes from 4 tasks take about a second.
    local t0 = wm.monotonic()
    local tasks = {}
    for i = 1, 4 do
        tasks[i] = wm.spawn(function()
            for _ = 1, 10 do
                assert(ratelimit.wait("test:a", 20, { max_wait = 10 }))
            end
        end)
    end
    for _, task in ipairs(tasks) do
        assert(task:wait(30))
    end
    local elapsed = wm.monotonic() - t0
    t.ok(elapsed >= 0.9 and elapsed < 3, "40 at 20/s after a burst of 20: " .. elapsed .. " s")
    -- A queue longer than max_wait reserves nothing and says when to come back.
    t.eq(ratelimit.take("test:b", 1, { max_wait = 2 }), 0)
    t.near(ratelimit.take("test:b", 1, { max_wait = 2 }), 1, 0.2)
    t.near(ratelimit.take("test:b", 1, { max_wait = 2 }), 2, 0.2)
    local w, retry = ratelimit.take("test:b", 1, { max_wait = 2 })
    t.eq(w, nil)
    t.near(retry, 1, 0.2)
    t.eq(ratelimit.take("test:c", 0), 0, "no rate: no limit")
    -- Through the send stage: a second message in the same second is
    -- throttled before its claim (snoozed, still pending), never lost.
    local s = sink(t)
    wm.config.mail.smtp.url = s.url
    wm.config.mail.smtp.starttls = "off"
    wm.config.mail.rate_limits = { smtp = 0.001, sendgrid = 0, ses = 14 }
    local a, b = mail.campaign(), mail.campaign()
    t.eq(mail.send(a).outcome, codes.COMPLETED)
    local o = mail.send(b)
    t.eq(o.outcome, codes.SNOOZE, tostring(o))
    t.eq(status(b), "pending")
end

return T
