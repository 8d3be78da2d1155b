-- Hot reload under a running `wm serve` reaches every module a job or a
-- request uses, directly or through other modules: an edit to the email
-- library, to the site renderer, to a helper two requires below a stage,
-- to a lead provider, and to a helper below a route each shows in the very
-- next email, site or request, with no signal and no `wm reload`. A module
-- that compiles but fails when loaded keeps the old code running. A manual
-- reload that changed nothing claims no host module changed.
--
-- The edits go into a WM_SCRIPTS_PATH overlay (a copy of the repository's
-- file with its exports wrapped), the way an operator overrides a script.
local T = {}

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function write(path, text)
    assert(wm.fs.mkdir_p(path:match("^(.*)/[^/]*$")))
    local f = assert(io.open(path .. ".tmp", "wb"))
    f:write(text)
    f:close()
    assert(os.rename(path .. ".tmp", path))
end

-- The repository's module `rel` with `wrap` (Lua code that may use the
-- module table as `M`) run just before its final `return`.
local function overlay(dir, rel, wrap)
    local src = read(wm.root .. "/scripts/" .. rel)
    local body, ret = src:match("^(.*\n)return%s+([%w_]+)%s*$")
    assert(body, rel .. " does not end with `return <name>`")
    write(dir .. "/" .. rel, body .. "do local M = " .. ret .. "\n" .. wrap .. "\nend\nreturn " .. ret .. "\n")
end

local function count(sql, ...)
    return assert(wm.db.one(sql, ...)).n
end

local function eml_files(var)
    local out = {}
    for _, f in ipairs(wm.fs.list_dir(var .. "/outbox") or {}) do
        if f:match("%.eml$") then
            out[f] = true
        end
    end
    return out
end

-- The server: jobs on, no autopilot, six leads a cell, its own var/; sites
-- photographed by the fast stand-in for the browser driver and no
-- Lighthouse (Chromium is not what this tests, and two cells of it outlast
-- the test's time on a loaded machine).
local function start(t)
    local dir = t.tmpdir()
    local var = t.tmpdir()
    local port = 20000 + (wm.sys.getpid() * 7) % 20000
    local log = var .. "/stderr"
    assert(wm.fs.mkdir_p(dir .. "/web"))
    local env = {
        WM_SCRIPTS_PATH = dir, WM_PATHS_VAR = var, WM_LOG_ACCESS = "false",
        WM_AUTOPILOT_ENABLED = "false", WM_LEADS_PER_CELL = "6", WM_JOBS_BACKOFF_BASE = "0.05",
        WM_SCREENSHOTS_DRIVER = wm.root .. "/tests/fakes/screenshot_driver.js", WM_LIGHTHOUSE_ENABLED = "false",
    }
    local server = wm.spawn(function()
        return wm.exec { argv = { "sh", "-c", "exec " .. os.getenv("WM_TEST_WM") .. " serve --quiet"
                                  .. " --listen 127.0.0.1:" .. port .. " --routes " .. dir .. "/web 2>" .. log },
                         env = env, timeout = 300 }
    end)
    t.defer(function()
        wm.exec { argv = { "sh", "-c", "pkill -TERM -f 'listen 127.0.0.1:" .. port .. "'" } }
        server:wait(15)
    end)
    local base = "http://127.0.0.1:" .. port
    t.wait_for("the server to answer", function()
        local r = wm.http.request { url = base .. "/healthz", timeout = 2 }
        return r and r.status == 200
    end, 60)
    return { dir = dir, var = var, base = base, log = log }
end

-- Waits until the server logged a successful reload naming `file`.
local function reloaded(t, s, file)
    t.wait_for("a reload of " .. file, function()
        for line in read(s.log):gmatch("[^\n]+") do
            local ok, v = pcall(wm.json.decode, line)
            if ok and type(v) == "table" and v.msg == "reload" and type(v.modules) == "table" then
                for _, m in ipairs(v.modules) do
                    if m == file then
                        return true
                    end
                end
            end
        end
    end, 20)
end

local cells = 0
-- Scrapes a new grid cell and waits until its leads are all through.
local function run_cell(t)
    cells = cells + 1
    local cities = { "Austin", "Dallas", "Houston", "El Paso", "Plano", "Waco", "Tyler" }
    local city = cities[cells]
    local g = assert(wm.db.one([[INSERT INTO coverage_grid (state, city, industry, industry_category, population)
        VALUES ('TX', $1, 'plumber', 'Services', 500000) RETURNING id]], city))
    assert(wm.jobs.enqueue("scrape", { grid_id = g.id }))
    t.wait_for("the cell in " .. city .. " to be worked through", function()
        return count([[SELECT count(*)::int AS n FROM jobs WHERE status IN ('available', 'running', 'retryable')
            OR (status = 'scheduled' AND run_at < now() + interval '5 seconds')]]) == 0
           and count("SELECT count(*)::int AS n FROM jobs WHERE kind = 'scrape' AND status <> 'completed'") == 0
    end, 120)
    return g.id
end

local function new_emails(s, before)
    local out = {}
    for f in pairs(eml_files(s.var)) do
        if not before[f] then
            out[#out + 1] = read(s.var .. "/outbox/" .. f)
        end
    end
    return out
end

function T.every_edit_reaches_the_next_job_and_request(t)
    assert(require("wm.migrate").up())
    local s = start(t)

    -- A route whose helper requires another helper: edit the deepest.
    write(s.dir .. "/lib/rl_deep.lua", "return { word = 'one' }\n")
    write(s.dir .. "/lib/rl_helper.lua",
          "local deep = require 'lib.rl_deep'\nreturn { say = function() return 'deep says ' .. deep.word end }\n")
    write(s.dir .. "/web/rl_route.lua", [[
local helper = require "lib.rl_helper"
wm.route("GET", "/rl", function() return { status = 200, body = helper.say() } end, { role = "public" })
]])
    t.wait_for("the new route", function()
        local r = wm.http.request { url = s.base .. "/rl", timeout = 2 }
        return r and r.status == 200 and r.body == "deep says one"
    end, 20)
    write(s.dir .. "/lib/rl_deep.lua", "return { word = 'two' }\n")
    reloaded(t, s, "lib.rl_deep")
    local r = wm.http.request { url = s.base .. "/rl", timeout = 2 }
    t.eq(r.body, "deep says two", "the next request runs the edited helper two requires below the route")

    -- A first cell on the repository's code: emails exist, no marker.
    local seen = eml_files(s.var)
    run_cell(t)
    local first = new_emails(s, seen)
    t.ok(#first > 0, "the first cell sent emails")
    for _, m in ipairs(first) do
        t.no_match(m, "%[edited%]", "no marker before any edit")
    end

    -- 1. The email library: the next email's subject.
    overlay(s.dir, "lib/email.lua", [[
local render = M.render
M.render = function(...)
    local r, err = render(...)
    if r then r.subject = r.subject .. " [edited]" end
    return r, err
end]])
    reloaded(t, s, "lib.email")
    -- 2. The site renderer: the next site's HTML.
    overlay(s.dir, "sites/render.lua", [[
local render = M.render
M.render = function(...)
    local r, err, x = render(...)
    if type(r) == "table" and type(r.html) == "string" then
        r.html = r.html:gsub("</body>", "<!-- renderer edited --></body>", 1)
    elseif type(r) == "string" then
        r = r:gsub("</body>", "<!-- renderer edited --></body>", 1)
    end
    return r, err, x
end]])
    reloaded(t, s, "sites.render")
    -- 3. Two requires below the send stage (send -> lib.email -> lib.tracking).
    overlay(s.dir, "lib/tracking.lua", [[
local open_url = M.open_url
M.open_url = function(...) return open_url(...) .. "?deep=edited" end]])
    reloaded(t, s, "lib.tracking")
    -- 4. A provider: the lead source's next answer.
    overlay(s.dir, "providers/leads/simulated.lua", [[
local search = M.search
M.search = function(...)
    local places, err, info = search(...)
    for _, p in ipairs(places or {}) do p.name = "Edited " .. p.name end
    return places, err, info
end]])
    reloaded(t, s, "providers.leads.simulated")

    seen = eml_files(s.var)
    local cell = run_cell(t)
    local after = new_emails(s, seen)
    t.ok(#after > 0, "the second cell sent emails")
    for _, m in ipairs(after) do
        m = m:gsub("\r?\n[ \t]+", " ")        -- unfold header lines
        local subject = m:match("\nSubject: ([^\r\n]*)") or m:match("^Subject: ([^\r\n]*)")
        t.match(subject or "", "%[edited%]", "the email library edit shows in the subject")
        local decoded = m:gsub("=\r?\n", ""):gsub("=3D", "=")   -- quoted-printable
        t.match(decoded, "deep=edited", "the tracking helper two requires deep shows in the email")
    end
    t.eq(count([[SELECT count(*)::int AS n FROM businesses WHERE coverage_grid_id = $1
        AND name NOT LIKE 'Edited %']], cell), 0, "every lead of the new cell came from the edited provider")
    local sites = assert(wm.db.query([[SELECT s.html_content FROM generated_sites s
        JOIN businesses b ON b.id = s.business_id WHERE b.coverage_grid_id = $1]], cell))
    t.ok(#sites > 0, "the second cell has sites")
    for _, site in ipairs(sites) do
        t.match(site.html_content, "renderer edited", "the renderer edit shows in the next site")
    end
end

function T.a_module_that_fails_to_load_keeps_the_old_code(t)
    local s = start(t)
    write(s.dir .. "/lib/rl_deep.lua", "return { word = 'one' }\n")
    write(s.dir .. "/web/rl_route.lua", [[
local deep = require "lib.rl_deep"
wm.route("GET", "/rl", function() return { status = 200, body = deep.word } end, { role = "public" })
]])
    t.wait_for("the new route", function()
        local r = wm.http.request { url = s.base .. "/rl", timeout = 2 }
        return r and r.status == 200 and r.body == "one"
    end, 20)
    -- Compiles, but raises when loaded.
    write(s.dir .. "/lib/rl_deep.lua", "local x = nil\nreturn { word = x.field }\n")
    t.wait_for("the load failure to be logged", function()
        return read(s.log):find("rl_deep.lua:2:", 1, true) ~= nil
    end, 20)
    local r = wm.http.request { url = s.base .. "/rl", timeout = 2 }
    t.eq(r.status, 200)
    t.eq(r.body, "one", "the old module keeps serving")
    write(s.dir .. "/lib/rl_deep.lua", "return { word = 'fixed' }\n")
    reloaded(t, s, "lib.rl_deep")
    t.eq(wm.http.request { url = s.base .. "/rl", timeout = 2 }.body, "fixed")

    -- A manual reload with nothing changed: no host module claimed.
    local mark = #read(s.log)
    local res = assert(wm.exec { argv = { os.getenv("WM_TEST_WM"), "reload" },
                                 env = { WM_PATHS_VAR = s.var }, timeout = 20 })
    t.eq(res.code, 0, "wm reload: " .. res.stderr .. res.stdout)
    t.wait_for("the manual pass", function()
        return read(s.log):sub(mark + 1):find('"reason":"signal"', 1, true) ~= nil
    end, 20)
    t.no_match(read(s.log):sub(mark + 1), "host modules changed", "nothing under scripts/wm/ changed")
end

return T
