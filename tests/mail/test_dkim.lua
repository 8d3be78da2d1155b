-- DKIM signing (lib/dkim.lua, applied by lib/mime): the canonicalisation
-- against RFC 6376's own example, and whole messages verified by dkimpy
-- (Debian python3-dkim), the verifier many receivers run, with a dnsfunc
-- that answers the test key's TXT record. Altering a signed header or the
-- body must make it refuse; whitespace a relay may refold must not. The
-- send stage: a DKIM set-up that cannot sign leaves the campaign pending,
-- and a signed one leaves through the outbox verifiable.
local T = {}

local dkim = require "lib.dkim"
local mime = require "lib.mime"
local codes = require "wm.core.jobs"

local PY = "/usr/bin/python3"
local DOMAIN, SELECTOR = "webmagic.example", "wm2026"

-- One RSA-2048 key pair for the file (openssl), as PEM and as the base64 DER
-- the DNS record publishes.
local KEY
local function key(t)
    if KEY then
        return KEY
    end
    local dir = t.tmpdir()
    local r = assert(wm.exec { argv = { "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
        "rsa_keygen_bits:2048", "-out", dir .. "/k.pem" }, timeout = 60 })
    t.eq(r.code, 0, r.stderr)
    r = assert(wm.exec { argv = { "sh", "-c", 'openssl pkey -in "$0" -pubout -outform DER | base64 -w0',
        dir .. "/k.pem" } })
    t.eq(r.code, 0, r.stderr)
    KEY = { pem = assert(wm.fs.read_file(dir .. "/k.pem")), pub = r.stdout, file = dir .. "/k.pem" }
    return KEY
end

-- dkimpy's verdict on each message: a list of true/false, or skips the test
-- when python3-dkim is missing.
local VERIFY = [[
import sys, json, dkim
pub, files = sys.argv[1], sys.argv[2:]
def dns(name, timeout=5):
    if name != b"%s._domainkey.%s.":
        return None
    return b"v=DKIM1; k=rsa; p=" + pub.encode()
out = []
for f in files:
    with open(f, "rb") as fh:
        out.append(bool(dkim.verify(fh.read(), dnsfunc=dns)))
print(json.dumps(out))
]]
local function verify(t, messages)
    local probe = wm.exec { argv = { PY, "-c", "import dkim" } }
    if not probe or probe.code ~= 0 then
        t.skip("python3-dkim (dkimpy) is not installed: apt-get install python3-dkim")
    end
    local dir = t.tmpdir()
    local argv = { PY, "-c", VERIFY:format(SELECTOR, DOMAIN), key(t).pub }
    for i, m in ipairs(messages) do
        local f = dir .. "/" .. i .. ".eml"
        assert(wm.fs.write_file(f, m))
        argv[#argv + 1] = f
    end
    local r = assert(wm.exec { argv = argv, timeout = 60 })
    t.eq(r.code, 0, r.stderr)
    return wm.json.decode(r.stdout)
end

local function configure(t, over)
    local d = { domain = DOMAIN, selector = SELECTOR, private_key = key(t).pem, key_file = "" }
    for k, v in pairs(over or {}) do
        d[k] = v
    end
    t.config("mail", { dkim = d })
end

local UNSUB = { ["List-Unsubscribe"] = "<https://app.webmagic.example/u/abc_DEF-123>",
    ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click" }

local function build(over)
    local m = { from = { name = "WebMagic", email = "hello@" .. DOMAIN },
        to = { name = "Joe's Plumbing", email = "joe@example.com" },
        subject = "A website for Joe's Plumbing", text = "Hello Joe,\n\nWe made you a website.\n",
        html = "<p>Hello Joe,</p><p>We made you a website.</p>", headers = UNSUB }
    for k, v in pairs(over or {}) do
        m[k] = v
    end
    local eml = assert(mime.build(m))
    return eml
end

-- RFC 6376 §3.4.5's example, and the edges of §3.4.2/§3.4.4.
function T.canonicalisation_follows_rfc_6376(t)
    t.eq(dkim.canon_header("A: X"), "a:X")
    t.eq(dkim.canon_header("B : Y\t\r\n\tZ  "), "b:Y Z")
    t.eq(dkim.canon_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n")
    t.eq(dkim.canon_body(""), "")
    t.eq(dkim.canon_body("\r\n\r\n"), "")
    t.eq(dkim.canon_body("no line end"), "no line end\r\n")
    t.eq(dkim.canon_body("lf\nends  \n"), "lf\r\nends\r\n")
    t.eq(dkim.canon_header("Subject:  =?UTF-8?B?w7w=?=\r\n =?UTF-8?B?w7w=?=  "), "subject:=?UTF-8?B?w7w=?= =?UTF-8?B?w7w=?=")
end

-- ASCII, a UTF-8 subject and names (encoded words, folded), long lines,
-- trailing blank lines, text only, html only: all verify; the signature
-- names exactly the headers present of the nine.
function T.dkimpy_accepts_signed_messages(t)
    configure(t)
    local msgs = {
        build(),
        build { subject = "Ünïcödé — a website for Café Müller, ready to look at 😀",
                to = { name = "Café Müller", email = "info@example.com" } },
        build { subject = string.rep("A long subject line ", 12),
                text = string.rep("word ", 400) .. "\n" .. string.rep("x", 2000) .. "\n",
                html = "<p>" .. string.rep("y", 5000) .. "</p>" },
        build { text = "Trailing blank lines and spaces   \n\n\n\n", html = wm.null },
        build { text = wm.null, html = "<p>only html</p>\n\n\n" },
        build { headers = {} },
    }
    t.eq(verify(t, msgs), { true, true, true, true, true, true })
    local h = msgs[1]:match("^DKIM%-Signature:.-h=(.-);"):gsub("%s", "")
    t.eq(h, "from:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post")
    t.eq(msgs[6]:match("^DKIM%-Signature:.-h=(.-);"):gsub("%s", ""),
        "from:to:subject:date:message-id:mime-version:content-type")
    t.match(msgs[1], "^DKIM%-Signature: v=1; a=rsa%-sha256; c=relaxed/relaxed; d=webmagic%.example; s=wm2026;")
    for line in msgs[3]:gmatch("([^\r\n]*)\r\n") do
        t.ok(#line <= 998, "line of " .. #line)
    end
    -- The message's own Date and Message-ID stay on the sending domain.
    t.match(msgs[1], "\r\nMessage%-ID: <%x+@webmagic%.example>\r\n")
end

-- Any change to a signed header or the body breaks it; refolding
-- whitespace (what relaxed canonicalisation is for) does not.
function T.dkimpy_rejects_altered_messages(t)
    configure(t)
    local m = build()
    local function alter(pattern, repl)
        local out, n = m:gsub(pattern, repl, 1)
        t.eq(n, 1, pattern)
        return out
    end
    local altered = {
        alter("\r\nSubject: A website", "\r\nSubject: A free website"),
        alter("\r\nFrom: WebMagic <hello@", "\r\nFrom: PayPal <hello@"),
        alter("\r\nTo: [^\r]*", "\r\nTo: someone@else.example"),
        alter("\r\nDate: [^\r]*", "\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000"),
        alter("\r\nList%-Unsubscribe: <https://app", "\r\nList-Unsubscribe: <https://evil"),
        alter("\r\nList%-Unsubscribe%-Post: [^\r]*\r\n", "\r\n"),
        alter("We made you a website", "We made you an offer"),
        alter("\r\nSubject: ", "\r\nSubject: Re: "),
    }
    local want = {}
    for i = 1, #altered do
        want[i] = false
    end
    t.eq(verify(t, altered), want)
    local refolded = {
        alter("\r\nSubject: A website for", "\r\nSubject:   A website\r\n \t for"),
        alter("\r\nTo: ", "\r\nto:\t"),
        (m:gsub("\r\n", "\n")),                            -- a relay storing LF line ends
        m .. "\r\n\r\n",                                   -- blank lines added at the end
    }
    t.eq(verify(t, refolded), { true, true, true, true })
end

function T.config_errors_say_what_to_set(t)
    t.config("mail", { dkim = { domain = "", selector = "", private_key = "", key_file = "" } })
    t.eq(dkim.config(), nil)                       -- off
    t.eq(select(2, dkim.config()), nil)
    configure(t, { selector = "" })
    t.match(select(2, dkim.config()), "mail%.dkim%.selector is empty")
    configure(t, { private_key = "" })
    t.match(select(2, dkim.config()), "WM_MAIL_DKIM_PRIVATE_KEY or WM_MAIL_DKIM_KEY_FILE")
    configure(t, { private_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n" })
    t.match(select(2, dkim.config()), "^dkim: the private key cannot sign")
    -- mime.build will not send unsigned what was to be signed.
    local eml, err = mime.build { from = "hello@" .. DOMAIN, to = "joe@example.com", subject = "x", text = "y" }
    t.eq(eml, nil)
    t.match(err, "^dkim:")
    configure(t, { private_key = "", key_file = t.tmpdir() .. "/missing.pem" })
    t.match(select(2, dkim.config()), "cannot read the key file")
    -- A key file, and a key whose line breaks arrived as "\n" in the environment.
    configure(t, { private_key = "", key_file = key(t).file })
    t.eq(dkim.config().key, key(t).pem)
    configure(t, { private_key = (key(t).pem:gsub("\n", "\\n")) })
    t.eq(dkim.config().key, key(t).pem)
    t.eq(verify(t, { build() }), { true })
end

-- The send stage through the outbox: a DKIM set-up that cannot sign
-- leaves the campaign pending (the job snoozes, no attempt spent), never
-- failed or sent unsigned; fixed, the message in the outbox verifies.
function T.send_stage_signs_or_waits(t)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    local var = t.tmpdir()
    t.config("paths", { var = var })
    require("lib.tracking").reset_key()
    t.config("providers", { mail = "outbox" })
    t.config("mail", { from_email = "hello@" .. DOMAIN })
    local b = assert(wm.db.one([[INSERT INTO businesses (gmb_id, slug, name, email, rating, review_count,
            lead_status, website_status, qualification_score)
        VALUES ('gmb-dkim', 'dkim-shop', 'Müller & Söhne', 'owner@shop.test', 4.8, 50, 'qualified', 'generated', 80)
        RETURNING id]]))
    -- With its screenshot (the seed's column), which the email shows.
    t.config("sites", { base_url = "https://app.webmagic.example" })
    local shot = "https://app.webmagic.example/screenshots/dkim-shop/desktop.png"
    local s = assert(wm.db.one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token,
            screenshot_desktop_url)
        VALUES ($1, 'dkim-shop', '<!DOCTYPE html><title>x</title>', 'preview', 'claim-dkim', $2) RETURNING id]],
        b.id, shot))
    local c = assert(wm.db.one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, business_name,
            recipient_email, status, email_provider)
        VALUES ($1, $2, 'Your site', $3, 'Müller & Söhne', 'owner@shop.test', 'pending', 'outbox') RETURNING id]],
        b.id, s.id, wm.json.encode({ subject = "A website for Müller & Söhne", preview_text = "A preview site",
            greeting = "Hello,", paragraphs = { "We built you a website from your reviews.", "Have a look." },
            cta_label = "See it", sign_off = "Best regards," })))
    local function send()
        return require("stages.send").run({ id = 0, kind = "send", attempt = 1, max_attempts = 5,
                                            payload = { campaign_id = c.id } })
    end
    local function status()
        return assert(wm.db.one("SELECT status FROM campaigns WHERE id = $1", c.id)).status
    end
    configure(t, { private_key = "" })
    local o = send()
    t.eq(o.outcome, codes.SNOOZE, tostring(o))
    t.eq(status(), "pending")
    t.eq(assert(wm.db.one("SELECT count(*)::int AS n FROM campaigns WHERE sending_started_at IS NOT NULL")).n, 0)
    t.eq(#(wm.fs.list_dir(var .. "/outbox") or {}), 0)
    configure(t)
    o = send()
    t.eq(o.outcome, codes.COMPLETED, tostring(o))
    t.eq(status(), "sent")
    local files = assert(wm.fs.list_dir(var .. "/outbox"))
    t.eq(#files, 1)
    local eml = assert(wm.fs.read_file(var .. "/outbox/" .. files[1]))
    t.match(eml, "^DKIM%-Signature: ")
    t.eq(verify(t, { eml }), { true })
    local decoded = eml:gsub("=\r\n", ""):gsub("=3D", "=")
    t.ok(decoded:find('<img src="' .. shot .. '" width="504" height="315"', 1, true), "the screenshot in the HTML part")
end

return T
