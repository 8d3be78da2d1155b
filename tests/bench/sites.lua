-- The sites benchmark (see tests/bench/sites): N generated sites of the
-- database wm is configured with, each as it will be live, photographed by
-- the screenshot stage's driver (stages/screenshot.lua: one Chromium for
-- desktop 1280x800, mobile 390x844 and the thumbnail, with the gate's
-- checks) and scored by Lighthouse (scripts/lib/lighthouse.lua, recorded in
-- lighthouse_runs): seconds per site for each, and the score distribution.
local USAGE = [[usage: wm run tests/bench/sites.lua N OUTDIR (driven by tests/bench/sites)

  Photographs and scores (Lighthouse, as live) the first N generated sites;
  the screenshots go to OUTDIR/screenshots/<site id>/. Prints one line per site, then the summary.]]
local opts, pos = require("wm.cli").script_args(arg, USAGE)
if not opts then
    return pos
end
local n, out = tonumber(pos[1]), pos[2]
if not n or not out then
    io.stderr:write(USAGE, "\n")
    return 2
end
local lighthouse = require "lib.lighthouse"
local sites = require "domain.sites"
assert(wm.fs.mkdir_p(out))
local ok, why = lighthouse.available()
if not ok then
    io.stderr:write("sites bench: ", why, "\n")
    return 1
end

local rows = assert(wm.db.query([[SELECT id, business_id, subdomain, status, html_content FROM generated_sites
    ORDER BY created_at, id LIMIT $1]], n))
if #rows < n then
    io.stderr:write(("sites bench: only %d generated sites (asked for %d)\n"):format(#rows, n))
end

local stage = require "stages.screenshot"
why = stage.missing()
if why then
    io.stderr:write("sites bench: ", why, "\n")
    return 1
end
wm.config.paths.var = out

-- The stage's photograph of the page: seconds.
local function shot(site, html)
    local t0 = wm.monotonic()
    local res, err = stage.photograph(site, html)
    assert(res, "the screenshot driver failed: " .. tostring(err))
    return wm.monotonic() - t0
end

local function median(list)
    local s = {}
    for i, v in ipairs(list) do
        s[i] = v
    end
    table.sort(s)
    if #s == 0 then
        return 0
    end
    local m = math.floor((#s + 1) / 2)
    return #s % 2 == 1 and s[m] or (s[m] + s[m + 1]) / 2
end

local CATS = { "performance", "accessibility", "best_practices", "seo" }
local scores = { performance = {}, accessibility = {}, best_practices = {}, seo = {} }
local shot_secs, lh_secs, failed_audits, errors = {}, {}, {}, 0
for i, site in ipairs(rows) do
    local html = sites.live_html(site)
    local s = shot(site, html)
    shot_secs[#shot_secs + 1] = s
    local r, err = lighthouse.run { html = html, subdomain = site.subdomain }
    if not r then
        errors = errors + 1
        io.write(("%3d %-40s screenshot %.1f s, lighthouse FAILED: %s\n"):format(i, site.subdomain, s, err))
    else
        assert(lighthouse.record(site.id, r))
        lh_secs[#lh_secs + 1] = r.seconds
        for _, c in ipairs(CATS) do
            table.insert(scores[c], r.scores[c])
        end
        local lost = {}
        for _, f in ipairs(r.failed) do
            lost[#lost + 1] = f.id
            failed_audits[f.category .. "/" .. f.id] = (failed_audits[f.category .. "/" .. f.id] or 0) + 1
        end
        io.write(("%3d %-40s screenshot %.1f s, lighthouse %.1f s: perf %d a11y %d bp %d seo %d %s\n"):format(i,
            site.subdomain, s, r.seconds, r.scores.performance, r.scores.accessibility, r.scores.best_practices,
            r.scores.seo, #lost > 0 and ("(" .. table.concat(lost, ", ") .. ")") or ""))
    end
    io.flush()
end

io.write(("\n%d sites: screenshots (desktop, mobile, thumbnail) median %.1f s/site; Lighthouse median %.1f s/site, %d failed\n")
    :format(#rows, median(shot_secs), median(lh_secs), errors))
for _, c in ipairs(CATS) do
    local list = scores[c]
    local low = math.huge
    for _, v in ipairs(list) do
        low = math.min(low, v)
    end
    io.write(("  %-15s median %3d  min %3d\n"):format(c, median(list), #list > 0 and low or 0))
end
local audits = {}
for k, v in pairs(failed_audits) do
    audits[#audits + 1] = { k, v }
end
table.sort(audits, function(a, b) return a[2] > b[2] end)
for _, a in ipairs(audits) do
    io.write(("  lost points: %-45s on %d site(s)\n"):format(a[1], a[2]))
end
