-- The mailbox reader (stages/poll_inbox.lua, lib/inbox.lua, lib/dsn.lua)
-- against a real IMAP server started here: a throwaway Dovecot (Debian
-- dovecot-imapd, installed by .ci/setup.sh --test) on 127.0.0.1 with IMAPS
-- only, a self-signed certificate trusted through mail.inbox.ca_file, a
-- passwd-file login and a Maildir the test delivers into. Each case puts a
-- message in the mailbox, polls through libcurl, and checks the campaign,
-- the suppression list and what was kept; then that the message is \Seen.
-- Also the parsers on mutated input: never a Lua error, only nil, err.
local T = {}

local smtp = require "providers.mail.smtp"
local replies = require "lib.replies"
local dsn = require "lib.dsn"
local inbox = require "lib.inbox"
local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")

local BASE_PORT = 19951
local PORT
local started = 0
local DOVECOT = "/usr/sbin/dovecot"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function write(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
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

local function sh(cmd)
    local r = assert(wm.exec { argv = { "sh", "-c", cmd } })
    return r
end

-- Dovecot in a fresh folder; returns {dir=, maildir=}.
local function dovecot(t)
    if not wm.fs.stat(DOVECOT) then
        t.skip("dovecot-imapd is not installed (.ci/setup.sh --test installs it)")
    end
    if wm.sys.getuid() ~= 0 then
        t.skip("the throwaway Dovecot here runs its mail processes as nobody: needs root")
    end
    -- A port of its own each: the last test's Dovecot may still be stopping.
    PORT = BASE_PORT + started
    started = started + 1
    local dir = t.tmpdir()
    sh(("chmod 755 %q && mkdir -p %q/run %q/state %q/home/wm/Maildir/new %q/home/wm/Maildir/cur %q/home/wm/Maildir/tmp")
        :format(dir, dir, dir, dir, dir, dir))
    local ok = sh(("openssl req -x509 -newkey rsa:2048 -nodes -keyout %q/key.pem -out %q/cert.pem -days 2 "
        .. "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null"):format(dir, dir))
    t.eq(ok.code, 0, "openssl made a certificate")
    write(dir .. "/users", "wm:{PLAIN}imap-secret\n")
    write(dir .. "/dovecot.conf", ([[
protocols = imap
listen = 127.0.0.1
base_dir = DIR/run
state_dir = DIR/state
log_path = DIR/dovecot.log
ssl = required
ssl_cert = <DIR/cert.pem
ssl_key = <DIR/key.pem
auth_mechanisms = plain
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u DIR/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=DIR/home/%u mail=maildir:DIR/home/%u/Maildir
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = PORT
  }
}
]]):gsub("DIR", dir):gsub("PORT", tostring(PORT)))
    sh(("chown -R 65534:65534 %q/home"):format(dir))
    -- Its daemon keeps inherited pipes open: output goes to a file.
    local r = wm.exec { argv = { "sh", "-c", '"$0" -c "$1/dovecot.conf" > "$1/start.log" 2>&1', DOVECOT, dir } }
    t.eq(r and r.code, 0, "dovecot started: " .. tostring(read(dir .. "/start.log")))
    t.defer(function()
        local pid = read(dir .. "/run/master.pid")
        if pid then
            wm.exec { argv = { "kill", (pid:gsub("%s", "")) } }
            t.wait_for("dovecot stopped", function() return not wm.fs.stat(dir .. "/run/master.pid") end, 10)
        end
    end)
    t.wait_for("dovecot listening", function()
        local c = wm.exec { argv = { "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" .. PORT } }
        return c and c.code == 0
    end, 10)
    return { dir = dir, maildir = dir .. "/home/wm/Maildir" }
end

local delivered = 0
-- Puts a message into the mailbox as a mail server would (Maildir new/).
local function deliver(d, raw)
    delivered = delivered + 1
    local name = ("%d.M%dP%d.wmtest"):format(os.time(), delivered, wm.sys.getpid())
    local tmp = d.maildir .. "/tmp/" .. name
    write(tmp, (raw:gsub("\r?\n", "\r\n")))
    sh(("chown 65534:65534 %q && mv %q %q/new/%s"):format(tmp, tmp, d.maildir, name))
end

local function setup(t, d)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    require("lib.tracking").reset_key()
    t.config("mail", { from_email = "hello@webmagic.test", inbox = {
        url = "imaps://localhost:" .. PORT .. "/INBOX", username = "wm", password = "imap-secret",
        ca_file = d.dir .. "/cert.pem", timeout = 15, batch = 50, max_bytes = 1048576 } })
end

-- A business and a campaign sent to it by smtp.
local function campaign()
    return mail.campaign { status = "sent", provider = "smtp", contact_status = "emailed" }
end

local function poll()
    return require("stages.poll_inbox").poll()
end

local function state(id)
    return one([[SELECT c.status, c.replied_at IS NOT NULL AS replied, b.contact_status,
            (SELECT count(*)::int FROM suppression_list s WHERE s.email = lower(c.recipient_email)) AS suppressed,
            (SELECT count(*)::int FROM mail_events e WHERE e.campaign_id = c.id) AS events
        FROM campaigns c JOIN businesses b ON b.id = c.business_id WHERE c.id = $1]], id)
end

local function seen_all(d)
    local r = sh(("ls %q/new | wc -l; ls %q/cur | grep -vc ',S' || true"):format(d.maildir, d.maildir))
    return r.stdout
end

local function dsn_message(id, email, action, status, mid)
    local verp = smtp.bounce_address(id, "webmagic.test")
    return ([[Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.shop.test>
To: %s
Subject: Undelivered Mail Returned to Sender
Message-ID: <%s@mx.shop.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="BOUND-1"

--BOUND-1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.shop.test. I'm sorry to have to inform you
that your message could not be delivered to one or more recipients.

--BOUND-1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.test
X-Postfix-Queue-ID: 4FD8E1A0
Arrival-Date: Mon, 30 Nov 2026 00:10:00 +0000

Final-Recipient: rfc822; %s
Original-Recipient: rfc822;%s
Action: %s
Status: %s
Diagnostic-Code: smtp; %s

--BOUND-1
Content-Type: text/rfc822-headers

Return-Path: <%s>
From: WebMagic <hello@webmagic.test>
To: %s
Subject: Your new website
Message-ID: %s

--BOUND-1--
]]):format(verp, mid, email, email, action, status, status == "5.1.1" and "550 5.1.1 user unknown"
        or "451 4.2.0 try later", verp, email, replies.message_id(id, "webmagic.test"))
end

function T.dsn_permanent_failure_bounces_and_suppresses(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    local other = campaign()
    deliver(d, dsn_message(id, email, "failed", "5.1.1", "dsn-perm"))
    local c = poll()
    t.eq(c.read, 1)
    t.eq(c.applied, 1)
    local s = state(id)
    t.eq(s.status, "bounced")
    t.eq(s.suppressed, 1)
    t.eq(s.contact_status, "bounced")
    local e = one("SELECT provider, kind, detail FROM mail_events WHERE campaign_id = $1", id)
    t.eq(e.provider, "imap")
    t.eq(e.kind, "bounced")
    t.match(wm.json.encode(e.detail), "5%.1%.1")
    t.eq(one("SELECT count(*)::int AS n FROM suppression_list WHERE email = $1", email).n, 1)
    t.eq(state(other).status, "sent", "another campaign untouched")
    t.eq(seen_all(d), "0\n0\n", "the message was moved to cur/ and flagged \\Seen")
    t.eq(poll().read, 0, "nothing new on the next poll")
end

-- A mailbox whose name has a space, written in the URL as is or
-- percent-encoded: the URL libcurl gets is encoded, STATUS gets a quoted name.
function T.a_mailbox_named_with_a_space(t)
    local d = dovecot(t)
    setup(t, d)
    local box = { maildir = d.maildir .. "/.Bounce Box" }
    sh(("mkdir -p %q/new %q/cur %q/tmp && chown -R 65534:65534 %q"):format(box.maildir, box.maildir, box.maildir,
        box.maildir))
    local id, email = campaign()
    deliver(box, dsn_message(id, email, "failed", "5.1.1", "dsn-box"))
    deliver(d, dsn_message(campaign(), "x@shop.test", "failed", "5.1.1", "dsn-inbox"))
    local cfg = wm.config.mail.inbox
    for _, url in ipairs { "imaps://localhost:" .. PORT .. "/Bounce Box", "imaps://localhost:" .. PORT .. "/Bounce%20Box" } do
        cfg.url = url
        local c = poll()
        t.eq(c.read, url:find(" ") and 1 or 0, url)
    end
    t.eq(state(id).status, "bounced")
    t.eq(one("SELECT count(*)::int AS n FROM mail_events").n, 1, "INBOX was not read")
end

function T.dsn_transient_is_a_soft_bounce(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    deliver(d, dsn_message(id, email, "delayed", "4.2.0", "dsn-soft"))
    t.eq(poll().applied, 1)
    local s = state(id)
    t.eq(s.status, "sent")
    t.eq(s.suppressed, 0)
    t.eq(one("SELECT kind FROM mail_events WHERE campaign_id = $1", id).kind, "soft_bounce")
end

function T.arf_complaint(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    deliver(d, ([[From: feedback@fbl.mailbox.test
To: %s
Subject: Abuse report
Message-ID: <arf-1@fbl.mailbox.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain

This is an email abuse report.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1

--arf
Content-Type: message/rfc822

Return-Path: <%s>
From: WebMagic <hello@webmagic.test>
To: %s
Subject: Your new website
Message-ID: %s

Hi, we built you a website.
--arf--
]]):format(smtp.bounce_address(id, "webmagic.test"), smtp.bounce_address(id, "webmagic.test"), email,
        replies.message_id(id, "webmagic.test")))
    t.eq(poll().applied, 1)
    local s = state(id)
    t.eq(s.status, "complained")
    t.eq(s.suppressed, 1)
    t.eq(s.contact_status, "unsubscribed")
end

local function reply(id, email, subject, body, extra)
    return ([[From: Owner <%s>
To: WebMagic <hello@webmagic.test>
Subject: %s
Message-ID: <%s@shop.test>
In-Reply-To: %s
%sContent-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

%s
]]):format(email, subject, wm.crypto.random_token(8):gsub("[^%w]", "x"), replies.message_id(id, "webmagic.test"),
        extra or "", body)
end

function T.reply_threaded_by_in_reply_to(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    -- From another address: only In-Reply-To can name the campaign.
    deliver(d, reply(id, "partner@elsewhere.test", "Re: Your new website",
                     "Looks great, how much is it per m=\nonth?\n\nOn Mon someone wrote:\n> stop"))
    t.eq(poll().applied, 1)
    local s = state(id)
    t.eq(s.status, "replied")
    t.ok(s.replied)
    t.eq(s.contact_status, "replied")
    t.eq(s.suppressed, 0, "the quoted 'stop' is not the person's")
    local r = one("SELECT kind, body_text, source FROM mail_replies WHERE campaign_id = $1", id)
    t.eq(r.kind, "reply")
    t.eq(r.source, "imap")
    t.match(r.body_text, "how much is it per month%?")
end

function T.out_of_office_is_not_a_reply(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    deliver(d, reply(id, email, "Automatic reply: Your new website", "I am away until Monday.",
                     "Auto-Submitted: auto-replied\n"))
    poll()
    local s = state(id)
    t.eq(s.status, "sent")
    t.ok(not s.replied)
    t.eq(s.events, 0)
    t.eq(one("SELECT kind FROM mail_replies WHERE campaign_id = $1", id).kind, "auto_reply")
end

function T.please_remove_me_suppresses(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    deliver(d, reply(id, email, "Re: Your new website", "Please remove me from your list."))
    poll()
    local s = state(id)
    t.eq(s.suppressed, 1)
    t.eq(s.contact_status, "unsubscribed")
    t.eq(one("SELECT kind FROM mail_replies WHERE campaign_id = $1", id).kind, "unsubscribe")
end

function T.same_message_read_twice_applies_once(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    deliver(d, dsn_message(id, email, "failed", "5.1.1", "dsn-twice"))
    t.eq(poll().applied, 1)
    -- A crash after the effect's commit and before the mailbox learnt it was
    -- handled: the state is lost and the message unread again.
    assert(wm.db.query("DELETE FROM inbox_state"))
    local core = require "wm.core.httpc"
    local cfg = wm.config.mail.inbox
    assert(core.imap { url = cfg.url, command = "UID STORE 1:* -FLAGS (\\Seen)", username = cfg.username,
                       password = cfg.password, ca_file = cfg.ca_file })
    local again = poll()
    t.eq(again.read, 1, "read again")
    t.eq(again.duplicate, 1)
    t.eq(state(id).events, 1, "one effect")
    t.eq(one("SELECT count(*)::int AS n FROM activity_log WHERE entity_id = $1 AND action = 'delivery.bounced'",
             id).n, 1)
end

function T.malformed_message_is_logged_marked_nothing_else(t)
    local d = dovecot(t)
    setup(t, d)
    local id, email = campaign()
    -- A delivery report whose status part is missing, then plain garbage.
    deliver(d, ([[From: MAILER-DAEMON@mx.shop.test
To: %s
Subject: Undelivered
Message-ID: <broken-1@mx.shop.test>
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

failed
--b--
]]):format(smtp.bounce_address(id, "webmagic.test")))
    deliver(d, "\0\1garbage without any header\n\n" .. email .. "\n")
    local c = poll()
    t.eq(c.read, 2)
    t.eq(c.malformed, 2)
    t.eq(state(id).events, 0)
    t.eq(state(id).status, "sent")
    t.eq(one("SELECT count(*)::int AS n FROM mail_replies WHERE kind = 'malformed'").n, 2)
    t.eq(seen_all(d), "0\n0\n", "both marked")
    t.eq(poll().read, 0)
end

function T.bad_password_fails_the_poll(t)
    local d = dovecot(t)
    setup(t, d)
    wm.config.mail.inbox.password = "wrong"
    local ok, err = pcall(poll)
    t.ok(not ok)
    t.match(tostring(err), "auth")
end

-- A CR/LF in a command would start another IMAP command on the session.
function T.imap_command_with_a_line_break_raises(t)
    local core = require "wm.core.httpc"
    for _, cmd in ipairs { "UID STORE 1 +FLAGS (\\Seen)\r\nA1 DELETE INBOX", "NOOP\n", "" } do
        local ok, err = pcall(core.imap, { url = "imaps://127.0.0.1:1/INBOX", command = cmd })
        t.ok(not ok, "refused: " .. cmd)
        t.match(tostring(err), "control characters")
    end
end

-- The MIME reader's decodings: base64 as mail wraps it (and with a stray
-- byte), quoted-printable with soft breaks, an HTML-only body as text.
function T.mime_bodies_are_decoded(t)
    local text = "Hola, \195\191c\195\179mo est\195\161?\nL\195\173nea 2 of a longer line"
    local b64 = wm.crypto.b64_encode(text)
    local wrapped = b64:gsub("(" .. ("."):rep(20) .. ")", "%1\r\n")
    local function body(cte, b, ctype)
        return "From: a@b.test\r\nSubject: x\r\nContent-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\r\n"
            .. "--b1\r\nContent-Type: " .. (ctype or "text/plain") .. "; charset=utf-8\r\nContent-Transfer-Encoding: "
            .. cte .. "\r\n\r\n" .. b .. "\r\n--b1--\r\n"
    end
    t.eq(dsn.text(assert(dsn.parse(body("base64", wrapped)))), text)
    t.eq(dsn.text(assert(dsn.parse(body("BASE64", "\t" .. wrapped:sub(1, 10) .. "*" .. wrapped:sub(11))))), text,
         "a stray byte is skipped")
    t.eq(dsn.text(assert(dsn.parse(body("base64", "!!!")))), "", "nothing decodable is no text")
    t.eq(dsn.text(assert(dsn.parse(body("quoted-printable", "caf=C3=A9 =3D ok=\r\n, one line")))),
         "caf\195\169 = ok, one line")
    t.eq(dsn.text(assert(dsn.parse(body("7bit", "<p>Hi</p>there<BR/>x", "text/html")))), "Hi\n\nthere\nx")
    t.eq(replies.headers("Subject: a\r\n b\r\nsubject: second\r\nX-A:1"), { subject = "a b", ["x-a"] = "1" },
         "unfolded, the first of a repeated name")
end

-- The parsers on mutated real-shaped input: a table or nil, err; never a raise.
function T.parsers_never_raise_on_mutations(t)
    local id = "6f1c2a4e-8b0d-4c3e-9a7f-112233445566"
    local seeds = { dsn_message(id, "a@b.test", "failed", "5.1.1", "x"),
                    reply(id, "a@b.test", "Re: hi", "stop please") }
    local rnd = 12345
    local function rand(k)
        rnd = (rnd * 1103515245 + 12345) % 2147483648
        return rnd % k + 1
    end
    local alphabet = { "\n", "\r\n", "--", "--BOUND-1", ":", ";", "=", "\"", "<", ">", "\0", "boundary=",
                       "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n", "=\n",
                       "Content-Transfer-Encoding: base64\n", "message/rfc822", "\n\n", "Status: 5", "\255" }
    local parsed, refused = 0, 0
    for i = 1, 1500 do
        local s = seeds[rand(#seeds)]
        for _ = 1, rand(6) do
            local p = rand(#s + 1)
            local op = rand(3)
            if op == 1 then
                s = s:sub(1, p - 1) .. alphabet[rand(#alphabet)] .. s:sub(p)
            elseif op == 2 then
                s = s:sub(1, p - 1) .. s:sub(p + rand(40))
            else
                s = s:sub(1, p - 1) .. string.char(rand(256) - 1) .. s:sub(p + 1)
            end
        end
        local ok, msg, err = pcall(dsn.parse, s)
        t.ok(ok, "dsn.parse raised on mutation " .. i .. ": " .. tostring(msg))
        if msg then
            parsed = parsed + 1
            local rok = pcall(dsn.report, msg)
            t.ok(rok, "dsn.report raised on mutation " .. i)
            t.ok(pcall(dsn.text, msg), "dsn.text raised")
        else
            refused = refused + 1
            t.eq(type(err), "string")
        end
        local cok, m = pcall(inbox.classify, s)
        t.ok(cok and type(m) == "table" and type(m.kind) == "string", "inbox.classify on mutation " .. i)
    end
    t.ok(parsed > 100 and refused > 0, ("parsed %d, refused %d"):format(parsed, refused))
end

return T
