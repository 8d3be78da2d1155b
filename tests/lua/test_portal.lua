-- The customer portal against a wm HTTP server and job scheduler running in
-- this process: each customer buys a preview site through the offline
-- checkout (claim page -> /pay -> signed webhooks to /hooks/recurrente ->
-- apply_webhook), the portal_welcome job writes the welcome email to the
-- outbox, and the test reads the sign-in link from that .eml, as a customer
-- would.
--
-- Covered: the welcome email (text and HTML, the link); a link signs in
-- once; an expired link offers a new one (rate-limited); tokens hashed at
-- rest (neither the link's nor the session's token is anywhere in the
-- database); the cookie's flags (Secure under an https base_url); CSRF
-- missing or wrong -> 403 and nothing changed; one customer cannot see or
-- cancel another's subscription; cancel through the provider, the state
-- changing when its webhook is applied; idle expiry and logout; a hostile
-- customer name escaped in the page and the email; 404 on a site's host.
local T = {}

local HOSTILE = "<img src=x onerror=alert(1)>"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

local web = dofile(wm.root .. "/tests/lib/web.lua")
local form, field = web.form, web.field

local port, var

local function setup(t)
    web.fresh_schema()
    var = t.tmpdir()
    t.config("paths", { var = var })
    require("lib.tracking").reset_key()
    t.config("providers", { payments = "offline", mail = "outbox" })
    t.config("recurrente", { webhook_secret = "" })
    t.config("commerce", { offline_hooks_url = "", setup_fee_cents = 0, monthly_price_cents = 80000, currency = "GTQ" })
    t.config("portal", { link_ttl = 900, session_idle = 3600, session_max = 43200, resend_interval = 300 })
    t.config("jobs", { backoff_base = 0.05 })
    t.config("autopilot", { enabled = false })
    port = web.serve(t, { worker = true })
end

local function request(path, opts)
    return web.request(port, path, opts)
end

local function settled(t)
    t.wait_for("jobs to settle", function()
        return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running', 'retryable')
            OR (status = 'scheduled' AND run_at < now() + interval '2 seconds')]]) == 0
    end, 30)
end

-- ---- the outbox ----

local function qp_decode(s)
    return (s:gsub("=\r?\n", ""):gsub("=(%x%x)", function(x) return string.char(tonumber(x, 16)) end))
end

-- The decoded messages in the outbox addressed to `email`, oldest first.
local function mails(email)
    local dir = var .. "/outbox"
    local names = wm.fs.list_dir(dir) or {}
    table.sort(names)
    local out = {}
    for _, n in ipairs(names) do
        if n:sub(-4) == ".eml" and n:sub(1, 1) ~= "." then
            local raw = assert(wm.fs.read_file(dir .. "/" .. n))
            if raw:find(email, 1, true) then
                out[#out + 1] = qp_decode(raw)
            end
        end
    end
    return out
end

local function link_in(mail)
    return mail:match("http://127%.0%.0%.1:%d+(/portal/login/[%w_%-]+)")
end

-- ---- buying ----

local n = 0
-- A preview site bought by a customer named `name` through the offline
-- checkout; returns {site_id, email, customer_id, subscription_id, link}.
local function buy(t, name)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'generated') RETURNING id]], "gmb-portal-" .. n, "Shop " .. n,
        "owner" .. n .. "@example.com")
    local sub, token = "shop-portal-" .. n, "claimportal" .. n
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, '<!DOCTYPE html><title>x</title>', 'preview', $3) RETURNING id]], b.id, sub, token)
    one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status)
        VALUES ($1, $2, 's', 'b', $3, 'sent') RETURNING id]], b.id, s.id, "owner" .. n .. "@example.com")
    local host = sub .. ".localhost:" .. port
    local page = request("/claim/" .. token, { headers = { Host = host } })
    t.eq(page.status, 200)
    local res = request("/claim/" .. token, { method = "POST", headers = { Host = host },
        form = form { csrf = field(page.body, "csrf"), kind = field(page.body, "kind") } })
    t.eq(res.status, 303)
    local pay = res.headers.location:match("(/pay/ch_[%w_]+)$")
    local csrf = field(request(pay).body, "csrf")
    local email = "buyer" .. n .. "@example.com"
    res = request(pay, { method = "POST", form = form { csrf = csrf, action = "pay", email = email, full_name = name } })
    t.eq(res.status, 303, "paid")
    settled(t)
    local c = one("SELECT id, full_name FROM customers WHERE email = $1", email)
    t.eq(c.full_name, name)
    local sid = one("SELECT id FROM subscriptions WHERE customer_id = $1", c.id).id
    local m = t.wait_for("the welcome email", function() return mails(email)[1] end, 20)
    return { site_id = s.id, business = "Shop " .. n, email = email, customer_id = c.id, subscription_id = sid,
             link = link_in(m), mail = m }
end

-- Opens the link and presses "Open my account": the POST's response.
local function sign_in(link)
    local page = request(link)
    return request(link, { method = "POST", form = form { csrf = field(page.body, "csrf") or "", action = "signin" } }),
        page
end

local function cookie_of(res)
    local sc = res.headers["set-cookie"]
    return sc and sc:match("^(wm_portal=[^;]*)"), sc
end

-- Signed in: the Cookie header and the account page.
local function session_for(t, who)
    local res = sign_in(who.link)
    t.eq(res.status, 303)
    t.eq(res.headers.location, "/portal")
    local cookie = cookie_of(res)
    local page = request("/portal", { cookie = cookie })
    t.eq(page.status, 200)
    return cookie, page
end

-- ---- tests ----

function T.welcome_email_and_the_link_signs_in_once(t)
    setup(t)
    local a = buy(t, "Ana López")
    t.eq(#mails(a.email), 1, "one welcome email")
    t.match(a.mail, "Subject: Your website is live")
    t.match(a.mail, "Content%-Type: text/plain")
    t.match(a.mail, "Content%-Type: text/html")
    t.ok(a.link, "the email carries a /portal/login/ link")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'portal_welcome'"), 1)

    local first, page = sign_in(a.link)
    t.eq(page.status, 200)
    t.match(page.body, "Open my account")
    t.eq(first.status, 303)
    local cookie, raw = cookie_of(first)
    t.ok(cookie, "a session cookie")
    t.match(raw, "; HttpOnly")
    t.match(raw, "; SameSite=Lax")
    t.match(raw, "; Path=/portal")
    t.no_match(raw, "Secure", "not over plain http")
    t.match(cookie, "^wm_portal=[%w_%-]+$")
    t.eq(#cookie:match("=(.*)$"), 43, "256 random bits")

    local acct = request("/portal", { cookie = cookie })
    t.eq(acct.status, 200)
    t.match(acct.headers["content-security-policy"], "default%-src 'none'")
    t.no_match(acct.headers["content-security-policy"], "script")
    t.match(acct.body, '<span class="status">active</span>')
    t.match(acct.body, a.business)
    t.match(acct.body, "Q800%.00")
    t.match(acct.body, "http://shop%-portal%-%d+%.localhost:%d+/", "the site's link")
    local period_end = one([[SELECT to_char(current_period_end, 'YYYY-MM-DD') AS d FROM subscriptions
        WHERE id = $1]], a.subscription_id).d
    t.ok(acct.body:find("Next charge: " .. period_end, 1, true), "the next charge date")
    t.match(acct.body, "<td>succeeded</td>", "the payment")
    t.match(acct.body, "Cancel subscription")

    -- Used once: again, no session.
    local again = sign_in(a.link)
    t.eq(again.status, 410)
    t.eq(again.headers["set-cookie"], nil)
    t.match(again.body, "already used")
    t.match(again.body, "Email me a new link")
    t.eq(count("SELECT count(*)::int AS n FROM portal_sessions WHERE customer_id = $1", a.customer_id), 1)
    -- Not on a site's host.
    t.eq(request("/portal", { cookie = cookie, headers = { Host = "shop-portal-1.localhost:" .. port } }).status, 404)
    -- A made-up link.
    t.eq(request("/portal/login/" .. wm.crypto.random_token(32)).status, 404)
end

function T.expired_link_offers_a_new_one_rate_limited(t)
    setup(t)
    local a = buy(t, "Ana")
    assert(wm.db.query("UPDATE portal_links SET expires_at = now() - interval '1 minute', created_at = now() - interval '20 minutes'"))
    local res, page = sign_in(a.link)
    t.eq(page.status, 410)
    t.match(page.body, "expired")
    t.eq(res.status, 410, "an expired link signs nobody in")
    t.eq(count("SELECT count(*)::int AS n FROM portal_sessions"), 0)
    -- Asking for a new one needs the page's token.
    t.eq(request(a.link, { method = "POST", form = form { action = "resend" } }).status, 403)
    local csrf = field(page.body, "csrf")
    local ask = request(a.link, { method = "POST", form = form { csrf = csrf, action = "resend" } })
    t.eq(ask.status, 200)
    t.match(ask.body, "emailing you a new link")
    local m = t.wait_for("the new link", function() return mails(a.email)[2] end, 20)
    t.match(m, "Subject: Your sign%-in link")
    local link = link_in(m)
    t.ok(link and link ~= a.link, "a different link")
    -- Again at once: refused for a while.
    local again = request(a.link, { method = "POST", form = form { csrf = csrf, action = "resend" } })
    t.eq(again.status, 429)
    t.ok(tonumber(again.headers["retry-after"]) > 0)
    settled(t)
    t.eq(#mails(a.email), 2, "no third email")
    -- The new link works.
    local cookie = session_for(t, { link = link })
    t.ok(cookie)
end

function T.tokens_are_stored_hashed(t)
    setup(t)
    local a = buy(t, "Ana")
    local res = sign_in(a.link)
    local cookie = cookie_of(res)
    local link_token = a.link:match("([^/]+)$")
    local session_token = cookie:match("=(.*)$")
    local dump = {}
    for _, r in ipairs(assert(wm.db.query([[SELECT query_to_xml(format('SELECT * FROM %I.%I', table_schema,
            table_name), true, false, '')::text AS x FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE']]))) do
        dump[#dump + 1] = r.x
    end
    dump = table.concat(dump, "\n")
    t.ok(#dump > 10000, "the whole database was read")
    t.ok(not dump:find(link_token, 1, true), "the link's token is nowhere in the database")
    t.ok(not dump:find(session_token, 1, true), "the session's token is nowhere in the database")
    t.ok(dump:find(wm.crypto.sha256_hex(link_token), 1, true), "its hash is")
    t.eq(count("SELECT count(*)::int AS n FROM portal_sessions WHERE token_sha256 = $1",
        wm.crypto.sha256_hex(session_token)), 1)
end

function T.cookie_is_secure_under_https(t)
    setup(t)
    local a = buy(t, "Ana")
    t.config("sites", { base_url = "https://portal.example" })
    local res = sign_in(a.link)
    t.eq(res.status, 303)
    local _, raw = cookie_of(res)
    t.match(raw, "; Secure")
    t.match(raw, "; HttpOnly")
end

function T.csrf_missing_or_wrong_is_403_and_changes_nothing(t)
    setup(t)
    local a = buy(t, "Ana")
    -- The link's form.
    t.eq(request(a.link, { method = "POST", form = form { action = "signin" } }).status, 403)
    t.eq(request(a.link, { method = "POST", form = form { action = "signin", csrf = "x" } }).status, 403)
    t.eq(count("SELECT count(*)::int AS n FROM portal_links WHERE used_at IS NULL"), 1, "the link is still good")
    local cookie, page = session_for(t, a)
    local csrf = field(page.body, "csrf")
    t.ok(csrf and #csrf == 43)
    local events = count("SELECT count(*)::int AS n FROM webhook_events")
    local flipped = csrf:sub(1, 42) .. (csrf:sub(43) == "A" and "B" or "A")
    for _, bad in ipairs { false, "", "wrong", flipped } do
        local f = { subscription = a.subscription_id }
        if bad then
            f.csrf = bad
        end
        t.eq(request("/portal/cancel", { method = "POST", cookie = cookie, form = form(f) }).status, 403)
        t.eq(request("/portal/logout", { method = "POST", cookie = cookie,
            form = form { csrf = bad or nil } }).status, 403)
    end
    -- A good token from a page of another site (a cross-site form) is refused too.
    t.eq(request("/portal/cancel", { method = "POST", cookie = cookie, headers = { Origin = "http://evil.example" },
        form = form { csrf = csrf, subscription = a.subscription_id } }).status, 403)
    settled(t)
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events"), events, "no cancel reached the provider")
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", a.subscription_id).status, "active")
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'subscription.cancel_requested'"), 0)
    t.eq(request("/portal", { cookie = cookie }).status, 200)
    t.match(request("/portal", { cookie = cookie }).body, "Sign out", "still signed in")
end

function T.a_customer_sees_and_cancels_only_their_own(t)
    setup(t)
    local a = buy(t, "Ana")
    local b = buy(t, "Bruno")
    local cookie_b, page_b = session_for(t, b)
    t.match(page_b.body, b.business)
    t.no_match(page_b.body, a.business .. "<", "not the other customer's site")
    t.no_match(page_b.body, a.email)
    t.eq(select(2, page_b.body:gsub("<td>succeeded</td>", "")), 1, "only their own payment")
    local csrf_b = field(page_b.body, "csrf")
    local events = count("SELECT count(*)::int AS n FROM webhook_events")
    local res = request("/portal/cancel", { method = "POST", cookie = cookie_b,
        form = form { csrf = csrf_b, subscription = a.subscription_id } })
    t.eq(res.status, 404)
    settled(t)
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", a.subscription_id).status, "active")
    t.eq(count("SELECT count(*)::int AS n FROM webhook_events"), events, "the provider was not asked")
    -- A's session with B's token is refused as well.
    local cookie_a = session_for(t, a)
    t.eq(request("/portal/cancel", { method = "POST", cookie = cookie_a,
        form = form { csrf = csrf_b, subscription = a.subscription_id } }).status, 403)

    -- B cancels their own: the provider's webhook changes the state.
    res = request("/portal/cancel", { method = "POST", cookie = cookie_b,
        form = form { csrf = csrf_b, subscription = b.subscription_id } })
    t.eq(res.status, 303)
    t.eq(res.headers.location, "/portal?cancel=requested")
    t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE action = 'subscription.cancel_requested'
        AND entity_id = $1 AND actor_type = 'customer']], b.subscription_id), 1)
    settled(t)
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", b.subscription_id).status, "cancelled")
    t.eq(one("SELECT status FROM subscriptions WHERE id = $1", a.subscription_id).status, "active")
    local after = request("/portal", { cookie = cookie_b })
    t.match(after.body, '<span class="status">cancelled</span>')
    t.match(after.body, "stays online until")
    t.no_match(after.body, "Cancel subscription")
end

function T.idle_sessions_end_and_logout_ends_one(t)
    setup(t)
    local a = buy(t, "Ana")
    local cookie, page = session_for(t, a)
    assert(wm.db.query("UPDATE portal_sessions SET last_seen_at = now() - interval '2 hours'"))
    local res = request("/portal", { cookie = cookie })
    t.eq(res.status, 200)
    t.no_match(res.body, "Sign out", "an idle session is over")
    t.match(res.body, "sign%-in link")
    t.no_match(res.body, a.business)
    -- A new session; logout ends it and clears the cookie.
    local link = link_in(mails(a.email)[1])
    assert(wm.db.query("UPDATE portal_links SET used_at = NULL"))     -- re-use the link, for the test's sake
    cookie, page = session_for(t, { link = link })
    res = request("/portal/logout", { method = "POST", cookie = cookie, form = form { csrf = field(page.body, "csrf") } })
    t.eq(res.status, 303)
    t.match(res.headers["set-cookie"], "^wm_portal=; Path=/portal; Max%-Age=0")
    t.ok(one("SELECT ended_at FROM portal_sessions WHERE ended_at IS NOT NULL LIMIT 1").ended_at ~= wm.null)
    t.no_match(request("/portal", { cookie = cookie }).body, "Sign out", "the old cookie is worth nothing")
    -- Past the absolute end, whatever the activity.
    assert(wm.db.query("UPDATE portal_links SET used_at = NULL"))
    cookie = session_for(t, { link = link })
    t.match(request("/portal", { cookie = cookie }).body, "Sign out")
    assert(wm.db.query("UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE ended_at IS NULL"))
    t.no_match(request("/portal", { cookie = cookie }).body, "Sign out")
end

function T.hostile_customer_name_is_escaped_in_the_page_and_the_email(t)
    setup(t)
    local a = buy(t, HOSTILE)
    local html = a.mail:match("Content%-Type: text/html.*$")
    t.ok(html, "an HTML part")
    t.match(html, "Hello &lt;img src=x onerror=alert%(1%)&gt;,")
    t.no_match(html, "<img src=x")
    local text = a.mail:match("Content%-Type: text/plain(.-)Content%-Type: text/html")
    t.match(text, "Hello <img src=x onerror=alert%(1%)>,", "the text part shows it as text")
    local _, page = session_for(t, a)
    t.match(page.body, "&lt;img src=x onerror=alert%(1%)&gt;")
    t.no_match(page.body, "<img src=x")
end

function T.empty_account_explains_itself(t)
    setup(t)
    local c = one([[INSERT INTO customers (email, full_name, status) VALUES ('nobody@example.com', 'No Body', 'active')
        RETURNING id]])
    local url = assert(require("web.portal.account").new_link(c.id))
    local _, page = session_for(t, { link = url:match("(/portal/login/.*)$") })
    t.match(page.body, "You have no subscription with us")
    t.match(page.body, "No payments yet")
    t.no_match(page.body, "<table")
    t.no_match(page.body, "Cancel subscription")
    -- Signed out, /portal says how to sign in and shows nothing else.
    local out = request("/portal")
    t.eq(out.status, 200)
    t.match(out.body, "sign%-in link we emailed you")
    t.no_match(out.body, "No Body")
end

function T.cli_prints_a_fresh_link(t)
    setup(t)
    local a = buy(t, "Ana")
    local wm_bin = os.getenv("WM_TEST_WM")
    if not wm_bin then
        t.skip("WM_TEST_WM is not set")
    end
    local r = assert(wm.exec { argv = { wm_bin, "customers", "login-link", a.customer_id }, timeout = 30,
                               env = { WM_SITES_BASE_URL = "http://127.0.0.1:" .. port } })
    t.eq(r.code, 0, r.stderr)
    local link = r.stdout:match("^http://127%.0%.0%.1:%d+(/portal/login/[%w_%-]+)\n$")
    t.ok(link, r.stdout)
    t.ok(session_for(t, { link = link }))
    t.eq(assert(wm.exec { argv = { wm_bin, "customers", "login-link" }, timeout = 30 }).code, 2)
end

return T
