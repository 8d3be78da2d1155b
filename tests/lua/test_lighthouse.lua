-- scripts/lib/lighthouse.lua: the sample it runs on, a real run on Debian's
-- Chromium of a page rendered as live (SEO 100: no noindex, a robots.txt
-- crawlers can read), what it records, and a timeout that kills node and
-- the browser with it, as does a wm killed in the middle of a run.
local T = {}

local lighthouse = require "lib.lighthouse"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function live_page(name)
    return assert(require("sites.render").render {
        business = { name = name, slug = "lh-test", phone = "(512) 555-0100", city = "Austin", state = "TX",
                     category = "plumber", rating = 4.7, review_count = 52, email = "hello@example.com" },
        brief = { layout = "split" },
        content = {
            title = name .. " — Austin plumber", meta_description = "Family plumbers in Austin, TX, since 1998.",
            hero = { headline = "Leaks fixed today", subheadline = "Family owned since 1998", cta_label = "Call us" },
            sections = {
                { kind = "services", heading = "What we do", items = {
                    { title = "Emergency repairs", text = "Burst pipes and leaks, day or night, across Austin." },
                    { title = "Water heaters", text = "Tank and tankless heaters installed and repaired." },
                } },
                { kind = "contact", heading = "Contact" },
            },
        },
    })
end

local function site(t, variant_html, status)
    local slug = "lh-" .. wm.crypto.random_token(4):lower():gsub("[^a-z0-9]", "x")
    local b = one("INSERT INTO businesses (name, slug) VALUES ('LH Co', $1) RETURNING id", slug)
    return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status)
        VALUES ($1, $2, $3, $4) RETURNING id, subdomain, html_content, status, business_id]],
        b.id, slug, variant_html, status or "preview")
end

function T.should_run_samples_first_of_variant_one_in_n_and_changed_checks(t)
    assert(require("wm.migrate").up())
    -- (The tests share a database: another's run must not be this one's first.)
    assert(wm.db.query("DELETE FROM lighthouse_runs"))
    t.config("lighthouse", { enabled = true, first_of_variant = true, sample_every = 20 })
    local split = '<section class="wm-hero wm-hero-split" id="top">'
    t.eq(lighthouse.variant(split), "hero-split")
    t.eq(lighthouse.variant("<p>no hero</p>"), "other")

    local a = site(t, split)
    local yes, why = lighthouse.should_run(a)
    t.eq(yes, true)
    t.match(why, "first site of variant hero%-split")
    -- Once the variant has a run, only the sample and changed checks.
    assert(lighthouse.record(a.id, { variant = "hero-split", form_factor = "mobile", seconds = 1, score = 97,
        scores = { performance = 97, accessibility = 100, best_practices = 100, seo = 100 }, report = { x = 1 } }))
    -- Ids chosen by their first 8 hex digits: 20 (0x14) is in the one-in-20
    -- sample, 21 is not.
    local picked = { id = "00000014-0000-4000-8000-000000000000", html_content = split }
    local skipped = { id = "00000015-0000-4000-8000-000000000000", html_content = split }
    t.eq(lighthouse.should_run(picked), true)
    t.eq(lighthouse.should_run(skipped), false)
    skipped.checks_changed = true
    t.eq(lighthouse.should_run(skipped), true, "cheap checks changed")
    t.config("lighthouse", { sample_every = 1 })
    skipped.checks_changed = nil
    t.eq(lighthouse.should_run(skipped), true, "sample_every = 1: every site")
    t.config("lighthouse", { sample_every = 0 })
    t.eq(lighthouse.should_run(picked), false, "sample_every = 0: the firsts only")
    t.eq(lighthouse.should_run { id = picked.id, html_content = '<section class="wm-hero wm-hero-band"' }, true,
        "another variant's first")
    t.config("lighthouse", { enabled = false })
    t.eq(lighthouse.should_run(picked), false, "disabled")

    -- record: the run and its report kept, the seed's column the lowest.
    local row = one("SELECT lighthouse_score FROM generated_sites WHERE id = $1", a.id)
    t.eq(row.lighthouse_score, 97)
    local run = one("SELECT seo, best_practices, report FROM lighthouse_runs WHERE site_id = $1", a.id)
    t.eq(run.seo, 100)
    t.eq(run.report, { x = 1 })
end

local function need_lighthouse(t)
    local ok, why = lighthouse.available()
    if not ok then
        t.skip(why)
    end
end

function T.run_scores_the_page_as_live_and_records_it(t)
    assert(require("wm.migrate").up())
    need_lighthouse(t)
    local html = live_page("Lighthouse Plumbing")
    t.ok(not html:find("noindex", 1, true), "rendered as live")
    local s = site(t, html, "live")
    -- wm test gives a test 120 s: a machine so loaded that one run takes
    -- longer says nothing about the page.
    local r, err = lighthouse.score(s, { timeout = 100 })
    if not r and err:match("took over") then
        t.skip("Lighthouse took over 100 s on this machine (load): " .. err)
    end
    t.ok(r, "lighthouse ran: " .. tostring(err))
    local lost = {}
    for _, f in ipairs(r.failed) do
        lost[#lost + 1] = f.category .. "/" .. f.id
    end
    -- SEO, accessibility and best practices do not depend on the machine's
    -- load; performance does (a busy CI host), so it is only reported.
    t.eq(r.scores.seo, 100, "SEO; lost: " .. table.concat(lost, ", "))
    t.eq(r.scores.accessibility, 100, "accessibility; lost: " .. table.concat(lost, ", "))
    t.eq(r.scores.best_practices, 100, "best practices; lost: " .. table.concat(lost, ", "))
    t.ok(r.scores.performance >= 0 and r.scores.performance <= 100)
    local low = math.min(r.scores.performance, r.scores.accessibility, r.scores.best_practices, r.scores.seo)
    t.eq(r.score, low, "the lowest of the four")
    t.eq(r.variant, "hero-split")
    t.eq(r.report.finalDisplayedUrl:match("^http://127%.0%.0%.1:%d+/$") ~= nil, true)
    t.eq(r.report.audits["is-crawlable"].score, 1, "no noindex, robots.txt allows")
    t.eq(r.report.audits["robots-txt"].score, 1, "robots.txt read through the page's CSP")

    local row = one("SELECT lighthouse_score FROM generated_sites WHERE id = $1", s.id)
    t.eq(row.lighthouse_score, low)
    local run = one([[SELECT performance, seo, score, report->'categories'->'seo'->>'score' AS seo_raw
        FROM lighthouse_runs WHERE id = $1]], r.run_id)
    t.eq(run.seo, 100)
    t.eq(run.seo_raw, "1", "the whole report is stored")

    -- The preview of the same page (noindex, banner) is not what is scored:
    -- scored as it is, it loses SEO, which is why run() renders as live.
    local preview = assert(require("sites.render").render {
        business = { name = "Lighthouse Plumbing", slug = "lh-test", city = "Austin", state = "TX" },
        content = { title = "Lighthouse Plumbing", meta_description = "Plumbers in Austin." },
        preview = { banner = true },
    })
    local p, perr = lighthouse.run({ html = preview }, { timeout = 100 })
    if not p and perr:match("took over") then
        t.skip("Lighthouse took over 100 s on this machine (load): " .. perr)
    end
    t.ok(p, perr)
    t.ok(p.scores.seo < 100, "a preview's noindex costs SEO: " .. p.scores.seo)
end

-- A run that outlives its timeout is killed with its whole process group:
-- node and every Chromium process it started (found by a marker in their
-- environment, which children inherit).
function T.timeout_kills_node_and_the_browser(t)
    need_lighthouse(t)
    local marker = "wm-lh-test-" .. wm.crypto.random_token(6):lower()
    t.config("lighthouse", { chromium = "/usr/bin/chromium" })
    local exec = wm.exec
    wm.exec = function(o)
        o.env = o.env or {}
        o.env.WM_LH_MARKER = marker
        return exec(o)
    end
    t.defer(function() wm.exec = exec end)
    local started = wm.monotonic()
    local r, err = lighthouse.run({ html = live_page("Slow Co") }, { timeout = 8 })
    wm.exec = exec
    t.eq(r, nil)
    t.match(err, "took over 8 s %(killed%)")
    t.ok(wm.monotonic() - started < 15, "returned soon after the timeout")
    local function survivors()
        local n = 0
        for pid in (wm.exec { argv = { "sh", "-c", "ls /proc | grep -E '^[0-9]+$'" } }).stdout:gmatch("%d+") do
            local env = wm.fs.read_file("/proc/" .. pid .. "/environ")
            if env and env:find(marker, 1, true) then
                n = n + 1
            end
        end
        return n
    end
    t.wait_for("no process left with the marker", function() return survivors() == 0 end, 10)
end

-- A wm killed with SIGKILL in the middle of a run takes node and the browser
-- with it: node through wm.exec, the browser (which chrome-launcher detaches
-- from node) through tools/lighthouse/chromium.sh, its processes with it.
function T.killed_wm_takes_node_and_the_browser(t)
    need_lighthouse(t)
    local dir = t.tmpdir()
    local marker = "lh-kill-" .. wm.crypto.random_token(6):lower()
    assert(wm.fs.write_file(dir .. "/run.lua", [[
        require("lib.lighthouse").run({ html = "<html><head><title>x</title></head><body><p>x</p></body></html>" },
                                      { timeout = 100 })
    ]]))
    local task = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", ("echo $$ > %s/pid; exec %s run %s/run.lua"):format(dir, os.getenv("WM_TEST_WM"), dir) },
                         env = { WM_PATHS_VAR = dir, LH_KILL_MARKER = marker }, timeout = 100 }
    end)
    -- {pid = command line} of the live processes of the run: those with the
    -- marker in their environment (node, the browser) and the members of
    -- their process groups (Chromium's own processes, which overwrite their
    -- environment with their title). A zombie's environment reads empty.
    local function marked()
        local procs, groups = {}, {}
        for _, pid in ipairs(wm.fs.list_dir("/proc") or {}) do
            local stat = pid:match("^%d+$") and wm.fs.read_file("/proc/" .. pid .. "/stat")
            local state, pgrp = (stat or ""):match("^%d+ %b() (%a) %d+ (%d+)")
            if state and state ~= "Z" then
                local env = wm.fs.read_file("/proc/" .. pid .. "/environ") or ""
                procs[pid] = { pgrp = pgrp, marked = env:find(marker, 1, true) ~= nil }
                if procs[pid].marked then
                    groups[pgrp] = true
                end
            end
        end
        local found = {}
        for pid, p in pairs(procs) do
            if p.marked or groups[p.pgrp] then
                found[pid] = (wm.fs.read_file("/proc/" .. pid .. "/cmdline") or ""):gsub("%z", " ")
            end
        end
        return found
    end
    t.defer(function()   -- (what a failure left)
        local pids = { "kill", "-9" }
        for pid in pairs(marked()) do pids[#pids + 1] = pid end
        if #pids > 2 then wm.exec { argv = pids } end
    end)
    t.wait_for("a renderer of the run's browser", function()
        for _, cmd in pairs(marked()) do
            if cmd:find("--type=renderer", 1, true) then return true end
        end
    end, 60)
    local wm_pid = assert(tonumber((wm.fs.read_file(dir .. "/pid") or ""):match("%d+")))
    assert(wm.exec { argv = { "kill", "-KILL", tostring(wm_pid) } })
    local ok, res = task:wait(10)
    t.ok(ok and res.signal == 9, "the wm run was killed")
    t.wait_for("nothing of the run left", function() return next(marked()) == nil end, 5)
end

-- A stand-in for node and run.mjs under a lighthouse.dir of the test's own
-- (`script` is the shell run as the driver): real wm.exec runs, no browser.
local function fake_lighthouse(t, script)
    local dir = t.tmpdir()
    assert(wm.fs.mkdir_p(dir .. "/node_modules/lighthouse"))
    assert(wm.fs.write_file(dir .. "/node_modules/lighthouse/package.json", "{}"))
    assert(wm.fs.write_file(dir .. "/run.mjs", script))
    t.config("lighthouse", { enabled = true, dir = dir, node = "/bin/sh", chromium = "/bin/sh",
                             first_of_variant = true, sample_every = 20 })
end

-- A run that fails or times out is recorded as a failed run (its error, no
-- scores, the site's score untouched), and counts for the sample: the next
-- site of the same variant is not "the first" again.
function T.failed_and_timed_out_runs_are_recorded_and_sampled(t)
    assert(require("wm.migrate").up())
    fake_lighthouse(t, "echo 'lighthouse: Chrome could not start' >&2\nexit 3\n")
    local html = '<section class="wm-hero wm-hero-band" id="top"><h1>Band</h1></section>'
    local a = site(t, html)
    local skipped = { id = "00000015-0000-4000-8000-000000000000", html_content = html }
    t.eq(lighthouse.should_run(skipped), true, "no run of the variant yet: the first")
    local r, err = lighthouse.score(a)
    t.eq(r, nil)
    t.match(err, "lighthouse failed %(exit 3%): Chrome could not start")
    local run = one([[SELECT variant, score, performance, seo, report->>'error' AS error FROM lighthouse_runs
        WHERE site_id = $1]], a.id)
    t.eq(run.variant, "hero-band")
    t.eq({ run.score, run.performance, run.seo }, { wm.null, wm.null, wm.null }, "no scores")
    t.eq(run.error, err)
    t.eq(one("SELECT lighthouse_score FROM generated_sites WHERE id = $1", a.id).lighthouse_score, wm.null)
    local yes, why = lighthouse.should_run(skipped)
    t.eq(yes, false, "the failed run was the variant's first: " .. tostring(why))

    -- A timeout: killed, recorded the same way.
    fake_lighthouse(t, "sleep 30\n")
    local b = site(t, html)
    local started = wm.monotonic()
    r, err = lighthouse.score(b, { timeout = 1 })
    t.eq(r, nil)
    t.match(err, "took over 1 s %(killed%)")
    t.ok(wm.monotonic() - started < 10, "gave up at the timeout")
    local run2 = one("SELECT score, seconds, report->>'error' AS error FROM lighthouse_runs WHERE site_id = $1", b.id)
    t.eq(run2.score, wm.null)
    t.match(run2.error, "took over 1 s")
    t.ok(run2.seconds >= 1, "its time kept: " .. run2.seconds)

    -- Nothing ran (not installed): nothing recorded.
    t.config("lighthouse", { dir = "/nonexistent/lh" })
    local c = site(t, html)
    t.eq(lighthouse.score(c), nil)
    t.eq(one("SELECT count(*)::int AS n FROM lighthouse_runs WHERE site_id = $1", c.id).n, 0)
end

function T.unavailable_says_why(t)
    t.config("lighthouse", { chromium = "/nonexistent/chromium" })
    local ok, why = lighthouse.available()
    t.eq(ok, false)
    t.match(why, "Chromium is not at /nonexistent/chromium")
    local r, err = lighthouse.run { html = "<!DOCTYPE html><title>x</title>" }
    t.eq(r, nil)
    t.match(err, "Chromium is not at")
    t.config("lighthouse", { chromium = "/usr/bin/chromium", dir = "/nonexistent/lh" })
    t.match(select(2, lighthouse.available()), "npm's lighthouse is not installed in /nonexistent/lh")
end

return T
