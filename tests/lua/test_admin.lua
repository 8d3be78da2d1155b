-- The dashboard's accounts and roles through a real wm HTTP server on
-- 127.0.0.1 (scripts/web with the admin pages): login and logout, the
-- session cookie, throttling, idle and absolute expiry, disabled users,
-- CSRF, API tokens, the setup link, a walk of the route table (every
-- mutating admin route refused to each lower role, with nothing changed;
-- allowed: an activity row with the actor) and hostile lead data.
local T = {}

local router = require "wm.router"
local users = require "domain.admin_users"
local web = dofile(wm.root .. "/tests/lib/web.lua")

local PASSWORD = "correct horse battery"
local port
local accounts

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end


-- A fresh schema, wm's HTTP server, and one account per role.
local function setup(t, admin_cfg)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    local cfg = { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 3,
                  login_delay = 1, login_delay_max = 900 }
    for k, v in pairs(admin_cfg or {}) do
        cfg[k] = v
    end
    t.config("admin", cfg)
    port = web.serve(t)
    accounts = web.accounts(PASSWORD)
end

function T.login_sets_a_strict_cookie_and_logout_ends_the_session(t)
    setup(t)
    local bad = web.request(port, "/admin/login", { form = { email = "viewer@example.com", password = "nope" } })
    t.eq(bad.status, 401)
    t.match(bad.body, "do not match")
    t.eq(web.header(bad, "set-cookie"), nil)
    local res = web.request(port, "/admin/login", { form = { email = "Viewer@Example.com", password = PASSWORD,
                                                                ["next"] = "/admin/leads" } })
    t.eq(res.status, 303)
    t.eq(web.header(res, "location"), "/admin/leads")
    local cookie = web.header(res, "set-cookie")
    t.match(cookie, "^wm_admin=[%w_-]+; Max%-Age=43200; Path=/; HttpOnly; SameSite=Lax$")
    local token = cookie:match("^wm_admin=([^;]+)")
    t.eq(#token, 43, "256 random bits")
    -- Stored as its hash only.
    t.eq(one("SELECT count(*)::int AS n FROM admin_sessions WHERE token_hash = $1", wm.crypto.sha256_hex(token)).n, 1)
    t.eq(one("SELECT count(*)::int AS n FROM admin_sessions WHERE token_hash = $1", token).n, 0)
    t.ok(one("SELECT last_login_at FROM admin_users WHERE email = 'viewer@example.com'").last_login_at ~= wm.null)
    local page = web.request(port, "/admin/", { admin = token })
    t.eq(page.status, 200)
    t.match(web.header(page, "content-security-policy"), "default%-src 'none'")
    t.match(page.body, "viewer@example.com")
    local csrf = web.csrf_of(page.body)
    -- A redirect after login never leaves the dashboard.
    res = web.request(port, "/admin/login", { form = { email = "viewer@example.com", password = PASSWORD,
                                                          ["next"] = "//evil.example/" } })
    t.eq(web.header(res, "location"), "/admin/")
    -- Logout needs the CSRF token, then the cookie opens nothing.
    t.eq(web.request(port, "/admin/logout", { admin = token, form = "" }).status, 403)
    res = web.request(port, "/admin/logout", { admin = token, form = { csrf = csrf } })
    t.eq(res.status, 303)
    t.match(web.header(res, "set-cookie"), "^wm_admin=; Max%-Age=0")
    res = web.request(port, "/admin/", { admin = token })
    t.eq(res.status, 303)
    t.match(web.header(res, "location"), "^/admin/login")
    t.ok(one("SELECT ended_at FROM admin_sessions WHERE token_hash = $1", wm.crypto.sha256_hex(token)).ended_at ~= wm.null)
    t.eq(one([[SELECT count(*)::int AS n FROM activity_log WHERE action = 'admin_user.logout' AND actor_type = 'admin'
        AND actor_id = $1]], accounts.viewer.id).n, 1)
    -- A form posted from another site may not log anyone in.
    res = web.request(port, "/admin/login", { form = { email = "viewer@example.com", password = PASSWORD },
                                            headers = { Origin = "http://evil.example" } })
    t.eq(res.status, 403)
end

function T.failed_logins_slow_down_per_account_and_per_address(t)
    setup(t, { login_free_failures = 2, login_delay = 30 })
    for _ = 1, 2 do
        t.eq(web.request(port, "/admin/login", { form = { email = "editor@example.com", password = "wrong" } }).status,
            401)
    end
    -- The right password waits too: the throttle answers before checking it.
    local res = web.request(port, "/admin/login", { form = { email = "editor@example.com", password = PASSWORD } })
    t.eq(res.status, 429)
    local wait = tonumber(web.header(res, "retry-after"))
    t.ok(wait and wait > 25 and wait <= 30, "about login_delay seconds: " .. tostring(wait))
    t.eq(one("SELECT count(*)::int AS n FROM login_attempts WHERE email = 'editor@example.com'").n, 2)
    -- Per address: the same client trying another account waits as well.
    res = web.request(port, "/admin/login", { form = { email = "admin@example.com", password = PASSWORD } })
    t.eq(res.status, 429)
    -- Doubling: a third failure an hour-window later waits twice as long.
    assert(wm.db.query("UPDATE login_attempts SET created_at = created_at - interval '31 seconds'"))
    t.eq(web.request(port, "/admin/login", { form = { email = "editor@example.com", password = "wrong" } }).status, 401)
    res = web.request(port, "/admin/login", { form = { email = "editor@example.com", password = PASSWORD } })
    t.eq(res.status, 429)
    wait = tonumber(web.header(res, "retry-after"))
    t.ok(wait > 55 and wait <= 60, "doubled: " .. tostring(wait))
    -- Failures older than an hour no longer count.
    assert(wm.db.query("UPDATE login_attempts SET created_at = created_at - interval '2 hours'"))
    t.eq(web.request(port, "/admin/login", { form = { email = "editor@example.com", password = PASSWORD } }).status,
        303)
end

function T.sessions_expire_when_idle_and_at_their_end(t)
    setup(t)
    local token = web.admin_login(t, port, "viewer", PASSWORD)
    assert(wm.db.query("UPDATE admin_sessions SET last_seen_at = now() - interval '7201 seconds'"))
    t.eq(web.request(port, "/admin/", { admin = token }).status, 303, "idle")
    token = web.admin_login(t, port, "viewer", PASSWORD)
    t.eq(web.request(port, "/admin/", { admin = token }).status, 200)
    assert(wm.db.query("UPDATE admin_sessions SET expires_at = now() - interval '1 second' WHERE ended_at IS NULL"))
    t.eq(web.request(port, "/admin/", { admin = token }).status, 303, "absolute")
end

function T.a_disabled_user_is_locked_out_at_once(t)
    setup(t)
    local token = web.admin_login(t, port, "editor", PASSWORD)
    local api = assert(wm.db.tx(function() return users.token_create(accounts.editor.id, "ci") end))
    t.eq(web.request(port, "/admin/jobs", { headers = { Authorization = "Bearer " .. api } }).status, 200)
    -- Disabled in the database behind the session's back (another host):
    -- the next request is refused.
    assert(wm.db.query("UPDATE admin_users SET is_active = false WHERE id = $1", accounts.editor.id))
    t.eq(web.request(port, "/admin/jobs", { admin = token }).status, 303)
    t.eq(web.request(port, "/admin/jobs", { headers = { Authorization = "Bearer " .. api } }).status, 303)
    local res = web.request(port, "/admin/login", { form = { email = "editor@example.com", password = PASSWORD } })
    t.eq(res.status, 401)
end

function T.api_tokens_are_hashed_and_revocable(t)
    setup(t)
    local api, id = assert(wm.db.tx(function() return users.token_create(accounts.viewer.id, "ci") end))
    t.eq(one("SELECT count(*)::int AS n FROM admin_api_tokens WHERE token_hash = $1", wm.crypto.sha256_hex(api)).n, 1)
    t.eq(web.request(port, "/admin/leads", { headers = { Authorization = "Bearer " .. api } }).status, 200)
    t.eq(web.request(port, "/admin/users", { headers = { Authorization = "Bearer " .. api } }).status, 403)
    assert(wm.db.tx(function() return users.token_revoke(id, { type = "user" }) end))
    t.eq(web.request(port, "/admin/leads", { headers = { Authorization = "Bearer " .. api } }).status, 303)
end

local function job(status)
    return one([[INSERT INTO jobs (kind, status, attempt, max_attempts, last_error)
        VALUES ('scrape', $1, 3, 3, 'boom') RETURNING id]], status).id
end

function T.csrf_missing_or_wrong_is_403_and_changes_nothing(t)
    setup(t)
    local token, csrf = web.admin_login(t, port, "editor", PASSWORD)
    t.ok(csrf and #csrf == 43)
    local id = job("discarded")
    -- A wrong token: its first character changed (whatever it was).
    local wrong = (csrf:sub(1, 1) == "x" and "y" or "x") .. csrf:sub(2)
    for _, f in ipairs({ "", web.form { csrf = wrong }, web.form { csrf = "" } }) do
        local res = web.request(port, "/admin/jobs/" .. id .. "/retry", { admin = token, form = f })
        t.eq(res.status, 403)
    end
    t.eq(web.request(port, "/admin/jobs/" .. id .. "/retry", { method = "POST", admin = token,
        headers = { ["X-CSRF-Token"] = "wrong" } }).status, 403)
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id).status, "discarded")
    -- Another session's token is wrong for this one.
    local _, other = web.admin_login(t, port, "admin", PASSWORD)
    t.eq(web.request(port, "/admin/jobs/" .. id .. "/retry", { admin = token, form = { csrf = other } }).status, 403)
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id).status, "discarded")
    local res = web.request(port, "/admin/jobs/" .. id .. "/retry", { admin = token, form = { csrf = csrf } })
    t.eq(res.status, 303)
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id).status, "available")
end

-- The state a mutating route may change, to compare before and after.
local function snapshot()
    return {
        jobs = assert(wm.db.query("SELECT id, status FROM jobs ORDER BY id")),
        subscriptions = assert(wm.db.query("SELECT id, status FROM subscriptions ORDER BY id")),
        payments = assert(wm.db.query("SELECT id, status FROM payments ORDER BY id")),
        webhook_events = assert(wm.db.query("SELECT id, status FROM webhook_events ORDER BY id")),
        portal_links = one("SELECT count(*)::int AS n FROM portal_links").n,
        users = assert(wm.db.query("SELECT id, role, is_active FROM admin_users ORDER BY id")),
        campaigns = assert(wm.db.query("SELECT id, status FROM campaigns ORDER BY id")),
        cells = assert(wm.db.query("SELECT id, status, priority FROM coverage_grid ORDER BY id")),
        sites = assert(wm.db.query("SELECT id, status FROM generated_sites ORDER BY id")),
        prompts = assert(wm.db.query("SELECT id, is_active, weight FROM prompt_settings ORDER BY id")),
        activity = one("SELECT count(*)::int AS n FROM activity_log WHERE action NOT LIKE 'admin_user.log%'").n,
    }
end

function T.every_mutating_route_refuses_lower_roles_and_logs_allowed_ones(t)
    setup(t)
    local sessions = {}
    for _, role in ipairs(users.ROLES) do
        local token, csrf = web.admin_login(t, port, role, PASSWORD)
        sessions[role] = { token = token, csrf = csrf }
    end
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status) VALUES ('g1', 's1', 'Shop', 'o@example.com',
        'qualified') RETURNING id]]).id
    -- A grid cell, a site and a prompt setting per call, for the dashboard's pages.
    local made = 0
    local function page_rows()
        made = made + 1
        local function cell(status)
            return one([[INSERT INTO coverage_grid (state, city, industry, status) VALUES ('TX', 'Austin', $1, $2)
                RETURNING id]], "walk " .. made .. status, status).id
        end
        local site = function(n)
            return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
                VALUES ($1, $2, 'x', 'preview') RETURNING id]], b, "walk-" .. made .. "-" .. n).id
        end
        local prompt = one([[INSERT INTO prompt_settings (agent_name, section_name, content, version, is_active, weight)
            VALUES ('analyst', $1, 'text', 1, true, 100) RETURNING id]], "walk_" .. made).id
        return { pending = cell("pending"), paused = cell("paused"), site1 = site(1), site2 = site(2), prompt = prompt }
    end
    -- A customer who bought through an offline checkout (the provider
    -- cancels and refunds only what it sold), with a failed webhook event.
    local bought = 0
    local function sale()
        bought = bought + 1
        local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
            VALUES ($1, $2, 'x', 'live') RETURNING id]], b, "sold-" .. bought).id
        local ch = "ch_walk" .. bought
        one([[INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id, business_id, amount_cents,
            status) VALUES ('offline', $1, 'http://x/pay', $2, $3, 80000, 'paid') RETURNING id]], ch, site, b)
        local c = one([[INSERT INTO customers (email, site_id, status) VALUES ($1, $2, 'active') RETURNING id]],
            "buyer" .. bought .. "@example.com", site).id
        local sub = one([[INSERT INTO subscriptions (customer_id, site_id, recurrente_subscription_id, recurrente_checkout_id,
            amount_cents, status) VALUES ($1, $2, $3, $4, 80000, 'active') RETURNING id]], c, site, "su_walk" .. bought, ch).id
        local pay = one([[INSERT INTO payments (customer_id, subscription_id, recurrente_payment_id, amount_cents,
            payment_type, status, paid_at) VALUES ($1, $2, $3, 80000, 'subscription', 'succeeded', now()) RETURNING id]],
            c, sub, "pa_walk" .. bought).id
        local ev = one([[INSERT INTO webhook_events (provider, event_id, event_type, body, status, error)
            VALUES ('recurrente', $1, 'payment_intent.succeeded', '{}', 'failed', 'boom') RETURNING id]],
            "msg_walk" .. bought).id
        return { customer = c, subscription = sub, payment = pay, event = ev }
    end
    -- One target per parameterised route, each in the state its action takes.
    -- (Only the asked pattern's costly rows are made: an account's argon2id
    -- hash per call made the walk outlast its time limit on a busy machine.)
    local function targets(pattern)
        -- Rows made only when this call's route uses them (else ids nothing reads).
        local function for_routes(prefixes, make)
            for _, p in ipairs(prefixes) do
                if pattern:sub(1, #p) == p then
                    return make()
                end
            end
            return setmetatable({}, { __index = function() return "none" end })
        end
        local sold = for_routes({ "/admin/subscriptions/", "/admin/payments/", "/admin/webhooks/", "/admin/customers/" },
            sale)
        local c = one([[INSERT INTO campaigns (business_id, subject_line, email_body, recipient_email, status,
            sending_started_at) VALUES ($1, 's', 'b', 'o@example.com', 'sending', now()) RETURNING id]], b).id
        local pr = for_routes({ "/admin/coverage/", "/admin/sites/", "/admin/prompts/" }, page_rows)
        -- A site with two versions: version 1 can be restored.
        local rb = for_routes({ "/admin/sites/:id/rollback" }, function()
            local k = wm.crypto.random_token(6):lower():gsub("[^%w]", "")
            local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version)
                VALUES ($1, $2, 'v1', 'live', 1) RETURNING id]], b, "rb-walk-" .. k).id
            assert(wm.db.tx(function() return require("domain.sites").new_version(site, "v2", "p") end))
            return { site = site }
        end)
        -- A live site with a customer, for staff to file a change request on.
        local fr = for_routes({ "/admin/sites/:id/request" }, function()
            local k = wm.crypto.random_token(6):lower():gsub("[^%w]", "")
            local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version)
                VALUES ($1, $2, 'x', 'live', 1) RETURNING id]], b, "fr-walk-" .. k).id
            local cust = one("INSERT INTO customers (email) VALUES ($1) RETURNING id", "fr" .. k .. "@example.com").id
            one([[INSERT INTO subscriptions (customer_id, site_id, status, amount_cents) VALUES ($1, $2, 'active', 80000)
                RETURNING id]], cust, site)
            return { site = site }
        end)
        -- A site the quality gate held, for an editor to release to outreach.
        local rl = for_routes({ "/admin/sites/:id/release" }, function()
            local k = wm.crypto.random_token(6):lower():gsub("[^%w]", "")
            local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version,
                quality_attempts, quality_failures, quality_checked_at)
                VALUES ($1, $2, 'x', 'held', 1, 3, '["the page is too big"]'::jsonb, now()) RETURNING id]],
                b, "rl-walk-" .. k).id
            return { site = site }
        end)
        -- Change requests in the states each decision takes (domain/tickets.lua).
        local tk = for_routes({ "/admin/tickets/" }, function()
            local k = wm.crypto.random_token(6):lower():gsub("[^%w]", "")
            local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version)
                VALUES ($1, $2, 'x', 'live', 1) RETURNING id]], b, "tk-walk-" .. k).id
            local cust = one("INSERT INTO customers (email) VALUES ($1) RETURNING id", "tk" .. k .. "@example.com").id
            local proposal = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version,
                previous_version_id) VALUES ($1, $2, 'y', 'proposed', 2, $3) RETURNING id]], b, "tk-walk-" .. k .. "--t", site).id
            local function ticket(status)
                return one([[INSERT INTO support_tickets (customer_id, site_id, request_text, status, proposed_site_id,
                    base_version) VALUES ($1, $2, 'change it', $3, $4, 1) RETURNING id]], cust, site, status, proposal).id
            end
            -- A proposal staff can edit: the words it is rendered from.
            local content = { title = "Shop in Austin, TX", meta_description = "A shop in Austin with friendly service.",
                hero = { headline = "Friendly service", subheadline = "Open six days a week.", cta_label = "Call now" },
                sections = { { kind = "about", heading = "About", body = "A family shop that has served the town for years." },
                             { kind = "faq", heading = "FAQ", items = { { question = "Are you open?", answer = "Most days." } } },
                             { kind = "contact", heading = "Contact", body = "Come and see us." } },
                footer_note = "Serving Austin." }
            assert(wm.db.query([[INSERT INTO agent_outputs (business_id, agent, output) VALUES ($1, 'architect', $2::jsonb)
                ON CONFLICT (business_id, agent) DO UPDATE SET output = EXCLUDED.output]], b, content))
            local editable = ticket("awaiting_approval")
            assert(wm.db.query("UPDATE support_tickets SET proposed_inputs = $2::jsonb WHERE id = $1", editable,
                { content = content }))
            return { awaiting = ticket("awaiting_approval"), open = ticket("open"), person = ticket("needs_person"),
                     editable = editable,
                     user = one("SELECT id FROM admin_users WHERE is_active ORDER BY email LIMIT 1").id }
        end)
        local victim = pattern:find("^/admin/users/") and assert(wm.db.tx(function()
            return assert(users.add({ email = "v" .. wm.crypto.random_token(4):lower():gsub("[^%w]", "") .. "@example.com",
                                      role = "viewer", password = PASSWORD }))
        end)).id or "none"
        return {
            ["/admin/jobs/:id/retry"] = { path = "/admin/jobs/" .. job("discarded") .. "/retry" },
            ["/admin/jobs/:id/cancel"] = { path = "/admin/jobs/" .. job("retryable") .. "/cancel" },
            ["/admin/campaigns/:id/resolve"] = { path = "/admin/campaigns/" .. c .. "/resolve", form = { verdict = "sent" } },
            ["/admin/users"] = { path = "/admin/users", form = { email = "n" .. os.time() .. math.random(1e6) .. "@example.com",
                                                                 role = "viewer", password = PASSWORD } },
            ["/admin/users/:id/role"] = { path = "/admin/users/" .. victim .. "/role", form = { role = "editor" } },
            ["/admin/users/:id/disable"] = { path = "/admin/users/" .. victim .. "/disable" },
            ["/admin/users/:id/enable"] = { path = "/admin/users/" .. victim .. "/enable", prepare = function()
                assert(wm.db.query("UPDATE admin_users SET is_active = false WHERE id = $1", victim))
            end },
            ["/admin/subscriptions/:id/cancel"] = { path = "/admin/subscriptions/" .. sold.subscription .. "/cancel" },
            ["/admin/payments/:id/refund"] = { path = "/admin/payments/" .. sold.payment .. "/refund" },
            ["/admin/webhooks/:id/replay"] = { path = "/admin/webhooks/" .. sold.event .. "/replay" },
            -- The link is shown in the answer (never put in a redirect's URL).
            ["/admin/customers/:id/portal-link"] = { path = "/admin/customers/" .. sold.customer .. "/portal-link",
                                                     status = 200 },
            ["/admin/coverage/:id/pause"] = { path = "/admin/coverage/" .. pr.pending .. "/pause" },
            ["/admin/coverage/:id/resume"] = { path = "/admin/coverage/" .. pr.paused .. "/resume" },
            ["/admin/coverage/:id/priority"] = { path = "/admin/coverage/" .. pr.pending .. "/priority",
                                                 form = { priority = "5" } },
            ["/admin/coverage/:id/cooldown"] = { path = "/admin/coverage/" .. pr.pending .. "/cooldown",
                                                 form = { days = "3" } },
            ["/admin/sites/:id/regenerate"] = { path = "/admin/sites/" .. pr.site1 .. "/regenerate" },
            ["/admin/sites/:id/archive"] = { path = "/admin/sites/" .. pr.site2 .. "/archive" },
            ["/admin/sites/:id/rollback"] = { path = "/admin/sites/" .. rb.site .. "/rollback", form = { version = "1" } },
            ["/admin/sites/:id/release"] = { path = "/admin/sites/" .. rl.site .. "/release" },
            ["/admin/campaigns/pause"] = { path = "/admin/campaigns/pause", form = { reason = "walk" }, prepare = function()
                assert(wm.db.query("UPDATE outreach_state SET paused = false"))
            end },
            ["/admin/campaigns/resume"] = { path = "/admin/campaigns/resume", prepare = function()
                assert(wm.db.query("UPDATE outreach_state SET paused = true, paused_at = now()"))
            end },
            ["/admin/sites/:id/request"] = { path = "/admin/sites/" .. fr.site .. "/request",
                                             form = { text = "Please change the phone to (512) 555-0199" } },
            ["/admin/prompts/:id"] = { path = "/admin/prompts/" .. pr.prompt, form = { content = "new text" } },
            ["/admin/prompts/:id/weight"] = { path = "/admin/prompts/" .. pr.prompt .. "/weight", form = { weight = "50" } },
            ["/admin/prompts/:id/active"] = { path = "/admin/prompts/" .. pr.prompt .. "/active", form = { active = "0" } },
            -- Approval makes the site's next version: its row and the ticket's, both the admin's.
            ["/admin/tickets/:id/approve"] = { path = "/admin/tickets/" .. tk.awaiting .. "/approve", activity = 2 },
            ["/admin/tickets/:id/reject"] = { path = "/admin/tickets/" .. tk.open .. "/reject", form = { note = "no" } },
            ["/admin/tickets/:id/resolve"] = { path = "/admin/tickets/" .. tk.person .. "/resolve",
                                               form = { note = "done by hand" } },
            ["/admin/tickets/:id/edit"] = { path = "/admin/tickets/" .. tk.editable .. "/edit",
                                            form = { ["hero.headline"] = "Friendly, fast service" } },
            ["/admin/tickets/:id/assign"] = { path = "/admin/tickets/" .. tk.open .. "/assign", form = { user = tk.user } },
        }
    end
    local walked = 0
    for _, r in ipairs(router.list()) do
        if r.method == "POST" and r.pattern:sub(1, 7) == "/admin/" and r.role ~= "public" and r.pattern ~= "/admin/logout" then
            walked = walked + 1
            for _, role in ipairs(users.ROLES) do
                local target = targets(r.pattern)[r.pattern]
                t.ok(target, "a target for " .. r.pattern)
                if target.prepare then
                    target.prepare()
                end
                local f = { csrf = sessions[role].csrf }
                for k, v in pairs(target.form or {}) do
                    f[k] = v
                end
                local before = snapshot()
                local res = web.request(port, target.path, { admin = sessions[role].token, form = f })
                if router.role_allows(role, r.role) then
                    t.eq(res.status, target.status or 303, role .. " on " .. r.pattern)
                    local row = wm.db.one([[SELECT actor_type, actor_id FROM activity_log
                        WHERE action NOT LIKE 'admin_user.log%' ORDER BY created_at DESC LIMIT 1]])
                    t.eq({ row.actor_type, row.actor_id }, { "admin", accounts[role].id }, role .. " on " .. r.pattern)
                    t.eq(snapshot().activity, before.activity + (target.activity or 1))
                else
                    t.eq(res.status, 403, role .. " on " .. r.pattern)
                    t.eq(snapshot(), before, "nothing changed: " .. role .. " on " .. r.pattern)
                end
            end
        end
    end
    t.ok(walked >= 7, "walked " .. walked .. " mutating routes")
end

function T.hostile_lead_data_shows_as_text(t)
    setup(t)
    local name = "<img src=x onerror=alert(1)>"
    local id = one([[INSERT INTO businesses (gmb_id, slug, name, city, lead_status, raw_place)
        VALUES ('gx', 'sx', $1, '</script><script>alert(2)</script>', 'qualified', $2::jsonb) RETURNING id]],
        name, { reviews = { "</script><b>x</b>" } }).id
    local token = web.admin_login(t, port, "viewer", PASSWORD)
    for _, path in ipairs({ "/admin/leads", "/admin/leads/" .. id }) do
        local res = web.request(port, path, { admin = token })
        t.eq(res.status, 200, path)
        t.ok(res.body:find("&lt;img src=x onerror=alert(1)&gt;", 1, true), "escaped on " .. path)
        t.ok(not res.body:find("<img src=x", 1, true), path)
        t.ok(not res.body:find("<script>alert", 1, true), path)
        t.ok(not res.body:find("</script><b>", 1, true), path)
    end
    t.eq(web.request(port, "/admin/leads/not-a-uuid", { admin = token }).status, 404)
end

function T.the_setup_link_creates_the_first_super_admin_once(t)
    setup(t)
    assert(wm.db.query("DELETE FROM admin_users"))
    local auth = require "lib.admin_auth"
    local url = assert(auth.setup_link())
    local path = url:match("^https?://[^/]+(/admin/setup/[%w_-]+)$")
    t.ok(path, url)
    t.eq(web.request(port, path).status, 200)
    local res = web.request(port, path, { form = { email = "first@example.com", name = "First", password = "short" } })
    t.eq(res.status, 422)
    res = web.request(port, path, { form = { email = "first@example.com", name = "First", password = PASSWORD } })
    t.eq(res.status, 303)
    t.match(web.header(res, "set-cookie"), "^wm_admin=")
    t.eq(one("SELECT role FROM admin_users WHERE email = 'first@example.com'").role, "super_admin")
    -- Used: neither it nor a new one works while an admin exists.
    t.eq(web.request(port, path, { form = { email = "second@example.com", password = PASSWORD } }).status, 410)
    t.eq(auth.setup_link(), nil)
    t.eq(one("SELECT count(*)::int AS n FROM admin_users").n, 1)
end

return T
