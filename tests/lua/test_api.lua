-- The JSON API (/api/v1) through a real wm HTTP server on 127.0.0.1:
-- bearer tokens and sessions, roles, CSRF for cookies only, keyset
-- pagination that walks every row once whatever the ties, cursors that
-- cannot be forged into SQL, errors as JSON, hostile data, the rate limit.
local T = {}

local users = require "domain.admin_users"
local web = dofile(wm.root .. "/tests/lib/web.lua")

local PASSWORD = "correct horse battery"
local port
local accounts

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(t, admin_cfg)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    local cfg = { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 3,
                  login_delay = 1, login_delay_max = 900, api_rate = 0 }
    for k, v in pairs(admin_cfg or {}) do
        cfg[k] = v
    end
    t.config("admin", cfg)
    port = web.serve(t)
    accounts = web.accounts(PASSWORD)
end

local function token_for(role)
    return (assert(wm.db.tx(function() return users.token_create(accounts[role].id, "test") end)))
end

local header = web.header

-- A request; opts: token (bearer), cookie, csrf, body. Returns the
-- response and its decoded JSON body (asserting that it is JSON).
local function call(t, method, path, opts)
    opts = opts or {}
    local headers = {}
    if opts.token then
        headers.Authorization = "Bearer " .. opts.token
    end
    if opts.cookie then
        headers.Cookie = "wm_admin=" .. opts.cookie
    end
    if opts.csrf then
        headers["X-CSRF-Token"] = opts.csrf
    end
    local res = assert(wm.http.request { method = method, url = "http://127.0.0.1:" .. port .. path,
                                         headers = headers, body = opts.body, timeout = 30 })
    t.eq(header(res, "content-type"), "application/json", method .. " " .. path)
    t.eq(header(res, "x-content-type-options"), "nosniff", method .. " " .. path)
    local body = wm.json.decode(res.body)
    t.ok(type(body) == "table", "JSON from " .. path .. ": " .. tostring(res.body))
    return res, body
end

local function expect_error(t, res, body, status, code)
    t.eq(res.status, status)
    t.eq(type(body.error), "table")
    t.eq(body.error.code, code)
    t.ok(type(body.error.message) == "string" and body.error.message ~= "")
end

-- A dashboard session of `role`: its cookie's token and CSRF token.
local function login(t, role)
    return web.admin_login(t, port, role, PASSWORD)
end

local function business(name, fields)
    fields = fields or {}
    local n = one("SELECT count(*)::int AS n FROM businesses").n + 1
    return one([[INSERT INTO businesses (gmb_id, slug, name, city, category, rating, email, qualification_score,
            lead_status, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::timestamp, now())) RETURNING id]],
        "g" .. n, "s" .. n, name, fields.city or "Austin", fields.category or "plumber", fields.rating,
        fields.email, fields.score or 0, fields.status or "qualified", fields.created_at).id
end

local function job(status)
    return one([[INSERT INTO jobs (kind, status, attempt, max_attempts, last_error)
        VALUES ('scrape', $1, 3, 3, 'boom') RETURNING id]], status).id
end

function T.bearer_tokens_and_sessions_authenticate_everything_else_is_401(t)
    setup(t)
    local res, body = call(t, "GET", "/api/v1/businesses")
    expect_error(t, res, body, 401, "unauthorized")
    res, body = call(t, "GET", "/api/v1/me", { token = "wmt_not-a-token" })
    expect_error(t, res, body, 401, "unauthorized")

    local tok = token_for("viewer")
    t.eq(one("SELECT last_used_at FROM admin_api_tokens").last_used_at, wm.null)
    res, body = call(t, "GET", "/api/v1/me", { token = tok })
    t.eq(res.status, 200)
    t.eq({ body.data.email, body.data.role, body.data.via }, { "viewer@example.com", "viewer", "token" })
    t.ok(one("SELECT last_used_at FROM admin_api_tokens").last_used_at ~= wm.null, "last_used_at recorded")

    -- The dashboard's session cookie works as well.
    local cookie = login(t, "editor")
    res, body = call(t, "GET", "/api/v1/me", { cookie = cookie })
    t.eq({ res.status, body.data.role, body.data.via }, { 200, "editor", "session" })

    -- Revoked: 401 at once.
    local id = one("SELECT id FROM admin_api_tokens WHERE user_id = $1", accounts.viewer.id).id
    assert(wm.db.tx(function() return users.token_revoke(id, { type = "system" }) end))
    res, body = call(t, "GET", "/api/v1/me", { token = tok })
    expect_error(t, res, body, 401, "unauthorized")

    -- A disabled user's token (and session) open nothing.
    local tok2 = token_for("editor")
    t.eq(call(t, "GET", "/api/v1/me", { token = tok2 }).status, 200)
    assert(wm.db.query("UPDATE admin_users SET is_active = false WHERE id = $1", accounts.editor.id))
    res, body = call(t, "GET", "/api/v1/me", { token = tok2 })
    expect_error(t, res, body, 401, "unauthorized")
    res, body = call(t, "GET", "/api/v1/me", { cookie = cookie })
    expect_error(t, res, body, 401, "unauthorized")
end

function T.roles_decide_and_csrf_binds_only_cookies(t)
    setup(t)
    local viewer, editor = token_for("viewer"), token_for("editor")
    local id = job("discarded")
    local res, body = call(t, "POST", "/api/v1/jobs/" .. id .. "/retry", { token = viewer })
    expect_error(t, res, body, 403, "forbidden")
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id).status, "discarded")
    t.eq(call(t, "GET", "/api/v1/jobs", { token = viewer }).status, 200)

    -- A bearer token needs no CSRF token: no browser sends it by itself.
    res, body = call(t, "POST", "/api/v1/jobs/" .. id .. "/retry", { token = editor })
    t.eq(res.status, 200)
    t.eq({ body.data.id, body.data.status }, { id, "available" })
    local a = one("SELECT actor_type, actor_id, details FROM activity_log WHERE action = 'job.retried'")
    t.eq({ a.actor_type, a.actor_id, a.details.job_id }, { "admin", accounts.editor.id, id })

    -- A cookie does: without the session's token nothing changes.
    local id2 = job("retryable")
    local cookie, csrf = login(t, "editor")
    res, body = call(t, "POST", "/api/v1/jobs/" .. id2 .. "/cancel", { cookie = cookie })
    expect_error(t, res, body, 403, "forbidden")
    local wrong = (csrf:sub(1, 1) == "x" and "y" or "x") .. csrf:sub(2)     -- never the token itself
    res, body = call(t, "POST", "/api/v1/jobs/" .. id2 .. "/cancel", { cookie = cookie, csrf = wrong })
    expect_error(t, res, body, 403, "forbidden")
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id2).status, "retryable")
    res = call(t, "POST", "/api/v1/jobs/" .. id2 .. "/cancel", { cookie = cookie, csrf = csrf })
    t.eq(res.status, 200)
    t.eq(one("SELECT status FROM jobs WHERE id = $1", id2).status, "cancelled")

    -- A job in the wrong state, or none.
    res, body = call(t, "POST", "/api/v1/jobs/" .. id2 .. "/cancel", { token = editor })
    expect_error(t, res, body, 400, "bad_request")
    res, body = call(t, "POST", "/api/v1/jobs/999999/retry", { token = editor })
    expect_error(t, res, body, 404, "not_found")
end

-- Every page of `path` with `limit`, following next_cursor: the ids in order.
local function walk(t, path, tok, limit)
    local ids, cursor, pages = {}, nil, 0
    repeat
        local sep = path:find("?", 1, true) and "&" or "?"
        local url = path .. sep .. "limit=" .. limit .. (cursor and ("&cursor=" .. cursor) or "")
        local res, body = call(t, "GET", url, { token = tok })
        t.eq(res.status, 200, url)
        t.ok(#body.data <= limit)
        for _, r in ipairs(body.data) do
            ids[#ids + 1] = r.id
        end
        cursor = body.next_cursor ~= wm.null and body.next_cursor or nil
        pages = pages + 1
        t.ok(pages < 100, "the walk ends")
    until not cursor
    return ids, pages
end

function T.pagination_walks_every_row_once_across_ties(t)
    setup(t)
    local tok = token_for("viewer")
    -- 23 businesses: one created_at for most (an insert in one
    -- transaction), three ratings, some without rating or email.
    local ratings = { 4.5, 4.5, 3.0, wm.null }
    assert(wm.db.tx(function()
        for i = 1, 23 do
            business(("Shop %02d"):format(i % 7), { rating = ratings[i % 4 + 1], score = (i % 3) * 10,
                email = i % 2 == 0 and ("o" .. i .. "@example.com") or nil,
                created_at = i > 20 and ("2026-01-0" .. (i - 20) .. " 10:00:00") or nil })
        end
    end))
    local cases = {
        { "-created", "coalesce(created_at, '-infinity') DESC, id DESC" },
        { "created", "coalesce(created_at, '-infinity'), id" },
        { "rating", "coalesce(rating, -1), id" },
        { "-rating", "coalesce(rating, -1) DESC, id DESC" },
        { "name", "name, id" },
        { "-score", "coalesce(qualification_score, -1) DESC, id DESC" },
    }
    for _, c in ipairs(cases) do
        local want = {}
        for _, r in ipairs(assert(wm.db.query("SELECT id FROM businesses ORDER BY " .. c[2]))) do
            want[#want + 1] = r.id
        end
        for _, limit in ipairs({ 1, 5, 23, 500 }) do
            local ids, pages = walk(t, "/api/v1/businesses?sort=" .. c[1], tok, limit)
            t.eq(ids, want, c[1] .. " limit " .. limit)
            t.eq(pages, math.max(1, math.ceil(23 / limit)), "pages for " .. c[1] .. " limit " .. limit)
        end
    end
    -- With filters: the same walk over the rows that match.
    local want = {}
    for _, r in ipairs(assert(wm.db.query([[SELECT id FROM businesses WHERE email IS NOT NULL AND rating >= 4
            ORDER BY coalesce(rating, -1) DESC, id DESC]]))) do
        want[#want + 1] = r.id
    end
    t.ok(#want >= 3)
    t.eq(walk(t, "/api/v1/businesses?sort=-rating&has_email=true&min_rating=4", tok, 2), want)
    -- Status, city and industry filters.
    local res, body = call(t, "GET", "/api/v1/businesses?status=qualified&city=austin&industry=PLUMBER&limit=500",
        { token = tok })
    t.eq({ res.status, #body.data }, { 200, 23 })
    res, body = call(t, "GET", "/api/v1/businesses?status=new", { token = tok })
    t.eq({ res.status, #body.data, body.next_cursor }, { 200, 0, wm.null })
    -- Jobs have bigint ids: the same walk.
    for _ = 1, 7 do
        job("completed")
    end
    local jobs_want = {}
    for _, r in ipairs(assert(wm.db.query("SELECT id FROM jobs ORDER BY id DESC"))) do
        jobs_want[#jobs_want + 1] = r.id
    end
    t.eq(walk(t, "/api/v1/jobs", tok, 3), jobs_want)
    t.eq(#walk(t, "/api/v1/jobs?sort=updated&status=completed", tok, 2), 7)
end

function T.bad_cursors_limits_sorts_and_filters_are_400(t)
    setup(t)
    local tok = token_for("viewer")
    for i = 1, 3 do
        business("B" .. i)
    end
    local _, first = call(t, "GET", "/api/v1/businesses?limit=1", { token = tok })
    local good = first.next_cursor
    t.ok(type(good) == "string" and good:match("^[%w_-]+$"), "base64url: " .. tostring(good))
    t.eq(call(t, "GET", "/api/v1/businesses?limit=1&cursor=" .. good, { token = tok }).status, 200)
    local forged = {
        "not-a-cursor!",
        "AAAA",
        wm.crypto.b64url_encode("[1,2]"),
        -- Another sort's cursor.
        wm.crypto.b64url_encode(wm.json.encode { s = "rating", k = "4.5", i = first.data[1].id }),
        -- A key that is not a timestamp, and SQL in the key.
        wm.crypto.b64url_encode(wm.json.encode { s = "-created", k = "yesterday", i = first.data[1].id }),
        wm.crypto.b64url_encode(wm.json.encode { s = "-created", k = "2026-01-01 00:00:00') OR (1=1", i = first.data[1].id }),
        wm.crypto.b64url_encode(wm.json.encode { s = "-created", k = "2026-01-01 00:00:00", i = "1; DROP TABLE jobs" }),
        -- Keys of the right shape that the cast would refuse (a 500 if they reached it).
        wm.crypto.b64url_encode(wm.json.encode { s = "-created", k = "2026-02-30 00:00:00", i = first.data[1].id }),
        wm.crypto.b64url_encode(wm.json.encode { s = "-created", k = "2026-01-01 25:00:00.5", i = first.data[1].id }),
    }
    for _, c in ipairs(forged) do
        local res, body = call(t, "GET", "/api/v1/businesses?cursor=" .. c, { token = tok })
        expect_error(t, res, body, 400, "bad_cursor")
    end
    -- A bigint key too large for the column's type.
    local res, body = call(t, "GET", "/api/v1/businesses?sort=-score&cursor=" .. wm.crypto.b64url_encode(
        wm.json.encode { s = "-score", k = "99999999999999999999", i = first.data[1].id }), { token = tok })
    expect_error(t, res, body, 400, "bad_cursor")
    -- A cursor is bound to its sort.
    res, body = call(t, "GET", "/api/v1/businesses?sort=name&cursor=" .. good, { token = tok })
    expect_error(t, res, body, 400, "bad_cursor")
    for _, q in ipairs({ "limit=0", "limit=501", "limit=ten", "sort=password_hash", "sort=--name", "min_rating=high",
                         "has_email=maybe", "nope=1", "grid_cell=x" }) do
        res, body = call(t, "GET", "/api/v1/businesses?" .. q, { token = tok })
        expect_error(t, res, body, 400, "bad_request")
    end
    t.eq(call(t, "GET", "/api/v1/businesses?limit=500", { token = tok }).status, 200)
    t.eq(one("SELECT count(*)::int AS n FROM jobs").n, 0, "the injected DROP did nothing")
end

function T.unknown_paths_and_methods_answer_json(t)
    setup(t)
    local tok = token_for("viewer")
    local res, body = call(t, "GET", "/api/v1/nothing-here", { token = tok })
    expect_error(t, res, body, 404, "not_found")
    res, body = call(t, "GET", "/api/v1/businesses/123/extra")
    expect_error(t, res, body, 404, "not_found")
    res, body = call(t, "GET", "/api/v1/businesses/00000000-0000-0000-0000-000000000000", { token = tok })
    expect_error(t, res, body, 404, "not_found")
    for _, bad in ipairs({ "not-a-uuid", "aaaaaaaaaaaaaaaaaaaaaaaaaaa-a-a-a-aa" }) do
        res, body = call(t, "GET", "/api/v1/businesses/" .. bad, { token = tok })
        expect_error(t, res, body, 404, "not_found")
    end
    res, body = call(t, "DELETE", "/api/v1/businesses", { token = tok })
    expect_error(t, res, body, 405, "bad_request")
    t.match(header(res, "allow"), "GET")
end

function T.hostile_data_is_valid_json_and_no_secret_leaves(t)
    setup(t)
    local tok = token_for("viewer")
    local name = "<img src=x onerror=alert(1)>"
    local id = business(name, { city = "</script><script>alert(2)</script>", email = "x@example.com" })
    local site = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, claim_token, status)
        VALUES ($1, 'hostile', '<p>secret html</p>', 'claim-secret-123', 'preview') RETURNING id]], id).id
    assert(wm.db.query([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status)
        VALUES ($1, $2, 'Hi & <b>', 'body', 'x@example.com', 'sent')]], id, site))
    assert(wm.db.query([[INSERT INTO llm_calls (agent, provider, model, business_id, ok, cost_micro_usd)
        VALUES ('analyst', 'offline', 'm', $1, true, 1234)]], id))
    local pw_hash = one("SELECT password_hash FROM admin_users WHERE id = $1", accounts.viewer.id).password_hash
    local tok_hash = one("SELECT token_hash FROM admin_api_tokens").token_hash
    for _, path in ipairs({ "/api/v1/businesses", "/api/v1/businesses/" .. id, "/api/v1/sites", "/api/v1/campaigns",
                            "/api/v1/activity", "/api/v1/me" }) do
        local res, body = call(t, "GET", path, { token = tok })
        t.eq(res.status, 200, path)
        t.ok(not res.body:find("<", 1, true) and not res.body:find(">", 1, true), "no raw markup in " .. path)
        for _, secret in ipairs({ "claim-secret-123", "secret html", pw_hash, tok_hash, tok, "password_hash",
                                  "token_hash", "claim_token" }) do
            t.ok(not res.body:find(secret, 1, true), secret .. " stays out of " .. path)
        end
        t.ok(body.data ~= nil)
    end
    local _, body = call(t, "GET", "/api/v1/businesses/" .. id, { token = tok })
    t.eq(body.data.name, name, "decodes to the name as stored")
    t.eq(body.data.sites[1].subdomain, "hostile")
    t.eq(body.data.campaigns[1].subject_line, "Hi & <b>")
    t.eq(body.data.llm_calls[1].cost_micro_usd, 1234)
    t.eq(#body.data.activity, 0)
    local _, list = call(t, "GET", "/api/v1/businesses", { token = tok })
    t.eq(list.data[1].name, name)
    t.eq(list.data[1].has_email, true)
    -- The Leads page shows the same row, escaped.
    local cookie = login(t, "viewer")
    local page = assert(wm.http.request { url = "http://127.0.0.1:" .. port .. "/admin/leads/" .. id,
                                          headers = { Cookie = "wm_admin=" .. cookie }, timeout = 30 })
    t.eq(page.status, 200)
    t.ok(page.body:find("&lt;img src=x onerror=alert(1)&gt;", 1, true))
    t.ok(page.body:find("0.0012", 1, true), "the LLM call's cost on the page")
end

function T.the_other_lists_and_metrics(t)
    setup(t)
    local tok = token_for("viewer")
    local b = business("Metrics Co", { email = "m@example.com" })
    assert(wm.db.query("UPDATE businesses SET website_status = 'generated', contact_status = 'emailed' WHERE id = $1", b))
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
        VALUES ($1, 'mco', 'x', 'live') RETURNING id]], b).id
    local camp = one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, recipient_email, status,
        sent_at) VALUES ($1, $2, 's', 'b', 'm@example.com', 'sent', now()) RETURNING id]], b, s).id
    assert(wm.db.query([[INSERT INTO tracking_events (campaign_id, kind, remote_addr, user_agent)
        VALUES ($1, 'open', '203.0.113.9', 'GoogleImageProxy')]], camp))
    local c = one([[INSERT INTO customers (business_id, site_id, email, status, lifetime_value_cents)
        VALUES ($1, $2, 'm@example.com', 'active', 5000) RETURNING id]], b, s).id
    assert(wm.db.query([[INSERT INTO payments (customer_id, amount_cents, payment_type, status, paid_at)
        VALUES ($1, 5000, 'subscription', 'succeeded', now())]], c))
    assert(wm.db.query([[INSERT INTO subscriptions (customer_id, site_id, amount_cents, status, current_period_start,
        current_period_end) VALUES ($1, $2, 5000, 'active', '2026-11-01 00:00:00', '2026-12-01 00:00:00')]], c, s))
    assert(wm.db.query([[INSERT INTO webhook_events (provider, event_id, event_type, body, status)
        VALUES ('recurrente', 'msg_1', 'payment_intent.succeeded', '{"secret": "body"}', 'applied')]]))
    job("available")
    job("retryable")
    job("discarded")
    local expect = { sites = "mco", campaigns = "sent", customers = "m@example.com", payments = 5000,
                     subscriptions = "active", webhooks = "msg_1" }
    local field = { sites = "subdomain", campaigns = "status", customers = "email", payments = "amount_cents",
                    subscriptions = "status", webhooks = "event_id" }
    for entity, v in pairs(expect) do
        local res, body = call(t, "GET", "/api/v1/" .. entity, { token = tok })
        t.eq(res.status, 200, entity)
        t.eq(#body.data, 1, entity)
        t.eq(body.data[1][field[entity]], v, entity)
        t.eq(body.next_cursor, wm.null)
    end
    local _, detail = call(t, "GET", "/api/v1/businesses/" .. b, { token = tok })
    t.eq(#detail.data.tracking_events, 1)
    t.eq({ detail.data.tracking_events[1].kind, detail.data.tracking_events[1].campaign_id,
           detail.data.tracking_events[1].user_agent }, { "open", camp, "GoogleImageProxy" })
    t.eq(detail.data.tracking_events[1].remote_addr, nil, "the reader's address stays out")
    local _, pays = call(t, "GET", "/api/v1/payments?customer_id=" .. c .. "&status=succeeded&sort=-amount", { token = tok })
    t.eq(#pays.data, 1)
    -- Times are ISO 8601 in UTC, in lists and in one object's nested rows;
    -- the same instant the database holds.
    local paid = one("SELECT to_char(paid_at, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS s FROM payments").s
    t.match(pays.data[1].paid_at, "^" .. paid:gsub("%-", "%%-") .. "[%.%d]*Z$")
    t.match(detail.data.campaigns[1].sent_at, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*Z$")
    t.match(detail.data.created_at, "T.*Z$")
    local _, subs = call(t, "GET", "/api/v1/subscriptions?customer_id=" .. c .. "&status=active&sort=-period_end",
        { token = tok })
    t.eq({ subs.data[1].current_period_start, subs.data[1].current_period_end },
         { "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z" })
    local _, hooks = call(t, "GET", "/api/v1/webhooks?provider=recurrente&status=applied", { token = tok })
    t.eq(hooks.data[1].event_type, "payment_intent.succeeded")
    t.eq(hooks.data[1].body, nil, "no body in the list")
    t.match(hooks.data[1].received_at, "^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z$", "a timestamptz too")
    local _, none_hooks = call(t, "GET", "/api/v1/webhooks?provider=sendgrid", { token = tok })
    t.eq(#none_hooks.data, 0)
    local _, none = call(t, "GET", "/api/v1/sites?status=archived", { token = tok })
    t.eq(#none.data, 0)
    t.eq(wm.json.encode(none.data), "[]", "an empty list is a JSON array")

    local res, m = call(t, "GET", "/api/v1/metrics", { token = tok })
    t.eq(res.status, 200)
    t.eq({ m.data.dashboard.sites_generated, m.data.dashboard.emails_sent, m.data.dashboard.conversions }, { 1, 1, 0 })
    t.eq(m.data.funnel[1].step, "leads")
    t.eq(m.data.funnel[1].count, 1)
    t.eq(m.data.funnel[1].rate, wm.null)
    local by = {}
    for _, f in ipairs(m.data.funnel) do
        by[f.step] = f
    end
    t.eq({ by.sites.count, by.emailed.count, by.emailed.rate, by.purchased.count }, { 1, 1, 1, 0 })
    t.eq(m.data.queue.depth, 2, "waiting + retryable")
    t.eq(m.data.queue.by_kind[1].kind, "scrape")
    t.eq(m.data.queue.by_kind[1].discarded, 1)

    -- Activity: filterable by entity.
    assert(wm.db.query([[INSERT INTO activity_log (action, entity_type, entity_id, actor_type)
        VALUES ('business.touched', 'business', $1, 'system'), ('other', 'site', $2, 'system')]], b, s))
    local _, act = call(t, "GET", "/api/v1/activity?entity_id=" .. b, { token = tok })
    t.eq(#act.data, 1)
    t.eq(act.data[1].action, "business.touched")
end

function T.grid_tickets_and_prompts_lists(t)
    setup(t)
    local tok = token_for("viewer")
    assert(wm.db.query([[INSERT INTO coverage_grid (state, city, industry, status, priority, population) VALUES
        ('TX', 'Austin', 'plumber', 'pending', 5, 960000), ('TX', 'Waco', 'plumber', 'paused', 9, 140000),
        ('OH', 'Columbus', 'roofer', 'pending', 1, 900000)]]))
    local _, grid = call(t, "GET", "/api/v1/grid?state=TX", { token = tok })
    t.eq({ #grid.data, grid.data[1].city, grid.data[2].city }, { 2, "Waco", "Austin" }, "highest priority first")
    local _, by_pop = call(t, "GET", "/api/v1/grid?sort=-population&limit=1", { token = tok })
    t.eq(by_pop.data[1].city, "Austin")
    t.ok(by_pop.next_cursor ~= wm.null, "a next page")
    local _, paused = call(t, "GET", "/api/v1/grid?status=paused&city=waco", { token = tok })
    t.eq(#paused.data, 1)

    local b = business("Ticket Co", { email = "t@example.com" })
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
        VALUES ($1, 'tco', 'x', 'live') RETURNING id]], b).id
    local c = one("INSERT INTO customers (business_id, site_id, email) VALUES ($1, $2, 't@example.com') RETURNING id",
        b, s).id
    assert(wm.db.query([[INSERT INTO support_tickets (customer_id, site_id, request_text, status) VALUES
        ($1, $2, 'Make it <b>blue</b>', 'open'), ($1, $2, 'New phone', 'completed')]], c, s))
    local res, tickets = call(t, "GET", "/api/v1/tickets?status=open&site_id=" .. s, { token = tok })
    t.eq(res.status, 200)
    t.eq(#tickets.data, 1)
    t.eq(tickets.data[1].request_text, "Make it <b>blue</b>", "the words as written, in a JSON string")
    t.no_match(res.body, "<b>", "never raw markup in the answer")
    t.eq(tickets.data[1].customer_id, c)
    t.match(tickets.data[1].created_at, "Z$")
    local bad, why = call(t, "GET", "/api/v1/tickets?site_id=nope", { token = tok })
    expect_error(t, bad, why, 400, "bad_request")

    assert(require("lib.prompts").sync())
    local _, active = call(t, "GET", "/api/v1/prompts?agent=architect&active=true&limit=500", { token = tok })
    t.ok(#active.data > 0, "the architect's sections")
    for _, p in ipairs(active.data) do
        t.eq({ p.agent_name, p.is_active }, { "architect", true })
        t.eq(type(p.content), "string")
    end
    local _, inactive = call(t, "GET", "/api/v1/prompts?active=false", { token = tok })
    t.eq(#inactive.data, 0, "a fresh sync has no retired versions")
end

function T.each_user_is_rate_limited(t)
    -- One request in 50 s: however slow this machine, the bucket does not
    -- refill between the requests below.
    setup(t, { api_rate = 0.02 })
    local tok = token_for("viewer")
    t.eq(call(t, "GET", "/api/v1/me", { token = tok }).status, 200)
    for _ = 1, 2 do
        local res, body = call(t, "GET", "/api/v1/businesses", { token = tok })
        expect_error(t, res, body, 429, "rate_limited")
        local wait = tonumber(header(res, "retry-after"))
        t.ok(wait and wait >= 1 and wait <= 50, "Retry-After " .. tostring(wait))
    end
    -- Another user has a bucket of their own.
    t.eq(call(t, "GET", "/api/v1/me", { token = token_for("editor") }).status, 200)
end

return T
