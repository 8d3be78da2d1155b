-- The screenshot stage and the quality gate before outreach: a draft is
-- photographed in the real Chromium (PNG sizes read from the files, URLs in
-- the seed's columns, load time, served with cache headers); a missing
-- browser is said once and the site waits, never emailed; a browser that
-- hangs loses its whole process group; the gate's failures go back to the
-- architect and the site is held after quality.max_attempts builds; the
-- seed's outreach query selects exactly the photographed previews.
local T = {}

local stage = require "stages.screenshot"
local sites = require "domain.sites"
local CORE = require "wm.core.jobs"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function count(sql, ...)
    return one(sql, ...).n
end

-- A page that passes every check: lang, a title, one h1, nothing loaded.
local GOOD = [[<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Good Plumbing</title>
<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0;font:18px/1.5 sans-serif;background:#1d4ed8;color:#fff}h1{margin:40px}</style></head>
<body><main><h1>Good Plumbing</h1><p>Fast, fair, friendly.</p></main></body></html>]]

local port

local function setup(t)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    require("lib.prompts").invalidate()
    assert(require("lib.prompts").sync())
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    t.defer(function() http_server.stop(0) end)
    port = select(2, srv:address())
    t.config("paths", { var = t.tmpdir() })
    t.config("sites", { base_url = "http://127.0.0.1:" .. port,
                        site_url_pattern = "http://%s.localhost:" .. port .. "/" })
    t.config("screenshots", { driver = "scripts/browser/screenshot.js", chromium = "/usr/bin/chromium",
                              timeout = 90, wait = 300 })
    t.config("quality", { max_bytes = 30720, max_attempts = 3 })
    t.config("lighthouse", { enabled = false })
    t.config("autopilot", { enabled = false })
    t.config("jobs", { backoff_base = 0.05 })
end

local n = 0
-- A business and its draft site with `html` stored (no agent outputs: the
-- stage photographs the stored page).
local function draft(html, status)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'generated') RETURNING id]], "gmb-shot-" .. n, "Shop " .. n,
        "owner" .. n .. "@example.com")
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, $3, $4, $5) RETURNING id]], b.id, "shop-shot-" .. n, html, status or "draft", "claim" .. n)
    return s.id, b.id
end

-- The site's row in domain.sites.held (the held list, with when it was
-- held), or nil when it is not held.
local function in_held_list(site_id)
    for _, r in ipairs(assert(sites.held(1000))) do
        if r.id == site_id then
            return r
        end
    end
end

local function shoot(business_id)
    return stage.run({ id = 1, attempt = 1, payload = { business_id = business_id } })
end

local function need_chromium(t)
    if not wm.fs.stat("/usr/bin/chromium") then
        t.skip("Debian's chromium is not installed (sh .ci/setup.sh installs it)")
    end
end

-- Width and height from a PNG's IHDR chunk.
local function png_size(data)
    local function u32(i)
        local a, b, c, d = data:byte(i, i + 3)
        return ((a * 256 + b) * 256 + c) * 256 + d
    end
    assert(data:sub(1, 8) == "\137PNG\r\n\26\n" and data:sub(13, 16) == "IHDR", "not a PNG")
    return u32(17), u32(21)
end

local function file_of(url)
    local rel = assert(url:match("^http://127%.0%.0%.1:%d+/screenshots/(.+)$"), url)
    return wm.config.paths.var .. "/screenshots/" .. rel
end

function T.photographs_a_draft_in_chromium_and_passes_it(t)
    need_chromium(t)
    setup(t)
    local site_id, biz = draft(GOOD)
    local o = shoot(biz)
    t.eq(o.outcome, CORE.COMPLETED, tostring(o))
    local s = one("SELECT * FROM generated_sites WHERE id = $1", site_id)
    t.eq(s.status, "preview", "passed the gate")
    t.eq(#s.quality_failures, 0)
    t.eq(s.quality_attempts, 1)
    t.ok(type(s.load_time_ms) == "number" and s.load_time_ms > 0, "load time from navigation timing")
    for col, size in pairs({ screenshot_desktop_url = { 1280, 800 }, screenshot_mobile_url = { 390, 844 },
                             screenshot_thumb_url = { 320, 200 } }) do
        local url = s[col]
        t.match(url, "^http://127%.0%.0%.1:" .. port .. "/screenshots/" .. site_id:gsub("%-", "%%-")
                     .. "/%x+%-%a+%.png$", col)
        local w, h = png_size(assert(wm.fs.read_file(file_of(url))))
        t.eq({ w, h }, size, col .. " dimensions")
    end
    -- The desktop picture shows the page (its blue background), not a blank.
    t.ok(#assert(wm.fs.read_file(file_of(s.screenshot_desktop_url))) > 1000)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'compose' AND payload->>'business_id' = $1",
               biz), 1, "compose is next")
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.passed_gate' AND entity_id = $1",
               site_id), 1)

    -- Served at its URL: long-cached, its ETag answering 304.
    local res = assert(wm.http.request { url = s.screenshot_desktop_url })
    t.eq(res.status, 200)
    t.eq(res.headers["content-type"], "image/png")
    t.match(res.headers["cache-control"], "max%-age=31536000")
    t.match(res.headers["cache-control"], "immutable")
    t.eq(res.body, wm.fs.read_file(file_of(s.screenshot_desktop_url)))
    local again = assert(wm.http.request { url = s.screenshot_desktop_url,
                                           headers = { ["If-None-Match"] = res.headers.etag } })
    t.eq(again.status, 304)
    local bad = assert(wm.http.request { url = "http://127.0.0.1:" .. port .. "/screenshots/" .. site_id
                                               .. "/..%2f..%2fpg.png" })
    t.eq(bad.status, 404)

    -- A rerun takes no second picture and enqueues compose (once) again.
    local before = s.screenshot_desktop_url
    t.eq(shoot(biz).outcome, CORE.COMPLETED)
    t.eq(one("SELECT screenshot_desktop_url FROM generated_sites WHERE id = $1", site_id).screenshot_desktop_url,
         before)
end

function T.real_browser_failures_hold_the_site_with_its_reasons(t)
    need_chromium(t)
    setup(t)
    t.config("quality", { max_attempts = 1 })
    -- Two h1, a picture from elsewhere, an inline script (CSP blocks it: a
    -- console error), no lang.
    local site_id, biz = draft([[<!DOCTYPE html><html><head><meta charset="utf-8"><title>Bad</title>
        <link rel="icon" href="data:,"></head><body><h1>One</h1><h1>Two</h1>
        <img src="https://example.com/logo.png" alt=""><script>console.error("boom")</script></body></html>]])
    t.eq(shoot(biz).outcome, CORE.COMPLETED)
    local s = one("SELECT * FROM generated_sites WHERE id = $1", site_id)
    t.eq(s.status, "held")
    t.ok(assert(in_held_list(site_id), "listed as held").held_at ~= wm.null, "held since its judgement")
    t.eq(in_held_list(site_id).held_at, s.quality_checked_at)
    t.ok(s.screenshot_desktop_url ~= wm.null, "photographed all the same, for the review")
    local why = table.concat(s.quality_failures, "\n")
    t.match(why, "https://example%.com/logo%.png", "the request leaving the origin")
    t.match(why, "console error")
    t.match(why, "2 h1 elements")
    t.match(why, "no lang")
    t.eq(sites.ready_for_outreach(biz), nil, "never emailed")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind IN ('compose', 'architect')"), 0)
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.held' AND entity_id = $1",
               site_id), 1)
    local listed = assert(sites.held(10))
    t.eq(#listed, 1)
    t.eq(listed[1].id, site_id, "in wm sites held")
end

function T.missing_chromium_is_said_once_and_the_site_waits(t)
    setup(t)
    local warnings = {}
    local warn = wm.log.warn
    wm.log.warn = function(msg, fields)
        warnings[#warnings + 1] = msg
        return warn(msg, fields)
    end
    t.defer(function() wm.log.warn = warn end)
    local site_id, biz = draft(GOOD)
    for _, chromium in ipairs({ "/nonexistent/chromium", "/nonexistent/chromium", "chromium-not-on-path" }) do
        t.config("screenshots", { chromium = chromium })
        local o = shoot(biz)
        t.eq(o.outcome, CORE.SNOOZE, tostring(o))
        t.eq(o.delay, 300, "waits screenshots.wait, no attempt spent")
    end
    local said = {}
    for _, w in ipairs(warnings) do
        if w:find("Chromium not found", 1, true) then
            said[#said + 1] = w
        end
    end
    t.eq(#said, 2, "once per reason: " .. table.concat(said, " | "))
    t.match(said[1], "/nonexistent/chromium")
    t.match(said[1], "not emailed")
    t.match(said[2], "chromium%-not%-on%-path")
    t.config("screenshots", { chromium = "/usr/bin/chromium", node = "/nonexistent/node" })
    t.match(stage.missing() or "", "node not found")
    local s = one("SELECT status, screenshot_desktop_url FROM generated_sites WHERE id = $1", site_id)
    t.eq(s.status, "draft")
    t.eq(s.screenshot_desktop_url, wm.null)
    t.eq(sites.ready_for_outreach(biz), nil)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'compose'"), 0, "never emailed")
end

function T.timeout_kills_the_browsers_whole_process_group(t)
    setup(t)
    local dir = t.tmpdir()
    -- A "browser" that starts a child and both sleep, never answering.
    local fake = dir .. "/chromium"
    assert(wm.fs.write_file(fake, "#!/bin/sh\necho $$ >> " .. dir .. "/pids\nsleep 60 &\necho $! >> "
        .. dir .. "/pids\nwait\n", { mode = tonumber("755", 8) }))
    t.config("screenshots", { chromium = fake, timeout = 2 })
    local site_id, biz = draft(GOOD)
    local t0 = wm.monotonic()
    local o = shoot(biz)
    local elapsed = wm.monotonic() - t0
    t.eq(o.outcome, CORE.RETRY, tostring(o))
    t.match(o.error, "process group was killed")
    t.ok(elapsed < 15, "gave up after " .. elapsed .. " s")
    local pids = {}
    for pid in (assert(wm.fs.read_file(dir .. "/pids"))):gmatch("%d+") do
        pids[#pids + 1] = pid
    end
    t.eq(#pids, 2, "the fake browser and its child started")
    t.wait_for("the browser and its child to be gone", function()
        for _, pid in ipairs(pids) do
            local st = wm.fs.read_file("/proc/" .. pid .. "/stat")
            -- Gone, or a zombie waiting for a parent that is gone too.
            if st and not st:match("^%d+ %b() Z") then
                return false
            end
        end
        return true
    end, 5)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", site_id).status, "draft")
end

-- The whole loop up to the gate, with the fast driver, and a gate nothing
-- passes (10-byte pages): each site goes back to the architect with the
-- failures, twice, then is held; nobody is emailed.
function T.gate_failures_feed_back_to_the_architect_then_hold(t)
    setup(t)
    t.config("screenshots", { driver = wm.root .. "/tests/fakes/screenshot_driver.js" })
    t.config("quality", { max_bytes = 10, max_attempts = 3 })
    t.config("leads", { per_cell = 8 })
    t.config("llm", { simulate = "" })
    local cell = one([[INSERT INTO coverage_grid (state, city, industry, industry_category, population)
        VALUES ('TX', 'Austin', 'plumber', 'Services', 960000) RETURNING id]])
    assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }))
    assert(wm.jobs.start_worker { cron = false })
    t.wait_for("the loop to finish", function()
        return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running')
            OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '5 seconds')]]) == 0
    end, 120)
    wm.jobs.stop_worker(5)
    local rows = assert(wm.db.query("SELECT * FROM generated_sites"))
    t.ok(#rows > 0, "sites were built")
    for _, s in ipairs(rows) do
        t.eq(s.status, "held", s.subdomain)
        t.eq(s.quality_attempts, 3)
        t.match(s.quality_failures[1], "over the 10%-byte limit")
        t.eq(count([[SELECT count(*)::int AS n FROM activity_log WHERE entity_id = $1
            AND action = 'site.gate_failed']], s.id), 2)
        t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE entity_id = $1 AND action = 'site.rebuilt'",
                   s.id), 2, "the architect wrote it again twice")
        -- The rebuilds were asked with the failures: their prompts differ
        -- from the first build's.
        t.eq(count([[SELECT count(DISTINCT prompt_hash)::int AS n FROM llm_calls WHERE agent = 'architect'
            AND business_id = $1]], s.business_id), 2)
        t.eq(count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'architect' AND status = 'completed'
            AND payload->>'business_id' = $1 AND payload->'feedback'->>0 LIKE '%byte limit%']], s.business_id), 2)
    end
    t.eq(count("SELECT count(*)::int AS n FROM campaigns"), 0, "nobody emailed")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE status = 'discarded'"), 0)
    t.eq(#assert(sites.held(100)), #rows)
end

-- A held site regenerated from the dashboard (domain.sites.regenerate: the
-- architect's new_version) goes through the screenshot stage and the gate
-- like a new draft and, passing this time, becomes a preview with new
-- pictures and goes on to compose; the whole loop runs in the worker.
function T.a_regenerated_held_site_is_photographed_and_judged_again(t)
    setup(t)
    t.config("screenshots", { driver = wm.root .. "/tests/fakes/screenshot_driver.js" })
    t.config("quality", { max_bytes = 10, max_attempts = 1 })
    t.config("leads", { per_cell = 8 })
    t.config("llm", { simulate = "" })
    local cell = one([[INSERT INTO coverage_grid (state, city, industry, industry_category, population)
        VALUES ('TX', 'Austin', 'plumber', 'Services', 960000) RETURNING id]])
    assert(wm.jobs.enqueue("scrape", { grid_id = cell.id }))
    assert(wm.jobs.start_worker { cron = false })
    t.defer(function() wm.jobs.stop_worker(5) end)
    local function idle()
        return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running')
            OR (status IN ('scheduled', 'retryable') AND run_at < now() + interval '5 seconds')]]) == 0
    end
    t.wait_for("the loop to hold the site", idle, 120)
    local held = one("SELECT * FROM generated_sites WHERE status = 'held' ORDER BY id LIMIT 1")
    t.ok(held.screenshot_thumb_url ~= wm.null)
    t.config("quality", { max_bytes = 30720 })
    local regen, rerr = sites.regenerate(held.id)
    t.ok(regen, rerr)
    t.wait_for("the new version to be judged", idle, 120)
    local s = one("SELECT * FROM generated_sites WHERE id = $1", held.id)
    t.eq(s.version, 2, "a new version")
    t.eq(s.status, "preview", "passed this time: " .. wm.json.encode(s.quality_failures))
    t.eq(in_held_list(held.id), nil, "no longer held")
    t.eq(s.quality_attempts, 1, "its own attempts")
    t.eq(#s.quality_failures, 0)
    -- (new_version emptied the picture columns; the fake driver's pictures
    -- are the same bytes, so the same content-named files.)
    for _, col in ipairs({ "screenshot_desktop_url", "screenshot_mobile_url", "screenshot_thumb_url" }) do
        t.ok(s[col] ~= wm.null, col .. " taken again")
        t.ok(wm.fs.stat(file_of(s[col])), col .. " on disk")
    end
    t.eq(count([[SELECT count(*)::int AS n FROM generated_sites WHERE id = $1
        AND quality_checked_at > $2::timestamp]], held.id, held.quality_checked_at), 1, "judged after the hold")
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.passed_gate' AND entity_id = $1",
               held.id), 1)
    t.eq(count([[SELECT count(*)::int AS n FROM jobs WHERE kind = 'compose' AND payload->>'business_id' = $1]],
               held.business_id), 1, "compose is next")
    local copy = one("SELECT status, screenshot_desktop_url FROM generated_sites WHERE id = $1", s.previous_version_id)
    t.eq(copy.status, "archived")
    t.eq(copy.screenshot_desktop_url, held.screenshot_desktop_url, "the old version keeps its pictures")
end

-- A new version of a live site (an approved change, a regenerate) is
-- photographed and judged too, but never taken down: its failures are
-- recorded and it stays live.
function T.a_live_sites_new_version_is_photographed_and_stays_live(t)
    setup(t)
    t.config("screenshots", { driver = wm.root .. "/tests/fakes/screenshot_driver.js" })
    t.config("quality", { max_bytes = 10 })
    local site_id, biz = draft(GOOD, "live")
    assert(wm.db.query("UPDATE generated_sites SET screenshot_desktop_url = 'http://x/old.png' WHERE id = $1", site_id))
    assert(wm.db.tx(function() return assert(sites.new_version(site_id, GOOD, "prompt")) end))
    local job = one("SELECT payload FROM jobs WHERE kind = 'screenshot'")
    t.eq(job.payload, { business_id = biz, site_id = site_id })
    t.eq(stage.run({ id = 1, attempt = 1, payload = job.payload }).outcome, CORE.COMPLETED)
    local s = one("SELECT * FROM generated_sites WHERE id = $1", site_id)
    t.eq(s.status, "live", "still served")
    t.ok(s.screenshot_thumb_url ~= wm.null and s.screenshot_desktop_url ~= "http://x/old.png", "new pictures")
    t.match(s.quality_failures[1], "over the 10%-byte limit")
    t.eq(count("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.gate_failed' AND entity_id = $1",
               site_id), 1)
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind IN ('compose', 'architect')"), 0)
end

-- An editor releases a held site from the CLI after looking at it: it
-- becomes a preview, compose is next, the activity row names a user; wm
-- serve's progress output counts the held sites and warns while Chromium
-- is missing.
function T.release_from_the_cli_and_held_and_chromium_in_the_progress_output(t)
    setup(t)
    local progress = require "wm.progress"
    local site_id, biz = draft(GOOD, "held")
    assert(wm.db.query([[UPDATE generated_sites SET screenshot_desktop_url = 'http://x/d.png', quality_checked_at = now(),
        quality_failures = '["Lighthouse seo scored 80, under 90"]' WHERE id = $1]], site_id))
    draft(GOOD, "draft")
    local c = assert(progress.counts())
    t.match(progress.line(c), ", 1 sites held for review")
    t.eq(progress.screenshot_warning(c), nil, "Chromium is there: no warning")
    t.config("screenshots", { chromium = "/nonexistent/chromium" })
    local w = progress.screenshot_warning(c)
    t.match(w or "", "^warning: Chromium not found at /nonexistent/chromium")
    t.match(w or "", "1 draft site%(s%) wait for their screenshot and are not emailed")

    local wm_bin = os.getenv("WM_TEST_WM")
    if not wm_bin then
        t.skip("WM_TEST_WM is not set")
    end
    local function cli(...)
        return assert(wm.exec { argv = { wm_bin, "sites", ... }, timeout = 60 })
    end
    local shown = cli("show", site_id)
    t.match(shown.stdout, "\nheld since +%d%d%d%d%-%d%d%-%d%d")
    local r = cli("release", site_id)
    t.eq(r.code, 0, r.stderr)
    t.match(r.stdout, "released: preview now")
    local s = one("SELECT status FROM generated_sites WHERE id = $1", site_id)
    t.eq(s.status, "preview")
    t.eq(in_held_list(site_id), nil, "no longer held")
    t.match(cli("show", site_id).stdout, "\nheld since +%-\n")
    local a = one([[SELECT actor_type, details FROM activity_log WHERE action = 'site.released'
        AND entity_id = $1]], site_id)
    t.eq(a.actor_type, "user")
    t.eq(a.details.failures, { "Lighthouse seo scored 80, under 90" }, "what the person overruled")
    t.eq(count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'compose' AND payload->>'business_id' = $1", biz), 1)
    t.eq(sites.ready_for_outreach(biz).id, site_id, "may be emailed now")
    t.eq(progress.line(assert(progress.counts())):find("held", 1, true), nil)
    r = cli("release", site_id)
    t.eq(r.code, 1)
    t.match(r.stderr, "not held")
    t.eq(cli("release").code, 2, "a usage error")
end

-- A Lighthouse stand-in under a lighthouse.dir of the test's own: `script`
-- is the shell run as its driver (node = /bin/sh), so no browser runs.
local function fake_lighthouse(t, script)
    local dir = t.tmpdir()
    assert(wm.fs.mkdir_p(dir .. "/node_modules/lighthouse"))
    assert(wm.fs.write_file(dir .. "/node_modules/lighthouse/package.json", "{}"))
    assert(wm.fs.write_file(dir .. "/run.mjs", script))
    t.config("lighthouse", { enabled = true, dir = dir, node = "/bin/sh", chromium = "/bin/sh",
                             first_of_variant = true, sample_every = 0, timeout = 2 })
end

-- Lighthouse failing (here: timing out) on the variant's first site does
-- not hold it (the cheap checks gate it, and it passes), the failed run is
-- recorded, and the next site of the variant is not "the first" again.
function T.a_failed_lighthouse_run_is_recorded_and_does_not_hold_the_site(t)
    setup(t)
    t.config("screenshots", { driver = wm.root .. "/tests/fakes/screenshot_driver.js", chromium = "/bin/sh" })
    fake_lighthouse(t, "sleep 30\n")
    local first, first_biz = draft(GOOD)
    t.eq(shoot(first_biz).outcome, CORE.COMPLETED)
    local s = one("SELECT status, lighthouse_score, quality_failures FROM generated_sites WHERE id = $1", first)
    t.eq(s.status, "preview", "gated on the cheap checks: " .. wm.json.encode(s.quality_failures))
    t.eq(s.lighthouse_score, wm.null)
    local run = one([[SELECT variant, score, report->>'error' AS error FROM lighthouse_runs
        WHERE site_id = $1]], first)
    t.eq(run.variant, "other")
    t.eq(run.score, wm.null)
    t.match(run.error, "took over 2 s")
    local second, second_biz = draft(GOOD)
    t.eq(shoot(second_biz).outcome, CORE.COMPLETED)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", second).status, "preview")
    t.eq(count("SELECT count(*)::int AS n FROM lighthouse_runs WHERE site_id = $1", second), 0,
        "not sampled: the variant had its first run")
end

-- Lighthouse that ran: its scores gate the site and are recorded, and it
-- scored the very page the browser photographed (rendered as live once).
function T.lighthouse_scores_the_photographed_page_and_gate_it(t)
    setup(t)
    t.config("screenshots", { driver = wm.root .. "/tests/fakes/screenshot_driver.js", chromium = "/bin/sh" })
    t.config("quality", { min_lighthouse = 90 })
    local got = t.tmpdir() .. "/input.json"
    fake_lighthouse(t, "cat > " .. got .. "\n"
        .. [[echo '{"scores": {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100},]]
        .. [[ "failed": [], "lhr": {"fake": true}}'
]])
    local renders, live_html = 0, sites.live_html
    sites.live_html = function(site)
        renders = renders + 1
        return live_html(site)
    end
    t.defer(function() sites.live_html = live_html end)
    local id, biz = draft(GOOD)
    t.eq(shoot(biz).outcome, CORE.COMPLETED)
    sites.live_html = live_html
    t.eq(renders, 1, "the page as live rendered once, for the browser and Lighthouse")
    local input = wm.json.decode(assert(wm.fs.read_file(got)))
    t.eq(input.html, GOOD, "Lighthouse scored the stored page (no agent outputs to render it again from)")
    local s = one("SELECT status, lighthouse_score, quality_failures FROM generated_sites WHERE id = $1", id)
    t.eq(s.status, "preview", wm.json.encode(s.quality_failures))
    t.eq(s.lighthouse_score, 95)
    local run = one("SELECT score, performance, seo FROM lighthouse_runs WHERE site_id = $1", id)
    t.eq({ run.score, run.performance, run.seo }, { 95, 95, 100 })
end

function T.seed_query_selects_exactly_the_photographed_previews(t)
    setup(t)
    local shot = "http://127.0.0.1/screenshots/x/1-desktop.png"
    local ready = draft(GOOD, "preview")
    local no_shot = draft(GOOD, "preview")
    local emailed, emailed_biz = draft(GOOD, "preview")
    local draft_shot = draft(GOOD, "draft")
    local held = draft(GOOD, "held")
    assert(wm.db.query("UPDATE generated_sites SET screenshot_desktop_url = $1 WHERE id <> $2", shot, no_shot))
    assert(wm.db.query("UPDATE businesses SET contact_status = 'emailed' WHERE id = $1", emailed_biz))
    local rows = assert(wm.db.query(sites.READY_FOR_OUTREACH))
    t.eq(#rows, 1)
    t.eq(rows[1].id, ready)
    t.ok(rows[1].email and rows[1].business_name, "with the seed's email and business_name")
    -- The query is the seed's own text (tests/schema/seed_queries.sql).
    local seed = assert(wm.fs.read_file(wm.root .. "/tests/schema/seed_queries.sql"))
    local norm = function(s) return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end
    t.ok(norm(seed):find(norm(sites.READY_FOR_OUTREACH), 1, true), "unchanged from the seed")
    -- Compose emails only that one.
    for _, id in ipairs({ no_shot, emailed, draft_shot, held }) do
        local b = one("SELECT business_id FROM generated_sites WHERE id = $1", id).business_id
        t.eq(require("stages.compose").run({ id = 1, attempt = 1, payload = { business_id = b } }), true)
    end
    t.eq(count("SELECT count(*)::int AS n FROM campaigns"), 0, "no campaign for a site the query leaves out")
end

return T
