-- The whole loop on embedded defaults (simulated leads, offline LLM, the
-- outbox), stage by stage and end to end: a grid cell ends with N emails in
-- the outbox and N sites served by Host; a rerun emails nobody twice and
-- regenerates nothing; hostile business text is escaped in the site and
-- the email; a business with a website never gets a site; a bad agent
-- answer is retried, then surfaced, never published; tracking and
-- unsubscribe work and are honoured.
local T = {}

local tracking = require "lib.tracking"


local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

-- A fresh schema, a private var/ (outbox, tracking key), one grid cell.
local function setup(t, city)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    require("lib.prompts").invalidate()      -- the schema it cached is gone
    assert(require("lib.prompts").sync())    -- as `wm serve` does at boot
    wm.config.paths.var = t.tmpdir()
    tracking.reset_key()
    wm.config.autopilot.enabled = false
    wm.config.jobs.backoff_base = 0.05
    wm.config.llm.simulate = ""
    wm.config.mail.daily_cap = 200
    return one([[INSERT INTO coverage_grid (state, city, industry, industry_category, population)
        VALUES ('TX', $1, 'plumber', 'Services', 960000) RETURNING *]], city or "Austin")
end

local function live()
    return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running')
        OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '5 seconds')]])
end

-- Runs the worker until no job is left to do.
local function run_loop(t, cells)
    for _, cell in ipairs(cells or {}) do
        assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }))
    end
    assert(wm.jobs.start_worker { cron = false })
    t.wait_for("the loop to finish", function() return live() == 0 end, 120)
    wm.jobs.stop_worker(5)
end

local function outbox_files()
    local files = wm.fs.list_dir(wm.config.paths.var .. "/outbox") or {}
    local out = {}
    for _, f in ipairs(files) do
        if f:match("%.eml$") then
            out[#out + 1] = wm.config.paths.var .. "/outbox/" .. f
        end
    end
    return out
end

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

-- An in-process HTTP server on a free port for the site and tracking routes.
local function serve(t)
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    t.defer(function() http_server.stop(0) end)
    local _, port = srv:address()
    return "http://127.0.0.1:" .. port
end

local function get(url, host, opts)
    opts = opts or {}
    local headers = opts.headers or {}
    headers.Host = host
    return wm.http.request { method = opts.method or "GET", url = url, headers = headers, body = opts.body,
                             timeout = 10 }
end

function T.stages_one_by_one(t)
    local cell = setup(t)
    assert(require("stages.scrape").run({ id = 1, payload = { grid_id = cell.id } }))
    local ingest_job = one("SELECT * FROM jobs WHERE kind = 'ingest'")
    t.eq(#ingest_job.payload.places, 20, "the raw places travel to ingest")
    assert(require("stages.ingest").run({ id = 2, payload = ingest_job.payload }))
    t.eq(count("SELECT count(*)::int AS n FROM businesses WHERE coverage_grid_id = $1 AND raw_place IS NOT NULL",
               cell.id), 20, "linked to the grid cell at ingest, raw lead kept")
    local g = one("SELECT * FROM coverage_grid WHERE id = $1", cell.id)
    t.eq(g.status, "completed")
    t.eq(g.lead_count, 20)
    t.ok(g.last_scraped_at ~= wm.null)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'verify_website'"), 20)
    -- Ingest twice: upsert on gmb_id, nothing duplicated, nothing re-verified.
    assert(require("stages.ingest").run({ id = 3, payload = ingest_job.payload }))
    t.eq(count("SELECT count(*)::int AS n FROM businesses"), 20)

    local verify = require "stages.verify_website"
    for _, b in ipairs(assert(wm.db.query("SELECT id FROM businesses"))) do
        assert(verify.run({ attempt = 1, max_attempts = 3, payload = { business_id = b.id } }))
    end
    local has = one("SELECT * FROM businesses WHERE lead_status = 'has_website' LIMIT 1")
    t.ok(has.website_evidence ~= wm.null and has.website_evidence.checker == "simulated", "evidence stored")
    local none = one("SELECT * FROM businesses WHERE lead_status = 'no_website' LIMIT 1")
    t.ok(none.website_evidence ~= wm.null, "absence is proved with evidence")
    t.eq(count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'qualify' AND payload->>'business_id' IN
        (SELECT id::text FROM businesses WHERE lead_status = 'has_website')]]), 0,
        "a business with a website is never sent to qualify")

    local qualify = require "stages.qualify"
    for _, b in ipairs(assert(wm.db.query("SELECT id FROM businesses WHERE lead_status = 'no_website'"))) do
        assert(qualify.run({ payload = { business_id = b.id } }))
    end
    local q = one("SELECT * FROM businesses WHERE lead_status = 'qualified' LIMIT 1")
    t.ok(q.qualification_score > 0 and q.qualification_score <= 100)
    t.ok(#q.qualification_reasons > 0, "reasons stored")
    t.eq(q.website_status, "generating", "picked by the qualified-leads query")
    t.ok(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'analyst'") > 0)
end

function T.whole_loop_one_cell_emails_and_serves(t)
    local cell = setup(t)
    run_loop(t, { cell })
    local sent = count("SELECT count(*)::int AS n FROM campaigns WHERE status = 'sent'")
    local sites = assert(wm.db.query([[SELECT s.subdomain, s.status, s.version, b.name, b.website_status
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id]]))
    t.ok(sent > 0, "some emails were sent")
    t.eq(#sites, sent, "one email per site")
    t.eq(#outbox_files(), sent, "every sent email is in the outbox")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE status = 'discarded'"), 0, "no job failed")
    local g = one("SELECT * FROM coverage_grid WHERE id = $1", cell.id)
    t.eq(g.site_count, #sites)
    t.eq(g.lead_count, 20)
    t.ok(g.qualified_count >= #sites)
    t.ok(count("SELECT count(*)::int AS n FROM llm_calls WHERE cost_micro_usd > 0") > 0, "costs recorded")
    -- The daily snapshot, for today, from the tables.
    local today = one("SELECT (now() AT TIME ZONE 'UTC')::date::text AS d").d
    assert(require("stages.analytics_snapshot").run({ payload = { date = today } }))
    local snap = one("SELECT * FROM analytics_snapshots WHERE snapshot_date = $1::date", today)
    t.eq(snap.leads_scraped, 20)
    t.eq(snap.sites_generated, #sites)
    t.eq(snap.emails_sent, sent)
    local micro = one("SELECT sum(cost_micro_usd)::float8 AS m FROM llm_calls").m
    t.eq(snap.api_costs_cents, math.floor(micro / 10000 + 0.5), "LLM cost summed into api_costs_cents")

    local base = serve(t)
    for _, s in ipairs(sites) do
        t.eq(s.status, "preview")
        t.eq(s.version, 1)
        t.eq(s.website_status, "generated")
        local res = assert(get(base .. "/", s.subdomain .. ".localhost"))
        t.eq(res.status, 200, s.subdomain)
        t.match(res.headers["content-security-policy"], "default%-src 'none'")
        t.ok(#res.body <= 30 * 1024, "at most 30 KB")
        t.match(res.body, "application/ld%+json")
        t.match(res.body, "[Cc]laim this site")
        -- (The favicon's SVG names its XML namespace, a name, not a load.)
        local body = res.body:gsub("http://www%.w3%.org/2000/svg", "")
        t.ok(not body:find("https?://[%w.-]+%.[a-z][a-z]+/"), "nothing loaded from elsewhere")
    end
    local missing = assert(get(base .. "/", "no-such-site.localhost"))
    t.eq(missing.status, 404)
    -- Every email carries the tracking pieces and the postal address.
    local eml = read(outbox_files()[1])
    t.match(eml, "List%-Unsubscribe: <http")
    t.match(eml, "List%-Unsubscribe%-Post: List%-Unsubscribe=One%-Click")
    t.ok(eml:find("/t/c/", 1, true) and eml:find("/t/o/", 1, true) and eml:find("/u/", 1, true))
end

function T.rerun_emails_nobody_twice_and_regenerates_nothing(t)
    local cell = setup(t)
    run_loop(t, { cell })
    local before = one([[SELECT (SELECT count(*) FROM generated_sites)::int AS sites,
        (SELECT count(*) FROM campaigns)::int AS campaigns, (SELECT count(*) FROM llm_calls)::int AS calls,
        (SELECT count(*) FROM businesses)::int AS leads]])
    local files = #outbox_files()
    -- The same cell again, and every stage of every business by hand.
    assert(wm.db.query("UPDATE coverage_grid SET status = 'pending' WHERE id = $1", cell.id))
    for _, b in ipairs(assert(wm.db.query("SELECT id FROM businesses"))) do
        for _, kind in ipairs({ "verify_website", "qualify", "analyst", "architect", "compose" }) do
            assert(wm.jobs.enqueue(kind, { business_id = b.id }))
        end
    end
    for _, c in ipairs(assert(wm.db.query("SELECT id, business_id FROM campaigns"))) do
        assert(wm.jobs.enqueue("send", { business_id = c.business_id, campaign_id = c.id }))
    end
    run_loop(t, { cell })
    local after = one([[SELECT (SELECT count(*) FROM generated_sites)::int AS sites,
        (SELECT count(*) FROM campaigns)::int AS campaigns, (SELECT count(*) FROM llm_calls)::int AS calls,
        (SELECT count(*) FROM businesses)::int AS leads]])
    t.eq(after, before, "nothing regenerated, no model called again")
    t.eq(#outbox_files(), files, "nobody emailed twice")
    -- Agents enqueued by hand for leads that are not qualified were refused.
    t.ok(count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'analyst' AND status = 'discarded'
        AND last_error LIKE '%not qualified%']]) > 0)
end

-- A lead whose name and reviews are hostile, driven through every stage.
local function hostile_place(cell)
    local source = require "providers.leads.simulated"
    local places = assert(source.search { city = cell.city, state = cell.state, industry = cell.industry,
                                          limit = 20, seed = 1 })
    local p = places[1]
    p.name = "<script>alert(1)</script> \"Joe's\" </title><img src=x onerror=alert(2)> \u{202E}Plumbing 🔧"
    p.google_id = "0xhostile:0x1"
    p.place_id = "ChIJhostile"
    p.site = nil
    p._simulated_hidden_site = nil
    p.booking_appointment_link = nil
    p.order_links = nil
    p.email_1 = "owner@joes-plumbing.example"
    p.rating = 4.8
    p.reviews = 120
    p.business_status = "OPERATIONAL"
    return p
end

function T.hostile_text_is_escaped_in_site_and_email(t)
    local cell = setup(t, "Waco")
    local p = hostile_place(cell)
    assert(require("stages.ingest").upsert({ p }, cell))
    local b = one("SELECT id FROM businesses WHERE gmb_id = '0xhostile:0x1'")
    assert(wm.jobs.enqueue("verify_website", { business_id = b.id }))
    run_loop(t)
    local site = one("SELECT s.html_content, s.subdomain FROM generated_sites s WHERE s.business_id = $1", b.id)
    local html = site.html_content
    local _, scripts = html:gsub("<script", "")
    t.eq(scripts, 1, "one script element: the JSON-LD")
    t.match(html, '<script type="application/ld%+json">')
    t.ok(not html:find("<img src=x", 1, true), "no injected element")
    for tag in html:gmatch("<%a[^>]*>") do
        local names = tag:gsub('"[^"]*"', '""'):gsub("'[^']*'", "''")
        t.ok(not names:lower():find("%son%a+%s*="), "no event handler attribute in " .. tag:sub(1, 80))
    end
    t.match(html, "&lt;script&gt;alert%(1%)&lt;/script&gt;", "the name is shown, escaped")
    t.ok(not html:find("\u{202E}", 1, true), "no bidi override")
    t.ok(not html:find("</title><img", 1, true))
    local ld = html:match('<script type="application/ld%+json">(.-)</script>')
    t.ok(ld and wm.json.decode(ld), "JSON-LD still parses")
    t.ok(not ld:find("</", 1, true), "JSON-LD cannot close its element")
    local eml
    for _, f in ipairs(outbox_files()) do
        local s = read(f)
        if s:find("owner@joes-plumbing.example", 1, true) then
            eml = s
        end
    end
    t.ok(eml, "the hostile business was emailed")
    -- The HTML part, quoted-printable decoded.
    local part = eml:match("Content%-Type: text/html.-\r\n\r\n(.-)\r\n%-%-")
    t.ok(part, "an HTML part")
    local body = part:gsub("=\r\n", ""):gsub("=(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    t.ok(not body:find("<script", 1, true), "no script element in the HTML part")
    t.ok(not body:find("<img src=x", 1, true), "no injected element in the HTML part")
    t.match(body, "&lt;script&gt;alert%(1%)", "the name is shown, escaped")
    t.match(eml, "\r\nSubject: ", "subject header present")
    local headers = eml:match("^(.-)\r\n\r\n")
    t.ok(not headers:find("[^\r]\n"), "no bare LF in headers (no header injection)")
end

function T.business_with_a_website_never_gets_a_site(t)
    local cell = setup(t)
    run_loop(t, { cell })
    local with = count("SELECT count(*)::int AS n FROM businesses WHERE lead_status = 'has_website'")
    t.ok(with > 0, "the simulated source has businesses with websites")
    local hidden = count([[SELECT count(*)::int AS n FROM businesses WHERE lead_status = 'has_website'
        AND coalesce(raw_place->>'site', '') = '']])
    t.ok(hidden > 0, "some were found only by the website check")
    t.eq(count([[SELECT count(*)::int AS n FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        WHERE b.lead_status <> 'qualified']]), 0, "only qualified leads have sites")
    t.eq(count([[SELECT count(*)::int AS n FROM businesses WHERE lead_status = 'has_website'
        AND (qualified_at IS NOT NULL OR website_status <> 'none')]]), 0)
end

function T.bad_agent_answer_is_retried_then_surfaced_never_published(t)
    local cell = setup(t)
    assert(require("stages.scrape").run({ id = 1, payload = { grid_id = cell.id } }))
    local ingest_job = one("SELECT * FROM jobs WHERE kind = 'ingest'")
    assert(wm.db.query("DELETE FROM jobs"))
    assert(require("stages.ingest").run({ id = 2, payload = ingest_job.payload }))
    wm.config.llm.simulate = "analyst:truncated"
    run_loop(t)
    local failed = assert(wm.db.query("SELECT * FROM jobs WHERE kind = 'analyst' AND status = 'discarded'"))
    t.ok(#failed > 0, "the analyst jobs were discarded after their attempts")
    local j = failed[1]
    t.eq(j.attempt, j.max_attempts, "retried to the end")
    t.eq(#j.errors, j.max_attempts, "every failed attempt kept")
    t.match(j.errors[1].error, "truncated")
    local bid = j.payload.business_id
    t.eq(count("SELECT count(*)::int AS n FROM generated_sites WHERE business_id = $1", bid), 0, "nothing published")
    t.eq(count("SELECT count(*)::int AS n FROM campaigns WHERE business_id = $1", bid), 0, "nobody emailed")
    local calls = assert(wm.db.query("SELECT ok, raw_response, stop_reason FROM llm_calls WHERE business_id = $1", bid))
    t.eq(#calls, j.max_attempts)
    for _, c in ipairs(calls) do
        t.eq(c.ok, false)
        t.eq(c.stop_reason, "max_tokens")
        t.ok(c.raw_response ~= wm.null and #c.raw_response > 0, "the raw answer is kept")
    end
    t.ok(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'agent.failed' AND entity_id = $1", bid) > 0)
    t.eq(count("SELECT count(*)::int AS n FROM agent_outputs WHERE agent = 'analyst'"), 0, "no fallback output")
end

function T.tracking_and_unsubscribe(t)
    local cell = setup(t)
    run_loop(t, { cell })
    local c = one([[SELECT c.*, s.subdomain FROM campaigns c JOIN generated_sites s ON s.id = c.site_id
        WHERE c.status = 'sent' LIMIT 1]])
    local base = serve(t)
    local host = "127.0.0.1"

    local res = assert(get(base .. "/t/o/" .. tracking.open_token(c.id) .. ".gif", host))
    t.eq(res.status, 200)
    t.eq(res.headers["content-type"], "image/gif")
    t.eq(#res.body, 43)
    local row = one("SELECT * FROM campaigns WHERE id = $1", c.id)
    t.eq(row.opened_count, 1)
    t.ok(row.opened_at ~= wm.null)
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", c.business_id).contact_status, "opened")

    local site_url = (wm.config.sites.site_url_pattern):format(c.subdomain)
    local token = tracking.click_token(c.id, site_url)
    res = assert(get(base .. "/t/c/" .. token, host))
    t.eq(res.status, 302)
    t.eq(res.headers.location, site_url)
    t.eq(one("SELECT clicked_count FROM campaigns WHERE id = $1", c.id).clicked_count, 1)
    -- A tampered token (another URL, same signature) is a 400, never a redirect.
    local forged = tracking.click_token(c.id, "https://evil.example/")
    local mixed = token:sub(1, 22) .. forged:sub(23)
    res = assert(get(base .. "/t/c/" .. mixed, host))
    t.eq(res.status, 400)
    t.eq(res.headers.location, nil)
    res = assert(get(base .. "/t/c/not-a-token", host))
    t.eq(res.status, 400)

    local u = tracking.unsubscribe_token(c.id)
    res = assert(get(base .. "/u/" .. u, host))
    t.eq(res.status, 200)
    t.match(res.body, "<form method=\"post\"")
    t.eq(count("SELECT count(*)::int AS n FROM suppression_list"), 0, "a GET does not unsubscribe")
    res = assert(get(base .. "/u/" .. u, host, { method = "POST", body = "List-Unsubscribe=One-Click",
        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } }))
    t.eq(res.status, 200)
    t.eq(res.headers.location, nil, "never a redirect")
    t.eq(count("SELECT count(*)::int AS n FROM suppression_list WHERE email = lower($1)", c.recipient_email), 1)
    t.eq(one("SELECT contact_status FROM businesses WHERE id = $1", c.business_id).contact_status, "unsubscribed")
    -- Delivered five times, one effect.
    for _ = 1, 4 do
        assert(get(base .. "/u/" .. u, host, { method = "POST", body = "List-Unsubscribe=One-Click" }))
    end
    t.eq(count("SELECT count(*)::int AS n FROM suppression_list"), 1)
end

function T.suppression_list_and_daily_cap_are_honoured(t)
    local cell = setup(t)
    -- Stop every email at the send stage: compose campaigns but cap at 0.
    wm.config.mail.daily_cap = 0
    run_loop(t, { cell })
    t.eq(#outbox_files(), 0, "the cap held")
    local waiting = assert(wm.db.query("SELECT * FROM jobs WHERE kind = 'send' AND status = 'scheduled'"))
    t.ok(#waiting > 0, "capped sends wait for tomorrow")
    t.ok(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'send' AND status = 'scheduled' AND run_at < now() + interval '50 seconds'") == 0)
    -- Suppress one recipient, lift the cap, send again.
    local c = one("SELECT * FROM campaigns WHERE status = 'pending' LIMIT 1")
    assert(wm.db.query("INSERT INTO suppression_list (email, reason) VALUES (lower($1), 'bounced')", c.recipient_email))
    wm.config.mail.daily_cap = 2
    assert(wm.db.query("UPDATE jobs SET run_at = now() WHERE kind = 'send' AND status = 'scheduled'"))
    run_loop(t)
    t.eq(one("SELECT status FROM campaigns WHERE id = $1", c.id).status, "failed")
    t.match(one("SELECT error_message FROM campaigns WHERE id = $1", c.id).error_message, "suppressed")
    t.eq(#outbox_files(), 2, "exactly the cap was sent")
end

return T
