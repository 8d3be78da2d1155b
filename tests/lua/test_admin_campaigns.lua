-- The dashboard's Campaigns page and the outreach switch (domain.outreach,
-- migration 036): an admin pauses and resumes outreach (activity by the
-- admin; twice is a 409 that changes nothing), an editor and a viewer see
-- the state without the control and get a 403 that changes nothing; while
-- paused the send and compose stages snooze (no attempt spent, the campaign
-- still pending, nothing in the outbox) while transactional mail still goes,
-- and after the resume the campaign is sent and the snoozed jobs are due at
-- once; the A/B table counts opens and clicks of people apart from those of
-- mail-privacy proxies and link scanners (lib.bot_agents, tried on real
-- user agents).
local T = {}

local web = dofile(wm.root .. "/tests/lib/web.lua")
local mail = dofile(wm.root .. "/tests/lib/mail.lua")
local bot_agents = require "lib.bot_agents"
local outreach = require "domain.outreach"
local outcome = require "lib.outcome"

local PASSWORD = "correct horse battery"
local HOSTILE = "<img src=x onerror=alert(1)>"
local port, accounts, var
local session = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one("SELECT (" .. sql .. ")::int AS n", ...).n
end

local function setup(t, serve)
    web.fresh_schema()
    var = t.tmpdir()
    t.config("paths", { var = var })
    require("lib.tracking").reset_key()
    t.config("providers", { mail = "outbox" })
    t.config("mail", { rate_limits = { smtp = 0, sendgrid = 0, ses = 14 }, daily_cap = 1000 })
    t.config("autopilot", { enabled = false })
    if serve then
        t.config("admin", { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 3,
                            login_delay = 1, login_delay_max = 900 })
        port = web.serve(t)
        accounts = web.accounts(PASSWORD)
        for _, role in ipairs({ "viewer", "editor", "admin" }) do
            local token, csrf = web.admin_login(t, port, role, PASSWORD)
            session[role] = { token = token, csrf = csrf }
        end
    else
        t.config("sites", { base_url = "http://127.0.0.1:1" })
    end
end

local function request(method, path, role, f)
    if f then
        f.csrf = f.csrf or session[role].csrf
    end
    return web.request(port, path, { method = method, admin = role and session[role].token, form = f })
end

local function page(t, role)
    local res = request("GET", "/admin/campaigns", role)
    t.eq(res.status, 200, "the page for " .. role)
    return res.body
end

local function state()
    return one("SELECT paused, paused_at::text AS paused_at, paused_by::text AS paused_by, reason FROM outreach_state")
end

local function outbox()
    local n = 0
    for _, name in ipairs(wm.fs.list_dir(var .. "/outbox") or {}) do
        if name:sub(-4) == ".eml" then
            n = n + 1
        end
    end
    return n
end

-- ---- the switch on the page ---------------------------------------------------------------------

function T.an_admin_pauses_and_resumes_outreach_lower_roles_cannot(t)
    setup(t, true)
    local body = page(t, "viewer")
    t.match(body, "Outreach is running")
    t.no_match(body, 'action="/admin/campaigns/pause"', "no control for a viewer")
    t.no_match(page(t, "editor"), 'action="/admin/campaigns/pause"', "nor for an editor")
    t.match(page(t, "admin"), 'action="/admin/campaigns/pause"')
    local acts = "SELECT count(*) FROM activity_log WHERE entity_type = 'outreach'"
    for _, role in ipairs({ "viewer", "editor" }) do
        t.eq(request("POST", "/admin/campaigns/pause", role, { reason = "no" }).status, 403, role)
    end
    t.eq(state().paused, false, "refused: still running")
    t.eq(count(acts), 0)

    local res = request("POST", "/admin/campaigns/pause", "admin", { reason = "Fixing the template " .. HOSTILE })
    t.eq(res.status, 303)
    t.eq(web.header(res, "location"), "/admin/campaigns?done=paused")
    local s = state()
    t.eq({ s.paused, s.paused_by }, { true, accounts.admin.id })
    t.match(s.reason, "^Fixing the template")
    local a = one([[SELECT actor_type, actor_id::text AS actor_id, details FROM activity_log
        WHERE action = 'outreach.paused']])
    t.eq({ a.actor_type, a.actor_id, a.details.reason }, { "admin", accounts.admin.id, s.reason })
    t.ok(outreach.paused())

    -- Everyone sees the state; only the admin gets the control.
    body = page(t, "viewer")
    t.match(body, "Outreach is paused</strong> since %d%d%d%d%-%d%d%-%d%d %d%d:%d%d by admin@example%.com")
    t.match(body, "Fixing the template &lt;img src=x onerror=alert%(1%)&gt;", "the reason is text")
    t.no_match(body, "<img src=x", "never markup")
    t.no_match(body, 'action="/admin/campaigns/resume"')
    t.no_match(page(t, "editor"), 'action="/admin/campaigns/resume"')
    t.match(request("GET", "/admin/campaigns?done=paused", "admin").body, 'action="/admin/campaigns/resume"')

    -- Pausing twice: 409, nothing changed.
    local again = request("POST", "/admin/campaigns/pause", "admin", { reason = "other" })
    t.eq(again.status, 409)
    t.match(again.body, "Not changed: outreach is already paused%.")
    t.eq(state(), s, "the first pause stands")
    t.eq(count(acts), 1)

    for _, role in ipairs({ "viewer", "editor" }) do
        t.eq(request("POST", "/admin/campaigns/resume", role, {}).status, 403, role)
    end
    t.eq(state().paused, true)
    t.eq(count(acts), 1)

    res = request("POST", "/admin/campaigns/resume", "admin", {})
    t.eq(res.status, 303)
    t.eq(web.header(res, "location"), "/admin/campaigns?done=resumed")
    t.eq(state().paused, false)
    t.eq(one("SELECT actor_id::text AS a FROM activity_log WHERE action = 'outreach.resumed'").a, accounts.admin.id)
    t.match(page(t, "viewer"), "Outreach is running")
    local twice = request("POST", "/admin/campaigns/resume", "admin", {})
    t.eq(twice.status, 409)
    t.match(twice.body, "Not changed: outreach is not paused%.")
    t.eq(count(acts), 2)
end

-- ---- the stages ---------------------------------------------------------------------------------

-- The same switch from the command line, for an operator on the server.
function T.wm_campaigns_pause_resume_and_state(t)
    local bin = os.getenv("WM_TEST_WM")
    if not bin then
        t.skip("WM_TEST_WM not set (run through ctest)")
    end
    setup(t, true)
    local function cli(...)
        return assert(wm.exec { argv = { bin, "campaigns", ... }, timeout = 60 })
    end
    t.match(cli("state").stdout, "^Outreach is running")
    local r = cli("pause", "--reason", "template fix\27[2J")
    t.eq(r.code, 0, r.stderr)
    t.eq(state().paused, true)
    t.eq(state().reason, "template fix\27[2J")
    r = cli("state")
    t.match(r.stdout, "^Outreach is paused since [^\n]+ by user: template fix %[2J\n")
    t.no_match(r.stdout, "\27", "no escape reaches the terminal")
    t.match(page(t, "viewer"), "Outreach is paused</strong> since [^<]+ by user")
    r = cli("pause")
    t.eq(r.code, 1, "twice")
    t.match(r.stderr, "already paused")
    t.eq(cli("resume").code, 0)
    t.eq(state().paused, false)
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action IN ('outreach.paused', 'outreach.resumed') AND actor_type = 'user'"), 2)
    t.eq(cli("resume").code, 1, "not paused")
end

function T.while_paused_campaigns_wait_and_transactional_mail_goes(t)
    setup(t, false)
    local c = mail.campaign()
    assert(wm.db.tx(function() return outreach.pause("admin", nil, "test") end))

    local first = mail.send(c)
    t.eq(first.outcome, outcome.snooze(1).outcome, tostring(first))
    t.eq(first.delay, outreach.SNOOZE)
    t.eq(mail.campaign_row(c).status, "pending", "not claimed")
    t.eq(outbox(), 0, "nothing sent")
    local biz = one("SELECT business_id FROM campaigns WHERE id = $1", c).business_id
    local composed = require("stages.compose").run({ id = 0, kind = "compose", attempt = 1, max_attempts = 4,
                                                     payload = { business_id = biz } })
    t.eq(composed.outcome, outcome.snooze(1).outcome, "compose waits too: " .. tostring(composed))

    -- A sign-in link is no outreach: it goes.
    local customer = one("INSERT INTO customers (email, full_name) VALUES ('pat@example.test', 'Pat') RETURNING id").id
    local link = require("stages.portal_welcome").run({ id = 0, kind = "portal_welcome", attempt = 1, max_attempts = 5,
                                                         payload = { customer_id = customer, kind = "link" } })
    t.match(tostring(link), "^outcome%.done")
    t.eq(outbox(), 1, "the sign-in link")

    -- A send job the scheduler snoozed is due as soon as outreach resumes.
    local job = one([[INSERT INTO jobs (kind, payload, status, run_at) VALUES ('send', $1, 'scheduled',
        now() + interval '10 minutes') RETURNING id]], { campaign_id = c }).id
    local other = one([[INSERT INTO jobs (kind, payload, status, run_at) VALUES ('screenshot', '{}', 'scheduled',
        now() + interval '10 minutes') RETURNING id]]).id
    assert(wm.db.tx(function() return outreach.resume("admin", nil) end))
    t.ok(one("SELECT run_at <= now() AS due FROM jobs WHERE id = $1", job).due, "the send job is due")
    t.ok(not one("SELECT run_at <= now() AS due FROM jobs WHERE id = $1", other).due, "other kinds keep their time")

    t.match(tostring(mail.send(c)), "^outcome%.done")
    t.eq(mail.campaign_row(c).status, "sent")
    t.eq(outbox(), 2, "the campaign went after the resume")
end

-- A pause that commits after the stage's first look still stops the claim.
function T.a_pause_is_checked_again_inside_the_claim(t)
    setup(t, false)
    local c = mail.campaign()
    local real = outreach.paused
    local calls = 0
    outreach.paused = function()
        calls = calls + 1
        if calls == 1 then
            return false                    -- the first look: running
        end
        return real()
    end
    t.defer(function() outreach.paused = real end)
    assert(wm.db.tx(function() return outreach.pause("system", nil) end))
    local res = mail.send(c)
    t.eq(res.outcome, outcome.snooze(1).outcome, tostring(res))
    t.eq(calls, 2)
    t.eq(mail.campaign_row(c).status, "pending")
    t.eq(outbox(), 0)
end

-- ---- the A/B table -----------------------------------------------------------------------------

local GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
local YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
local APPLE_MPP = "Mozilla/5.0"
local IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
local CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
local OUTLOOK = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 Microsoft Outlook 16.0"
local BING = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b"

function T.the_classifier_on_real_user_agents(t)
    for ua, want in pairs {
        [GMAIL] = "proxy", [YAHOO] = "proxy", [APPLE_MPP] = "proxy", [" Mozilla/5.0 "] = "proxy",
        [IPHONE] = "person", [CHROME] = "person", [OUTLOOK] = "person",
        ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"] = "person",
        ["Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"] = "person",
        [BING] = "scanner",
        ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"] = "scanner",
        ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"] = "scanner",
        ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"] = "scanner",
        ["Barracuda Sentinel (EE)"] = "scanner", ["Proofpoint URL Defense"] = "scanner",
        ["Mimecast-Link-Scanner"] = "scanner", ["Google-Safety"] = "scanner",
        ["curl/8.5.0"] = "scanner", ["Wget/1.21.4"] = "scanner", ["python-requests/2.31.0"] = "scanner",
        ["Go-http-client/1.1"] = "scanner",
        ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"] = "scanner",
        [""] = "scanner",
    } do
        t.eq(bot_agents.classify(ua), want, ua)
    end
    t.eq(bot_agents.classify(nil), "scanner", "no User-Agent at all")
    t.eq(bot_agents.automated(GMAIL), true)
    t.eq(bot_agents.automated(CHROME), false)
end

local function event(campaign, kind, ua)
    assert(wm.db.query("INSERT INTO tracking_events (campaign_id, kind, user_agent, remote_addr) VALUES ($1, $2, $3, '192.0.2.1')",
        campaign, kind, ua))
end

-- The cells of the table row of variant `name`, as numbers and rates.
local function row(body, name)
    local tr = body:match('<tr><td>' .. name .. '</td>(.-)</tr>')
    if not tr then
        return nil
    end
    local cells = {}
    for v in tr:gmatch('<td class="num[^"]*">([^<]*)</td>') do
        cells[#cells + 1] = v
    end
    return cells
end

function T.the_ab_table_counts_people_apart_from_proxies_and_scanners(t)
    setup(t, true)
    t.match(page(t, "viewer"), "No campaign has been sent yet")
    local function sent(variant)
        local id = mail.campaign { status = "sent" }
        assert(wm.db.query("UPDATE campaigns SET variant = $2 WHERE id = $1", id, variant))
        return id
    end
    -- Variant a: four sent. One opened by a person (and by Gmail's proxy
    -- too) who clicked and converted; one opened only by Apple's proxy and
    -- clicked only by a scanner; one opened only by Yahoo's proxy; one
    -- nothing at all.
    local a1, a2, a3 = sent("a"), sent("a"), sent("a")
    sent("a")
    event(a1, "open", GMAIL)
    event(a1, "open", IPHONE)
    event(a1, "open", IPHONE)
    event(a1, "click", IPHONE)
    assert(wm.db.query("UPDATE campaigns SET converted_at = now() WHERE id = $1", a1))
    event(a2, "open", APPLE_MPP)
    event(a2, "click", "Mozilla/5.0 (compatible; Barracuda Sentinel)")
    event(a2, "click", nil)
    event(a3, "open", YAHOO)
    -- Variant b: two sent, both opened by people, one clicked by a person
    -- after a scanner did; an unsubscribe is neither.
    local b1, b2 = sent("b"), sent("b")
    event(b1, "open", CHROME)
    event(b2, "open", OUTLOOK)
    event(b2, "click", BING)
    event(b2, "click", CHROME)
    event(b2, "unsubscribe", CHROME)
    -- No variant, and one never sent (not counted, whatever its events).
    local n1 = sent(nil)
    event(n1, "click", "curl/8.5.0")
    local pending = mail.campaign()
    assert(wm.db.query("UPDATE campaigns SET variant = 'a' WHERE id = $1", pending))
    event(pending, "open", CHROME)

    local body = page(t, "viewer")
    t.no_match(body, "No campaign has been sent yet")
    -- sent, opened, open rate, opened by proxy only, clicked, click rate,
    -- clicked by scanner only, converted, conversion rate
    t.eq(row(body, "a"), { "4", "1", "25.0%", "2", "1", "25.0%", "1", "1", "25.0%" })
    t.eq(row(body, "b"), { "2", "2", "100.0%", "0", "1", "50.0%", "0", "0", "0.0%" })
    t.eq(row(body, "none"), { "1", "0", "0.0%", "0", "0", "0.0%", "1", "0", "0.0%" })
end

return T
