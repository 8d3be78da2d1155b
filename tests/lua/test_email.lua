-- lib.tracking, lib.email, lib.mime and providers/mail/outbox.
local tracking = require "lib.tracking"
local email = require "lib.email"
local mime = require "lib.mime"
local outbox = require "providers.mail.outbox"
local html = require "lib.html"

local T = {}

local CID = "6f1c2a4e-0b7d-4c1e-9a53-2f7f0e8d1c11"
local SITE = "http://joes-plumbing.localhost:8080/"
local BASE = "http://127.0.0.1:8080"

-- Runs fn with wm.config.tracking.secret / paths.var changed, restoring them.
local function with_config(t, secret, var)
    local tr, paths = wm.config.tracking, wm.config.paths
    local old_secret, old_var = tr.secret, paths.var
    tr.secret = secret
    if var then
        paths.var = var
    end
    tracking.reset_key()
    t.defer(function()
        tr.secret, paths.var = old_secret, old_var
        tracking.reset_key()
    end)
end

-- ---- tracking ----

function T.tokens_round_trip(t)
    with_config(t, "test-secret-1")
    local o = tracking.open_token(CID)
    local c = tracking.click_token(CID, SITE .. "?a=1&b=<2>")
    local u = tracking.unsubscribe_token(CID)
    for _, tok in ipairs({ o, c, u }) do
        t.match(tok, "^[%w_%-]+$")
    end
    t.eq(tracking.verify_open(o), CID)
    local id, url = tracking.verify_click(c)
    t.eq(id, CID)
    t.eq(url, SITE .. "?a=1&b=<2>")
    t.eq(tracking.verify_unsubscribe(u), CID)
    t.eq(tracking.open_url(BASE .. "/", CID), BASE .. "/t/o/" .. o .. ".gif")
    t.eq(tracking.click_url(BASE, CID, SITE .. "?a=1&b=<2>"), BASE .. "/t/c/" .. c)
    t.eq(tracking.unsubscribe_url(BASE, CID), BASE .. "/u/" .. u)
end

function T.tokens_detect_tampering(t)
    with_config(t, "test-secret-1")
    local c = tracking.click_token(CID, SITE)
    -- Every single-character change is caught.
    local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i = 1, #c do
        local ch = c:sub(i, i)
        local other = alphabet:sub((alphabet:find(ch, 1, true) % #alphabet) + 1, (alphabet:find(ch, 1, true) % #alphabet) + 1)
        local bad = c:sub(1, i - 1) .. other .. c:sub(i + 1)
        local id, err = tracking.verify_click(bad)
        t.eq(id, nil, "tampered at " .. i)
        t.ok(err == "bad signature" or err == "malformed", tostring(err))
    end
    -- A payload swapped under the old MAC: the classic open-redirect attempt.
    local raw = wm.crypto.b64url_decode(c)
    local forged = wm.crypto.b64url_encode(raw:sub(1, 16) .. CID .. "\nhttps://evil.example/"):gsub("=+$", "")
    t.eq(select(2, tracking.verify_click(forged)), "bad signature")
    -- One kind of token never verifies as another.
    t.eq(select(2, tracking.verify_unsubscribe(tracking.open_token(CID))), "bad signature")
    t.eq(select(2, tracking.verify_open(tracking.unsubscribe_token(CID))), "bad signature")
    t.eq(select(2, tracking.verify_click(tracking.open_token(CID))), "bad signature")
    -- Garbage.
    for _, g in ipairs({ "", "x", "../../etc/passwd", "a.b", string.rep("A", 5000), "%00", "AAAA" }) do
        t.eq(tracking.verify_open(g), nil, g)
    end
    t.eq(select(2, tracking.verify_open("a.b")), "malformed")
    -- Another key: bad signature.
    local o = tracking.open_token(CID)
    wm.config.tracking.secret = "another-secret"
    tracking.reset_key()
    t.eq(select(2, tracking.verify_open(o)), "bad signature")
end

function T.tokens_refuse_bad_input(t)
    with_config(t, "test-secret-1")
    t.ok(not pcall(tracking.click_token, CID, "javascript:alert(1)"))
    t.ok(not pcall(tracking.click_token, CID, "//evil.example/"))
    t.ok(not pcall(tracking.click_token, CID, "http://x/\r\nSet-Cookie: a"))
    t.ok(not pcall(tracking.open_token, ""))
    t.ok(not pcall(tracking.open_token, "a\nb"))
    t.ok(not pcall(tracking.open_token, nil))
    t.ok(not pcall(tracking.open_url, "javascript:x", CID))
end

function T.key_file_created_0600_and_reused(t)
    local dir = t.tmpdir()
    with_config(t, "", dir .. "/var")
    local o = tracking.open_token(CID)
    local st = wm.fs.stat(dir .. "/var/tracking.key")
    t.ok(st, "key file exists")
    t.eq(st.mode, tonumber("600", 8), "mode 0600")
    local f = io.open(dir .. "/var/tracking.key", "rb")
    local k = f:read("*a")
    f:close()
    t.match(k, "^%x+\n$")
    t.eq(#k, 65)
    -- No temporary folder left behind.
    for _, name in ipairs(wm.fs.list_dir(dir .. "/var")) do
        t.eq(name, "tracking.key")
    end
    -- A fresh process (cache reset) reads the same key.
    tracking.reset_key()
    t.eq(tracking.verify_open(o), CID)
    -- A secret from the environment/config overrides the file.
    wm.config.tracking.secret = "env-secret"
    tracking.reset_key()
    t.eq(select(2, tracking.verify_open(o)), "bad signature")
end

-- ---- email.render ----

local EVIL = [[<script>alert(1)</script>"'</title>&amp; javascript:alert(1) ]] .. "\226\128\174 😀"

local function email_input(over)
    local input = {
        composer = {
            subject = "A website for Joe's Plumbing",
            preview_text = "We built you a free preview site",
            greeting = "Hi Joe,",
            paragraphs = { "We noticed your great reviews.", "So we made you a website.\nHave a look." },
            cta_label = "See your website",
            sign_off = "Cheers,",
        },
        business = { name = "Joe's Plumbing" },
        site_url = SITE,
        base_url = BASE,
        campaign_id = CID,
        from = { name = "WebMagic", email = "hello@webmagic.example" },
        to = { name = "Joe", email = "joe@example.com" },
        postal_address = "WebMagic, 1 Example Street, Austin, TX 78701, USA",
        review_highlight = "Fixed our leak in an hour!",
    }
    if over then
        over(input)
    end
    return input
end

local function hrefs(s)
    local out = {}
    for u in s:gmatch('href="([^"]*)"') do
        out[#out + 1] = (u:gsub("&amp;", "&"))
    end
    return out
end

function T.email_has_all_parts(t)
    with_config(t, "test-secret-2")
    local m = assert(email.render(email_input()))
    t.eq(m.subject, "A website for Joe's Plumbing")
    t.eq(m.preview_text, "We built you a free preview site")
    t.eq(m.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
    local unsub = m.headers["List-Unsubscribe"]:match("^<(.+)>$")
    t.ok(unsub, "List-Unsubscribe is <URL>")
    t.match(unsub, "^http://127%.0%.0%.1:8080/u/[%w_%-]+$")
    t.eq(tracking.verify_unsubscribe(unsub:match("/u/(.+)$")), CID)
    -- HTML: the CTA goes through the signed click URL, never the raw site URL.
    t.ok(not m.html:find(SITE, 1, true), "raw site URL in HTML")
    t.ok(not m.text:find(SITE, 1, true), "raw site URL in text")
    local click
    for _, u in ipairs(hrefs(m.html)) do
        if u:find("/t/c/", 1, true) then
            click = u
        end
    end
    t.ok(click, "a click link")
    t.match(click, "^http://127%.0%.0%.1:8080/t/c/[%w_%-]+$")
    local id, url = tracking.verify_click(click:match("/t/c/(.+)$"))
    t.eq(id, CID)
    t.eq(url, SITE)
    t.match(m.html, ">See your website</a>")
    -- Open pixel.
    local pixel = m.html:match('<img src="([^"]+)" width="1" height="1" alt=""')
    t.ok(pixel, "open pixel")
    t.eq(tracking.verify_open(pixel:match("/t/o/([%w_%-]+)%.gif$")), CID)
    -- Visible unsubscribe link and postal address.
    local found
    for _, u in ipairs(hrefs(m.html)) do
        found = found or u == unsub
    end
    t.ok(found, "unsubscribe link in HTML")
    t.match(m.html, ">Unsubscribe</a>")
    t.ok(m.html:find("WebMagic, 1 Example Street, Austin, TX 78701, USA", 1, true), "postal address in HTML")
    -- Hidden preheader with the preview text, and the review as a quote.
    t.match(m.html, '<div style="display:none;[^"]*">We built you a free preview site')
    t.match(m.html, "<blockquote[^>]*>&ldquo;Fixed our leak in an hour!&rdquo;</blockquote>")
    t.match(m.html, "So we made you a website%.<br>Have a look%.")
    -- Text body: same content, tracked link, unsubscribe URL, address.
    t.ok(m.text:find("See your website: " .. click, 1, true), "tracked link in text")
    t.ok(m.text:find("Unsubscribe: " .. unsub, 1, true), "unsubscribe in text")
    t.ok(m.text:find("WebMagic, 1 Example Street", 1, true), "address in text")
    t.ok(m.text:find('> "Fixed our leak in an hour!"', 1, true), "review in text")
    t.ok(m.text:find("Hi Joe,\n\nWe noticed your great reviews.", 1, true), "greeting and paragraphs")
end

function T.email_escapes_every_value(t)
    with_config(t, "test-secret-2")
    local m = assert(email.render(email_input(function(i)
        i.composer = { subject = EVIL .. "\r\nBcc: victim@example.com", preview_text = EVIL, greeting = EVIL,
            paragraphs = { EVIL, EVIL }, cta_label = EVIL, sign_off = EVIL }
        i.business.name = EVIL
        i.from.name = EVIL
        i.postal_address = EVIL .. " 1 Street"
        i.review_highlight = EVIL
    end)))
    t.ok(not m.subject:find("[\r\n]"), "subject is one line")
    t.match(m.subject, "Bcc: victim")                -- kept as text, on the same line
    t.ok(not m.preview_text:find("[\r\n]"))
    local low = m.html:lower()
    t.eq(select(2, low:gsub("<script", "")), 0, "no script element")
    t.ok(not m.html:find("\226\128\174", 1, true), "no U+202E")
    t.ok(not m.text:find("\226\128\174", 1, true), "no U+202E in text")
    for _, u in ipairs(hrefs(m.html)) do
        t.match(u, "^http://127%.0%.0%.1:8080/", "only our links")
    end
    for tag in m.html:gmatch("<[^>]*>") do
        t.ok(not tag:lower():find("%son%a+%s*="), "event handler in " .. tag)
    end
    t.ok(m.html:find(html.escape(html.clean(EVIL)):sub(1, 60), 1, true), "escaped value present")
end

-- Each thing once: a review the composer already quoted is not quoted again,
-- in either part; one it did not quote is, in both.
function T.email_says_the_review_once(t)
    with_config(t, "test-secret-2")
    local function count(s, what)
        local n, at = 0, 1
        while true do
            local i = s:find(what, at, true)
            if not i then
                return n
            end
            n, at = n + 1, i + 1
        end
    end
    local quoted = {
        '"Fixed our leak in an hour!" is what one of your customers wrote.',
        "\226\128\156Fixed our leak in an hour\226\128\157, one customer wrote.",  -- curly quotes, no "!"
        'One customer says "fixed our leak in an hour" and we agree.',
        "Someone wrote: Fixed our leak   in an hour! That stayed with us.",
    }
    for _, p in ipairs(quoted) do
        local m = assert(email.render(email_input(function(i)
            i.composer.paragraphs = { p, "So we made you a website." }
        end)))
        t.ok(not m.html:find("<blockquote", 1, true), "quoted again in HTML: " .. p)
        t.eq(count(m.text, "in an hour"), 1, p)
        t.eq(count(m.html:lower(), "in an hour"), 1, p)
    end
    -- Not quoted (a short common phrase is no quote of it): shown once in each part.
    for _, p in ipairs({ "We noticed your great reviews.", 'People call you "fast" and "honest" there.' }) do
        local m = assert(email.render(email_input(function(i)
            i.composer.paragraphs = { p, "So we made you a website." }
        end)))
        t.eq(count(m.html, "Fixed our leak in an hour!"), 1, p)
        t.eq(count(m.text, "Fixed our leak in an hour!"), 1, p)
    end
    t.ok(email.quoted_already("Great work!", { "They said \"great   WORK\" twice." }))
    t.ok(not email.quoted_already("Great work, fast and clean, would hire again", { "Great work, they said." }))
end

-- The preheader is hidden by display:none alone: no tiny or
-- background-coloured text, which spam filters score (HTML_FONT_LOW_CONTRAST,
-- FONT_INVIS_*). tests/mail/test_spamassassin.lua scores whole messages.
function T.email_preheader_is_hidden_without_invisible_text(t)
    with_config(t, "test-secret-2")
    local m = assert(email.render(email_input()))
    local style = m.html:match('<div style="(display:none;[^"]*)">We built you a free preview site')
    t.ok(style, "preheader")
    t.no_match(style, "font%-size")
    t.no_match(style, "color")
    t.no_match(style, "opacity")
    -- Nothing else in the body is tiny or transparent either.
    t.no_match(m.html, "font%-size:%s*[01]px")
    t.no_match(m.html, "color:%s*transparent")
    -- Without a preview text there is no empty preheader.
    m = assert(email.render(email_input(function(i) i.composer.preview_text = nil end)))
    t.no_match(m.html, "display:none")
    -- SpamAssassin's HTML_IMAGE_ONLY_* score an HTML part under 3200 bytes
    -- with any image (the open pixel): the shortest email the composer's
    -- schema allows stays above it.
    m = assert(email.render(email_input(function(i)
        i.composer = { subject = "Hello", preview_text = "0123456789", greeting = "Hi",
            paragraphs = { "01234567890123456789", "01234567890123456789" }, cta_label = "Go", sign_off = "Hi" }
        i.business.name, i.review_highlight, i.from.name, i.postal_address = "A", nil, nil, "1 St"
    end)))
    t.ok(#m.html > 3200, "shortest HTML part: " .. #m.html .. " bytes")
end

-- The site's screenshot: a linked image through the tracked click URL,
-- with width, height and alt text, above the call to action; only from
-- under base_url; the plain part unchanged.
function T.email_shows_the_screenshot(t)
    with_config(t, "test-secret-2")
    local shot = BASE .. "/screenshots/joes-plumbing/desktop.png?v=3"
    local without = assert(email.render(email_input()))
    local m = assert(email.render(email_input(function(i) i.screenshot_url = shot end)))
    local a, img = m.html:match('<a href="([^"]+)"[^>]*>(<img src="' .. shot:gsub("%p", "%%%0") .. '"[^>]*>)</a>')
    t.ok(a, "linked screenshot")
    t.eq(select(2, tracking.verify_click(a:match("/t/c/(.+)$"))), SITE)
    t.match(img, ' width="504" height="315" ')
    t.match(img, ' alt="A picture of the website we made for Joe&#39;s Plumbing"')
    t.match(img, "max%-width:504px;height:auto")
    -- Above the call to action, below the words.
    local at_img = m.html:find(shot, 1, true)
    t.ok(at_img > m.html:find("Have a look.", 1, true), "after the paragraphs")
    t.ok(at_img < m.html:find(">See your website</a>", 1, true), "before the button")
    t.eq(m.text, without.text, "the plain part is the same")
    t.no_match(m.text, "screenshot")
    -- Images off: the HTML still has every word; the image leaves only its alt text.
    local function words(h)
        return (h:gsub("<img[^>]*>", ""):gsub("<[^>]+>", " "):gsub("%s+", " "))
    end
    t.eq(words(m.html), words(without.html))
    -- Not ours, or not a URL: left out.
    for _, bad in ipairs({ "https://evil.example/x.png", "http://127.0.0.1:8080.evil.example/x.png",
        BASE .. "/x.png\" onerror=\"alert(1)", BASE .. "/a b.png", "javascript:alert(1)", "", 42 }) do
        local r = assert(email.render(email_input(function(i) i.screenshot_url = bad end)))
        t.no_match(r.html, "<img src=\"[^\"]*\" width=\"504\"", tostring(bad))
    end
end

function T.email_refuses_bad_input(t)
    with_config(t, "test-secret-2")
    local function err_of(over)
        local m, err = email.render(email_input(over))
        t.eq(m, nil)
        return err
    end
    t.match(err_of(function(i) i.postal_address = nil end), "postal_address")
    t.match(err_of(function(i) i.postal_address = "   " end), "postal_address")
    t.match(err_of(function(i) i.site_url = "javascript:alert(1)" end), "site_url")
    t.match(err_of(function(i) i.site_url = "/relative" end), "site_url")
    t.match(err_of(function(i) i.base_url = "ftp://x" end), "base_url")
    t.match(err_of(function(i) i.base_url = nil end), "base_url")
    t.match(err_of(function(i) i.campaign_id = nil end), "campaign_id")
    t.match(err_of(function(i) i.composer.subject = "\r\n" end), "subject")
    t.match(err_of(function(i) i.composer.paragraphs = {} end), "paragraphs")
    t.match(err_of(function(i) i.composer = nil end), "composer")
    t.ok(not pcall(email.render, nil), "misuse raises")
end

-- ---- MIME parsing for the checks (independent of lib.mime) ----

local function qp_decode(s)
    s = s:gsub("=\r\n", "")
    return (s:gsub("=(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function decode_words(v)
    v = v:gsub("(%?=)%s+(=%?)", "%1%2")
    return (v:gsub("=%?[Uu][Tt][Ff]%-8%?[Bb]%?([^?]*)%?=", function(b) return wm.crypto.b64_decode(b) end))
end

local function parse_headers(head)
    local h, order = {}, {}
    head = head:gsub("\r\n([ \t])", "%1")
    for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
        local k, v = line:match("^([^:]+):%s?(.*)$")
        assert(k, "bad header line: " .. line)
        k = k:lower()
        if h[k] then
            h[k] = h[k] .. "\0" .. v
        else
            h[k] = v
        end
        order[#order + 1] = k
    end
    return h, order
end

local function parse_eml(s)
    local head, body = s:match("^(.-)\r\n\r\n(.*)$")
    local h = parse_headers(head)
    local msg = { headers = h, parts = {} }
    local ctype = h["content-type"]
    local boundary = ctype:match('boundary="([^"]+)"')
    if boundary then
        local pat = "\r\n%-%-" .. boundary:gsub("%p", "%%%0")
        body = "\r\n" .. body
        local pieces = {}
        local pos = 1
        while true do
            local s1, e1 = body:find(pat, pos)
            if not s1 then
                break
            end
            pieces[#pieces + 1] = { s = s1, e = e1 }
            pos = e1 + 1
        end
        for i = 1, #pieces - 1 do
            local chunk = body:sub(pieces[i].e + 3, pieces[i + 1].s - 1)
            local ph, pb = chunk:match("^(.-)\r\n\r\n(.*)$")
            local hh = parse_headers(ph)
            msg.parts[#msg.parts + 1] = { headers = hh, body = hh["content-transfer-encoding"] == "quoted-printable"
                and qp_decode(pb) or pb }
        end
        local t_last = body:sub(pieces[#pieces].e + 1, pieces[#pieces].e + 2)
        msg.closed = t_last == "--"
    end
    return msg
end

local function lf(s)
    return (s:gsub("\r\n", "\n"))
end

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function with_outbox(t)
    local dir = t.tmpdir()
    local paths = wm.config.paths
    local old = paths.var
    paths.var = dir
    t.defer(function() paths.var = old end)
    return dir .. "/outbox"
end

local TEXT = "Hi José,\n\nLine with = sign and trailing space \n.starts with a dot\nFrom the start\n"
    .. string.rep("x", 300) .. "\n" .. string.rep("é😀", 60) .. "\n\tTabbed\nend"
local HTML = "<p>Hi Jos&eacute; 😀</p>\n<p>" .. string.rep("long html ", 40) .. "</p>"

function T.outbox_writes_a_parseable_eml(t)
    local dir = with_outbox(t)
    local res, err = outbox.send {
        from = { name = "WebMagic Team", email = "hello@webmagic.example" },
        to = { name = "José Ñandú 😀 \"The Boss\"", email = "jose@example.com" },
        subject = "Tu sitio web está listo 😀 — " .. string.rep("très long ", 12),
        text = TEXT, html = HTML,
        headers = { ["List-Unsubscribe"] = "<http://127.0.0.1:8080/u/abc>",
            ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click" },
    }
    t.ok(res, err)
    t.match(res.message_id, "^<%x+@webmagic%.example>$")
    t.eq(res.path:sub(1, #dir + 1), dir .. "/")
    local name = res.path:sub(#dir + 2)
    t.match(name, "^%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-[%w._@-]+%.eml$")
    t.ok(name:find(res.message_id:match("^<(.-)@"), 1, true), "file name has the message id")
    t.eq(wm.fs.list_dir(dir), { name }, "no temporary file left")
    local s = read(res.path)
    -- CRLF everywhere, no bare LF or CR, no line over 998, body lines <= 76.
    t.ok(not s:gsub("\r\n", ""):find("[\r\n]"), "only CRLF line ends")
    local head, body = s:match("^(.-)\r\n\r\n(.*)$")
    for line in (s .. "\r\n"):gmatch("(.-)\r\n") do
        t.ok(#line <= 998, "line too long")
    end
    for line in (body .. "\r\n"):gmatch("(.-)\r\n") do
        t.ok(#line <= 76, "body line over 76: " .. #line)
    end
    for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
        t.ok(#line <= 76 or not line:find("=?UTF-8?", 1, true), "encoded header line over 76: " .. line)
    end
    local m = parse_eml(s)
    local h = m.headers
    t.eq(decode_words(h.from), "WebMagic Team <hello@webmagic.example>")
    t.eq(decode_words(h.to), "José Ñandú 😀 \"The Boss\" <jose@example.com>")
    t.eq(decode_words(h.subject), "Tu sitio web está listo 😀 — " .. string.rep("très long ", 12))
    t.eq(h["message-id"], res.message_id)
    t.eq(h["mime-version"], "1.0")
    t.match(h.date, "^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d %+0000$")
    t.eq(h["list-unsubscribe"], "<http://127.0.0.1:8080/u/abc>")
    t.eq(h["list-unsubscribe-post"], "List-Unsubscribe=One-Click")
    t.match(h["content-type"], '^multipart/alternative; boundary="[^"]+"$')
    t.ok(m.closed, "closing boundary")
    t.eq(#m.parts, 2)
    t.eq(m.parts[1].headers["content-type"], "text/plain; charset=UTF-8")
    t.eq(m.parts[2].headers["content-type"], "text/html; charset=UTF-8")
    t.eq(lf(m.parts[1].body), TEXT)
    t.eq(lf(m.parts[2].body), HTML)
end

function T.outbox_eml_parses_in_python_email(t)
    local which = wm.exec { argv = { "sh", "-c", "command -v python3" } }
    if not which or which.code ~= 0 then
        t.skip("python3 not installed")
    end
    local dir = with_outbox(t)
    local res = assert(outbox.send {
        from = { name = "WebMagic", email = "hello@webmagic.example" },
        to = { name = "José Ñandú 😀", email = "jose@example.com" },
        subject = "Tu sitio web está listo 😀", text = TEXT, html = HTML,
        headers = { ["List-Unsubscribe"] = "<http://127.0.0.1:8080/u/abc>" },
    })
    local py = [[
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
out = {'subject': str(m['subject']), 'to_name': m['to'].addresses[0].display_name,
       'to_addr': m['to'].addresses[0].addr_spec, 'defects': len(m.defects),
       'text': m.get_body(('plain',)).get_content(), 'html': m.get_body(('html',)).get_content(),
       'is_multipart': m.is_multipart()}
print(json.dumps(out))
]]
    local r = wm.exec { argv = { "python3", "-c", py, res.path } }
    t.eq(r.code, 0, r.stderr)
    local out = wm.json.decode(r.stdout)
    t.eq(out.subject, "Tu sitio web está listo 😀")
    t.eq(out.to_name, "José Ñandú 😀")
    t.eq(out.to_addr, "jose@example.com")
    t.eq(out.defects, 0)
    t.eq(out.is_multipart, true)
    -- Python keeps the CRLFs of the decoded body and may add a final newline.
    t.eq(lf(out.text):gsub("\n$", ""), TEXT)
    t.eq(lf(out.html):gsub("\n$", ""), HTML)
    t.ok(dir)
end

function T.header_injection_is_refused(t)
    local dir = with_outbox(t)
    local base = { from = { name = "WebMagic", email = "hello@webmagic.example" },
        to = { name = "Joe", email = "joe@example.com" }, subject = "Hello", text = "hi" }
    local function try(mut)
        local msg = {}
        for k, v in pairs(base) do
            msg[k] = type(v) == "table" and { name = v.name, email = v.email } or v
        end
        mut(msg)
        return outbox.send(msg)
    end
    local cases = {
        function(m) m.subject = "Hello\r\nBcc: x@evil.example" end,
        function(m) m.subject = "Hello\nBcc: x@evil.example" end,
        function(m) m.subject = "Hello\rBcc: x@evil.example" end,
        function(m) m.to.email = "joe@example.com\r\nBcc: x@evil.example" end,
        function(m) m.to.email = "joe@example.com>, <x@evil.example" end,
        function(m) m.headers = { ["X-Test"] = "a\r\nBcc: x@evil.example" } end,
        function(m) m.headers = { ["Bcc"] = "x@evil.example" } end,
        function(m) m.headers = { ["X-Bad:Name"] = "v" } end,
        function(m) m.headers = { ["X Bad"] = "v" } end,
        function(m) m.headers = { { "Content-Type", "text/html" } } end,
        function(m) m.message_id = "<a@b>\r\nBcc: x@evil.example" end,
        function(m) m.subject = "nul\0byte" end,
    }
    for i, mut in ipairs(cases) do
        local res, err = try(mut)
        t.eq(res, nil, "case " .. i)
        t.ok(type(err) == "string", "case " .. i .. " has an error")
    end
    local _, err = try(cases[1])
    t.match(err, "^rejected: ")
    t.match(err, "subject")
    -- Nothing was written.
    local st = wm.fs.stat(dir)
    t.ok(not st or #wm.fs.list_dir(dir) == 0, "no file written")
    -- Display names (scraped business names) lose their line breaks instead.
    for _, mut in ipairs({ function(msg) msg.to.name = "Joe\r\nBcc: x@evil.example" end,
        function(msg) msg.from.name = "W\nBcc: x@evil.example\r\n\r\nbody" end,
        function(msg) msg.to.name = "José\r\nBcc: x@evil.example" end }) do
        local res = try(mut)
        t.ok(res, "name with CR/LF is sent")
        local s = read(res.path)
        local head = s:match("^(.-)\r\n\r\n")
        t.ok(not head:find("\r\nBcc:", 1, true), "no Bcc header line")
        t.ok(not head:find("\r\n\r\n", 1, true))
        local h = parse_headers(head)
        t.eq(h.bcc, nil)
        t.match(decode_words(h.to .. " " .. h.from), "Bcc: x@evil%.example")
        os.remove(res.path)
    end
    -- lib.email never hands the provider a multi-line subject.
    local m = assert(email.render(email_input(function(i)
        i.composer.subject = "Hi\r\nBcc: x@evil.example"
    end)))
    local res = try(function(msg) msg.subject = m.subject end)
    t.ok(res, "sanitised subject is accepted")
    local h = parse_eml(read(res.path)).headers
    t.eq(h.subject, "Hi Bcc: x@evil.example")
    t.eq(h.bcc, nil)
end

function T.outbox_files_sort_by_time(t)
    local dir = with_outbox(t)
    local sent = {}
    for i = 1, 4 do
        local res = assert(outbox.send { from = "a@example.com", to = "b@example.com", subject = "n" .. i,
            text = "body " .. i })
        sent[#sent + 1] = res.path:sub(#dir + 2)
        wm.sleep(0.002)
    end
    t.eq(wm.fs.list_dir(dir), sent)
    -- A single-part message is not multipart.
    local s = read(dir .. "/" .. sent[1])
    local h = parse_headers(s:match("^(.-)\r\n\r\n"))
    t.eq(h["content-type"], "text/plain; charset=UTF-8")
    t.eq(h["content-transfer-encoding"], "quoted-printable")
end

function T.mime_helpers(t)
    t.eq(mime.encode_word("plain ascii"), "plain ascii")
    local w = mime.encode_word(string.rep("é", 100))
    for line in (w .. "\r\n "):gmatch("(.-)\r\n ") do
        t.ok(#line <= 66, "encoded word too long: " .. #line)
        t.match(line, "^=%?UTF%-8%?B%?[%w+/=]+%?=$")
    end
    t.eq(decode_words(w), string.rep("é", 100))
    t.eq(mime.quoted_printable("a=b \nc\t"), "a=3Db=20\r\nc=09")
    t.eq(qp_decode(mime.quoted_printable(string.rep("=", 200))), string.rep("=", 200))
    t.eq(mime.format_address({ name = "Doe, John", email = "j@example.com" }), '"Doe, John" <j@example.com>')
    t.eq(mime.format_address({ name = 'Say "hi"', email = "j@example.com" }), '"Say \\"hi\\"" <j@example.com>')
    t.eq(mime.format_address("j@example.com"), "j@example.com")
    t.eq(mime.format_address({ email = "not an email" }), nil)
    t.match(mime.date(0), "^Thu, 01 Jan 1970 00:00:00 %+0000$")
    t.match(mime.message_id("example.com"), "^<%x+@example%.com>$")
    t.ok(not pcall(outbox.send, "x"), "misuse raises")
end

return T
