-- screenshot {business_id[, site_id]}: photographs the business's draft site
-- (or the site_id row: a new version, domain.sites.new_version) in
-- headless Chromium (desktop 1280x800, mobile 390x844, a 320x200 thumbnail)
-- from its stored content rendered as it will be when live, with no server
-- (a `wm work` host does it too): scripts/browser/screenshot.js drives one
-- browser through wm.exec (timeout: its whole process group is killed) and
-- reports the navigation's load time, console errors and requests leaving
-- the page's origin. Lighthouse (lib/lighthouse.lua) runs on its sample
-- when lighthouse.enabled and installed. The
-- quality gate (domain.sites) then decides: preview -> compose; a failed
-- build -> the architect again, with the failures as feedback; the last
-- failed build -> held for review. A new version of a preview, live or sold
-- site (its pictures gone) is photographed and judged the same way
-- (domain.sites.judge says what a failure does to each). Never emailed
-- without a screenshot: with
-- Chromium or node missing the site waits (said once per host, in the log).
local pipeline = require "lib.pipeline"
local outcome = require "lib.outcome"
local sites = require "domain.sites"
local lighthouse = require "lib.lighthouse"

local cfg = wm.config.screenshots

local M = {
    kind = "screenshot",
    concurrency = cfg.concurrency,
    -- The browser's own timeout, plus Lighthouse on a sampled site.
    timeout = 600,
    max_attempts = 4,
}

local VIEWS = { "desktop", "mobile", "thumb" }

-- The path of an executable program: `name` itself when it has a slash,
-- else the first match on PATH; nil when there is none.
local function find_program(name)
    local function runnable(path)
        local st = wm.fs.stat(path, { wait = true })
        return st and st.type == "file" and st.mode % 2 == 1 and path or nil
    end
    if name:find("/", 1, true) then
        return runnable(name)
    end
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
        local p = runnable(dir .. "/" .. name)
        if p then
            return p
        end
    end
end

-- nil when the browser and its driver are there, else why not.
function M.missing()
    cfg = wm.config.screenshots
    if not find_program(cfg.chromium) then
        return ("Chromium not found at %s (screenshots.chromium; install the chromium package: "
            .. "sh .ci/setup.sh)"):format(cfg.chromium)
    end
    if not find_program(cfg.node) then
        return ("node not found (screenshots.node = %s; install the nodejs package)"):format(cfg.node)
    end
end

local warned = {}

-- Says why screenshots cannot be taken, once per host and reason.
local function warn_once(reason)
    if not warned[reason] then
        warned[reason] = true
        wm.log.warn("screenshots: " .. reason .. "; sites wait for their screenshot and are not emailed until "
            .. "it is taken", { retry_every = cfg.wait })
    end
end

local function driver_path()
    local d = cfg.driver
    return d:sub(1, 1) == "/" and d or (wm.root .. "/" .. d)
end

-- Runs the driver on `html` for the page of `site` ({id=, subdomain=}); the
-- pictures go to paths.var/screenshots/<site id>/<hash>-<view>.png. ->
-- {urls = {view = URL}, report = the driver's JSON} | nil, err
-- (M.photograph: tests/bench/sites times it.)
local function photograph(site, html)
    local root = wm.config.paths.var .. "/screenshots"
    local tmp = ("%s/.tmp-%s-%s"):format(root, site.id, wm.crypto.random_token(6))
    assert(wm.fs.mkdir_p(tmp))
    local function cleanup()
        wm.exec { argv = { "rm", "-rf", tmp } }
    end
    local ok, err = wm.fs.write_file(tmp .. "/page.html", html)
    if not ok then
        cleanup()
        return nil, "writing the page: " .. tostring(err)
    end
    local res, perr, partial = wm.exec {
        argv = { cfg.node, driver_path(), "--html", tmp .. "/page.html", "--url", sites.url(site.subdomain),
                 "--out", tmp, "--csp", require("sites.render").csp(), "--chromium", cfg.chromium,
                 -- (Inside tmp: removed even when a timeout killed the driver.)
                 "--profile", tmp },
        timeout = cfg.timeout,
        max_output = 1048576,
    }
    if not res then
        cleanup()
        if perr == "timeout" then
            return nil, ("the browser took over %d s (screenshots.timeout); its process group was killed: %s")
                :format(cfg.timeout, (partial and partial.stderr or ""):sub(-500))
        end
        return nil, "running the screenshot driver: " .. tostring(perr)
    end
    local report = res.code == 0 and wm.json.decode(res.stdout)
    if type(report) ~= "table" then
        cleanup()
        return nil, ("the screenshot driver failed (exit %s): %s"):format(tostring(res.code or res.signal),
                                                                       (res.stderr or ""):sub(-500))
    end
    local dir = root .. "/" .. site.id
    assert(wm.fs.mkdir_p(dir))
    local urls = {}
    for _, view in ipairs(VIEWS) do
        local png = wm.fs.read_file(tmp .. "/" .. view .. ".png")
        if not png or png:sub(1, 8) ~= "\137PNG\r\n\26\n" then
            cleanup()
            return nil, "the screenshot driver wrote no " .. view .. ".png"
        end
        local name = wm.crypto.sha256_hex(png):sub(1, 16) .. "-" .. view .. ".png"
        assert(wm.fs.write_file(dir .. "/" .. name, png, { atomic = true }))
        urls[view] = wm.config.sites.base_url:gsub("/+$", "") .. "/screenshots/" .. site.id .. "/" .. name
    end
    cleanup()
    return { urls = urls, report = report }
end

M.photograph = photograph

-- Lighthouse's result for the site when it ran (on its sample), else nil:
-- it is turned off (lighthouse.enabled) or not installed, the site is not
-- sampled, or it failed. The cheap checks gate the site either way.
-- live_html: the page as live, rendered once for the browser and this.
local function lighthouse_result(site, live_html, checks_changed)
    if not lighthouse.available() then
        return nil
    end
    local sample = { id = site.id, html_content = site.html_content, checks_changed = checks_changed }
    if not lighthouse.should_run(sample) then
        return nil
    end
    local result, err = lighthouse.score { id = site.id, subdomain = site.subdomain, html = live_html }
    if not result then
        wm.log.warn("screenshots: Lighthouse failed; the site is gated on the cheap checks",
                    { site = site.id, error = tostring(err) })
    end
    return result
end

function M.run(job)
    cfg = wm.config.screenshots
    local b, err, discard = pipeline.job_business(job)
    if not b then
        return nil, err, discard
    end
    local site = wm.db.one([[SELECT id, business_id, subdomain, status, html_content, screenshot_desktop_url,
            quality_failures FROM generated_sites WHERE business_id = $1 AND ($2::uuid IS NULL OR id = $2)
        ORDER BY version DESC LIMIT 1]], b.id, job.payload.site_id or wm.null)
    if not site then
        return outcome.discard("no site for business " .. b.id)
    end
    local new_version = site.screenshot_desktop_url == wm.null
        and (site.status == "preview" or site.status == "live" or site.status == "sold")
    if site.status ~= "draft" and not new_version then
        -- Judged already (a rerun): a passed site goes on to compose once more
        -- (compose makes one campaign per site, ever).
        if site.status == "preview" and site.screenshot_desktop_url ~= wm.null then
            assert(pipeline.next("compose", b.id))
        end
        return outcome.done()
    end
    local why = M.missing()
    if why then
        warn_once(why)
        return outcome.snooze(cfg.wait)
    end
    local live_html = sites.live_html(site)
    local shot, perr = photograph(site, live_html)
    if not shot then
        return outcome.retry(perr)
    end
    local check = { bytes = #site.html_content, problems = shot.report.problems }
    -- "Changed" for Lighthouse's sample: a rebuild whose cheap checks differ.
    local before = site.quality_failures ~= wm.null and wm.json.encode(site.quality_failures) or nil
    local lh = lighthouse_result(site, live_html, before ~= nil
        and before ~= wm.json.encode(wm.json.array(sites.quality_failures(check))))
    check.lighthouse = lh and lh.scores
    local failures = sites.quality_failures(check)
    local verdict
    verdict, err = wm.db.tx(function()
        local v = assert(sites.judge(site.id, {
            desktop_url = shot.urls.desktop, mobile_url = shot.urls.mobile, thumb_url = shot.urls.thumb,
            load_time_ms = tonumber(shot.report.load_time_ms), lighthouse_score = lh and lh.score,
            failures = failures,
        }))
        if v == "preview" then
            assert(pipeline.next("compose", b.id))
        elseif v == "rebuild" then
            -- The architect writes the page again (its stored answer goes),
            -- told what the gate found.
            assert(wm.db.run("DELETE FROM agent_outputs WHERE business_id = $1 AND agent = 'architect'", b.id))
            assert(pipeline.next("architect", b.id, { feedback = failures }))
        end
        return v
    end)
    if not verdict then
        return outcome.retry(err)
    end
    if verdict == "held" then
        wm.log.warn("site held for review: it failed the quality gate", { site = site.id,
                    subdomain = site.subdomain, failures = table.concat(failures, "; ") })
    elseif (verdict == "live" or verdict == "sold") and #failures > 0 then
        wm.log.warn("a new version of a live site failed the quality gate; it stays live", { site = site.id,
                    subdomain = site.subdomain, failures = table.concat(failures, "; ") })
    end
    return outcome.done()
end

return M
