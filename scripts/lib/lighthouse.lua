-- Lighthouse scores of a site as it will be live (no preview banner, no
-- noindex), on Debian's Chromium: npm's lighthouse under tools/lighthouse
-- (installed by .ci/setup.sh), driven by tools/lighthouse/run.mjs through
-- wm.exec with a timeout; after a timeout or a failure the browser, which
-- chrome-launcher starts in a process group of its own, is killed too.
--
--   lighthouse.available() -> true | false, why
--   lighthouse.variant(html) -> the page's template variant ("hero-split", ...)
--   lighthouse.should_run(site) -> bool, reason
--       site = {id=, html_content= (or variant=), checks_changed=}: the sample
--       Lighthouse runs on (it costs seconds of a core per site, a screenshot
--       a fraction of one): the first site of each template variant, then one
--       site in lighthouse.sample_every (chosen by the id, so every host
--       picks the same ones), and every site whose cheap checks changed
--       (checks_changed = true, the caller's judgement). lighthouse.enabled =
--       false: never.
--   lighthouse.run(site[, {form_factor=, timeout=}]) -> result | nil, err
--       site = {html=[, subdomain=]} (the page to score as it is) or a generated_sites row
--       ({id=, business_id=, subdomain=, status=, html_content=}: the page
--       rendered as live by domain.sites.live_html). result = {scores =
--       {performance=, accessibility=, best_practices=, seo=} (0..100),
--       score = the lowest of the four, failed = {{id=, title=, category=,
--       score=}, ...} (the audits that cost points), variant=, seconds=,
--       report = Lighthouse's whole result (a table)}. At most
--       lighthouse.concurrency runs at once in this process; the others wait.
--       A run that started and failed or timed out: nil, err, failure =
--       {variant=, form_factor=, seconds=, error=} (what record_failure keeps).
--   lighthouse.record(site_id, result) -> run id | nil, err
--       stores the run (lighthouse_runs, the report as JSONB) and sets
--       generated_sites.lighthouse_score.
--   lighthouse.record_failure(site_id, failure) -> run id | nil, err
--       stores a failed run: no scores, report = {error = ...}. It counts for
--       the sample (its variant has had its first run), so a browser that
--       fails on every page does not make every site "the first".
--   lighthouse.score(site[, opts]) -> result | nil, err     run + record
--       (a failed run recorded with record_failure)
local _M = {}

local CATEGORIES = { "performance", "accessibility", "best-practices", "seo" }

local function cfg()
    return wm.config.lighthouse
end

local function repo_path(p)
    if p:sub(1, 1) == "/" then
        return p
    end
    return (wm.root or ".") .. "/" .. p
end

local function driver()
    return repo_path(cfg().dir) .. "/run.mjs"
end

-- Whether node, the package and Chromium are there (a cheap look, no run).
function _M.available()
    local c = cfg()
    if not c.enabled then
        return false, "lighthouse.enabled is false"
    end
    if not wm.fs.stat(repo_path(c.dir) .. "/node_modules/lighthouse/package.json") then
        return false, "npm's lighthouse is not installed in " .. c.dir .. " (run .ci/setup.sh, or npm ci there)"
    end
    if not wm.fs.stat(c.chromium) then
        return false, "Chromium is not at " .. c.chromium .. " (lighthouse.chromium)"
    end
    return true
end

function _M.variant(html)
    local hero = type(html) == "string" and html:match('class="wm%-hero wm%-hero%-([%w-]+)"')
    return hero and ("hero-" .. hero) or "other"
end

-- ---- sampling ----

-- The id's place in 0..n-1 (its first 8 hex digits), the same on every host.
local function bucket(id, n)
    local hex = tostring(id):gsub("-", ""):sub(1, 8)
    local v = tonumber(hex, 16) or 0
    return v % n
end

function _M.should_run(site)
    local c = cfg()
    if not c.enabled then
        return false, "disabled"
    end
    if site.checks_changed then
        return true, "cheap checks changed"
    end
    local variant = site.variant or _M.variant(site.html_content or site.html)
    if c.first_of_variant then
        local seen, err = wm.db.one("SELECT 1 AS x FROM lighthouse_runs WHERE variant = $1 LIMIT 1", variant)
        if err then
            return nil, err
        end
        if not seen then
            return true, "first site of variant " .. variant
        end
    end
    local every = c.sample_every
    if every >= 1 and site.id and bucket(site.id, every) == 0 then
        return true, ("one in %d"):format(every)
    end
    return false, "not sampled"
end

-- ---- running ----

-- chrome-launcher starts Chromium detached (a process group of its own),
-- so killing node's group on a timeout leaves the browser running. Every
-- process of a run inherits WM_LIGHTHOUSE_RUN=<mark> in its environment:
-- after a run that did not end cleanly, whatever still carries the mark is
-- killed.
local function kill_marked(mark)
    local needle = "WM_LIGHTHOUSE_RUN=" .. mark
    local pids = {}
    for _, name in ipairs(wm.fs.list_dir("/proc") or {}) do
        if name:match("^%d+$") then
            local env = wm.fs.read_file("/proc/" .. name .. "/environ")
            if env and env:find(needle, 1, true) then
                pids[#pids + 1] = name
            end
        end
    end
    if #pids > 0 then
        wm.log.warn("lighthouse: killing what the run left behind", { processes = #pids })
        table.insert(pids, 1, "-KILL")
        table.insert(pids, 1, "kill")
        wm.exec { argv = pids, timeout = 10 }
    end
end

-- At most lighthouse.concurrency runs in this process. A slot is a lease
-- that ends at release or, for a task cancelled while it ran (no Lua runs
-- then), once the run's own timeout has passed: wm.exec has killed the
-- browser by then, so the slot is free again rather than lost.
local slots, waiters = {}, {}

local function acquire(timeout)
    while true do
        local now, used = wm.monotonic(), 0
        for token, deadline in pairs(slots) do
            if deadline < now then
                slots[token] = nil
            else
                used = used + 1
            end
        end
        if used < math.max(1, cfg().concurrency) then
            local token = {}
            slots[token] = now + timeout + 10
            return token
        end
        local ev = wm.event()
        waiters[#waiters + 1] = ev
        ev:wait(1)
    end
end

local function release(token)
    slots[token] = nil
    local ev = table.remove(waiters, 1)
    if ev then
        ev:set()
    end
end

-- The page as live and the headers and robots.txt its host would send.
local function live_page(site)
    local html = site.html or require("domain.sites").live_html(site)
    if type(html) ~= "string" or html == "" then
        return nil, "no page to score"
    end
    -- Lighthouse checks that a Sitemap line is an absolute URL: none when
    -- this host does not know the site's address.
    local url = site.subdomain and require("domain.sites").url(site.subdomain)
    local sitemap = type(url) == "string" and url:match("^https?://") and ("\nSitemap: " .. url .. "sitemap.xml\n") or ""
    local headers = {
        ["Content-Security-Policy"] = require("sites.render").csp(),
        ["X-Content-Type-Options"] = "nosniff",
        ["Referrer-Policy"] = "no-referrer",
        ["Cache-Control"] = "no-cache",
    }
    return html, headers, "User-agent: *\nAllow: /\n" .. sitemap
end

function _M.run(site, opts)
    opts = opts or {}
    local ok, why = _M.available()
    if not ok then
        return nil, why
    end
    local html, headers, robots = live_page(site)
    if not html then
        return nil, headers
    end
    local c = cfg()
    local form_factor = opts.form_factor or c.form_factor
    local input = wm.json.encode { html = html, headers = headers, robots = robots, form_factor = form_factor }
    local timeout = opts.timeout or c.timeout
    local slot = acquire(timeout)
    local started = wm.monotonic()
    local run_mark = "wm-lighthouse-" .. wm.crypto.random_token(9)
    local r, err, partial = wm.exec {
        argv = { c.node, driver() },
        stdin = input,
        env = { CHROME_PATH = c.chromium, PATH = os.getenv("PATH") or "/usr/bin:/bin",
                HOME = os.getenv("HOME") or "/tmp", TMPDIR = os.getenv("TMPDIR") or "/tmp",
                WM_LIGHTHOUSE_RUN = run_mark },
        timeout = timeout,
        max_output = 64 * 1024 * 1024,
    }
    local seconds = wm.monotonic() - started
    if not r or r.code ~= 0 then
        kill_marked(run_mark)
    end
    release(slot)
    local variant = _M.variant(html)
    local function failed(msg)
        return nil, msg, { variant = variant, form_factor = form_factor, seconds = seconds, error = msg }
    end
    if not r then
        if err == "timeout" then
            return failed(("lighthouse took over %d s (killed)"):format(timeout))
        end
        return failed("lighthouse: " .. tostring(err) .. (partial and partial.stderr and (": " .. partial.stderr) or ""))
    end
    if r.code ~= 0 then
        local msg = (r.stderr or ""):match("lighthouse: ([^\n]*)") or (r.stderr or ""):sub(1, 300)
        return failed(("lighthouse failed (exit %s): %s"):format(tostring(r.code or r.signal), msg))
    end
    local out, derr = wm.json.decode(r.stdout)
    if type(out) ~= "table" or type(out.scores) ~= "table" then
        return failed("lighthouse: unreadable output: " .. tostring(derr))
    end
    local scores, low = {}, nil
    for _, k in ipairs(CATEGORIES) do
        local v = out.scores[k]
        if type(v) ~= "number" then
            return failed("lighthouse: no " .. k .. " score")
        end
        scores[(k:gsub("-", "_"))] = v
        low = low and math.min(low, v) or v
    end
    return { scores = scores, score = low, failed = out.failed or {}, variant = variant,
             form_factor = form_factor, seconds = seconds, report = out.lhr }
end

function _M.record(site_id, result)
    return wm.db.tx(function(q)
        local row = q:one([[INSERT INTO lighthouse_runs (site_id, variant, form_factor, performance, accessibility,
                best_practices, seo, score, seconds, report)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) RETURNING id]],
            site_id, result.variant, result.form_factor, result.scores.performance, result.scores.accessibility,
            result.scores.best_practices, result.scores.seo, result.score, result.seconds, result.report)
        q:query("UPDATE generated_sites SET lighthouse_score = $2 WHERE id = $1", site_id, result.score)
        return row.id
    end)
end

function _M.record_failure(site_id, failure)
    local row, err = wm.db.one([[INSERT INTO lighthouse_runs (site_id, variant, form_factor, seconds, report)
        VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id]], site_id, failure.variant, failure.form_factor,
        failure.seconds, { error = failure.error })
    return row and row.id, err
end

function _M.score(site, opts)
    local result, err, failure = _M.run(site, opts)
    if not result then
        if failure and site.id then
            local _, rerr = _M.record_failure(site.id, failure)
            if rerr then
                wm.log.warn("lighthouse: the failed run was not recorded", { site = site.id, error = tostring(rerr) })
            end
        end
        return nil, err
    end
    local id, rerr = _M.record(site.id, result)
    if not id then
        return nil, rerr
    end
    result.run_id = id
    return result
end

return _M
