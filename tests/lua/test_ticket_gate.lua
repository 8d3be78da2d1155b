-- A support ticket's proposed version goes through the quality gate new
-- sites pass (domain.sites.quality_failures) before it waits for approval:
-- its size always, and in the real Chromium (the screenshot stage's driver)
-- what the browser sees, with its pictures kept on the proposed row and
-- shown side by side in the portal and the dashboard. A failing simple
-- change needs a person with the failures in words; a failing structural
-- one goes back to the architect once with them. The sites are real: built
-- by the offline agents, rendered by sites/render.lua, served by the HTTP
-- server.
local T = {}

local site_edit = require "lib.site_edit"
local llm = require "lib.llm"
local screenshot = require "stages.screenshot"
local tickets = require "domain.tickets"
local web = dofile(wm.root .. "/tests/lib/web.lua")
local support = dofile(wm.root .. "/tests/lib/support.lua")

local live_site, file, interpret = support.live_site, support.file, support.interpret

local PASSWORD = "correct horse battery"

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local port, var

local function setup(t)
    port, var = support.setup(t, { screenshots = true })
    -- The real driver and browser (tests/CMakeLists.txt gives test_tickets a fast stand-in).
    t.config("screenshots", { driver = "scripts/browser/screenshot.js", chromium = "/usr/bin/chromium", timeout = 90 })
    t.config("quality", { max_bytes = 30720 })
end

local function need_chromium(t)
    local why = screenshot.missing()
    if why then
        t.skip("the proposal's browser checks need Chromium and node: " .. why)
    end
end

-- Many long reviews: a page near its size budget.
local MANY = {}
for i = 1, 12 do
    MANY[i] = { author_title = "Customer " .. i, review_rating = 5, review_text = ("Review %d: "):format(i)
        .. "Luis showed up on time and fixed our leaking water heater in an hour. Fair price and he cleaned up "
        .. "after himself, explained every step, and called the next day to check that the water was still hot. "
        .. "We will call him again for the kitchen sink and recommend him to our neighbours on the street." }
end

local function proposed_rows(who)
    return one("SELECT count(*)::int AS n FROM generated_sites WHERE business_id = $1 AND status = 'proposed'",
        who.business_id).n
end

-- site_edit.render for this test only through `wrap(html, info, calls)`,
-- calls counting the renders of changed pages (those of the stage).
local function wrap_render(t, wrap)
    local original = site_edit.render
    local calls = 0
    site_edit.render = function(site, inputs)
        local html, info = original(site, inputs)
        if not html then
            return html, info
        end
        calls = calls + 1
        return wrap(html, info, calls)
    end
    t.defer(function() site_edit.render = original end)
end

local function get(path, headers)
    return web.request(port, path, { headers = headers })
end

-- ---- the size check (no browser needed) ------------------------------------------------

function T.a_proposal_over_30_kb_needs_a_person(t)
    setup(t)
    local who = live_site("Rivera & Sons & Daughters Plumbing, Heating & Cooling, Drains & Sewers & Gas Lines of Austin", { reviews = MANY })
    -- Every text the page shows at its longest, each character a quote
    -- mark the page escapes to six bytes: the renderer would have to leave
    -- sections out to stay under its budget.
    local function says(part, len)
        return "Change the " .. part .. " to \226\128\156" .. ('"'):rep(len) .. "\226\128\157"
    end
    local tk = file(who, table.concat({ says("about text", 1200), says("tagline", 300), says("footer", 200),
                                        says("description", 160), says("headline", 90), says("title", 60),
                                        says("address", 200), says("hours", 300) }, "\n"))
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "needs_person", "never awaiting approval")
    t.match(tk.needs_person_reason, "quality gate")
    t.match(tk.needs_person_reason, "over its 30720%-byte budget with the change: the .*about.* section%(s%) would be left out")
    t.eq(tk.proposed_site_id, wm.null, "nothing proposed")
    t.eq(proposed_rows(who), 0)
    t.eq(one("SELECT version FROM generated_sites WHERE id = $1", who.site_id).version, 1)
    t.eq(one("SELECT count(*)::int AS n FROM jobs WHERE kind = 'ticket_email' AND payload->>'kind' = 'ready'").n, 0,
        "the customer is not told a change is ready")
end

function T.a_structural_change_goes_back_to_the_architect_once(t)
    setup(t)
    -- The cheap checks only: what the benchmark runs (tickets.screenshots off).
    t.config("tickets", { screenshots = false })
    local feedback = {}
    local run_agent = llm.run_agent
    llm.run_agent = function(agent, ctx, opts)
        if agent == "architect" then
            feedback[#feedback + 1] = ctx.feedback or false
        end
        return run_agent(agent, ctx, opts)
    end
    t.defer(function() llm.run_agent = run_agent end)
    -- The architect's first page is over the limit, its second is not.
    local pad = "<!--" .. ("x"):rep(31000) .. "-->"
    local who = live_site("Rivera Plumbing", { drop = { "faq" } })
    local who2 = live_site("Lopez Plumbing", { drop = { "faq" } })
    wrap_render(t, function(html, info, calls)
        return calls == 1 and html .. pad or html, info
    end)
    local tk = file(who, "Add a FAQ section.")
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "awaiting_approval", tostring(tk.needs_person_reason))
    t.eq(#feedback, 2, "the architect asked twice")
    t.eq(feedback[1], false, "first without feedback")
    t.ok(type(feedback[2]) == "table" and tostring(feedback[2][1]):find("over the 30720%-byte limit"),
        "then told what failed")
    local p = one("SELECT * FROM generated_sites WHERE id = $1", tk.proposed_site_id)
    t.ok(#p.html_content <= 30720, "the second page is proposed")
    t.eq(p.screenshot_desktop_url, wm.null, "no pictures with tickets.screenshots off")

    -- Failing twice: a person, with the failures; never a third build.
    wrap_render(t, function(html, info) return html .. pad, info end)
    feedback = {}
    tk = file(who2, "Add a FAQ section.")
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "needs_person")
    t.match(tk.needs_person_reason, "over the 30720%-byte limit")
    t.eq(#feedback, 2)
    t.eq(proposed_rows(who2), 0)
end

function T.a_simple_change_that_fails_is_not_rebuilt(t)
    setup(t)
    t.config("tickets", { screenshots = false })
    local who = live_site("Rivera Plumbing")
    wrap_render(t, function(html, info) return html .. "<!--" .. ("x"):rep(31000) .. "-->", info end)
    local tk = file(who, 'Change the headline to "Same-day plumbing in Austin"')
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "needs_person")
    t.match(tk.needs_person_reason, "the changed page fails the quality gate: the page is %d+ bytes")
    t.eq(one("SELECT count(*)::int AS n FROM llm_calls WHERE agent = 'architect'").n, 0)
    t.eq(proposed_rows(who), 0)
end

-- ---- in Chromium ----------------------------------------------------------------------------

function T.a_page_loading_another_origin_is_refused(t)
    setup(t)
    need_chromium(t)
    local who = live_site("Rivera Plumbing")
    -- What a renderer or sanitiser bug would let through: the gate sees it.
    wrap_render(t, function(html, info)
        return (html:gsub("</main>", '<img src="https://cdn.example.net/pixel.png" alt="">%0', 1)), info
    end)
    local tk = file(who, 'Change the headline to "Same-day plumbing in Austin"')
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "needs_person")
    -- (Chromium's CSP stops the request; its console error names it.)
    t.match(tk.needs_person_reason, "the changed page fails the quality gate: .*https://cdn%.example%.net/pixel%.png")
    t.eq(tk.proposed_site_id, wm.null)
    t.eq(proposed_rows(who), 0)
    -- The pictures the gate took of the refused page are never shown: gone.
    local left = {}
    for _, f in ipairs(wm.fs.list_dir(var .. "/screenshots/" .. who.site_id) or {}) do
        left[#left + 1] = f
    end
    t.eq(left, {}, "no pictures left of the refused page")
end

function T.a_passing_proposal_keeps_its_pictures_and_shows_them(t)
    setup(t)
    need_chromium(t)
    local who = live_site("Rivera Plumbing")
    -- The live version's own picture (the screenshot stage took it when it went live).
    local live = assert(screenshot.photograph({ id = who.site_id, subdomain = who.subdomain }, who.html))
    assert(wm.db.query("UPDATE generated_sites SET screenshot_desktop_url = $2 WHERE id = $1", who.site_id,
        live.urls.desktop))
    local tk = file(who, 'Change the headline to "Same-day plumbing in Austin"')
    t.match(interpret(tk.id), "^outcome%.done")
    tk = tickets.get(tk.id)
    t.eq(tk.status, "awaiting_approval", tostring(tk.needs_person_reason))
    local p = one("SELECT * FROM generated_sites WHERE id = $1", tk.proposed_site_id)
    t.eq(p.status, "proposed")
    local base = "http://127.0.0.1:" .. port .. "/screenshots/" .. who.site_id .. "/"
    for _, col in ipairs { "screenshot_desktop_url", "screenshot_mobile_url", "screenshot_thumb_url" } do
        t.eq(p[col]:sub(1, #base), base, col)
        local file_name = p[col]:sub(#base + 1)
        local png = wm.fs.read_file(var .. "/screenshots/" .. who.site_id .. "/" .. file_name)
        t.ok(png and png:sub(1, 8) == "\137PNG\r\n\26\n", col .. " on disk")
    end
    t.ok(p.load_time_ms ~= wm.null and p.quality_checked_at ~= wm.null, "checked")
    t.ne(p.screenshot_desktop_url, live.urls.desktop, "a picture of the changed page")
    local res = get(p.screenshot_desktop_url:sub(#("http://127.0.0.1:" .. port) + 1))
    t.eq(res.status, 200)
    t.eq(web.header(res, "content-type"), "image/png")

    local before_path = live.urls.desktop:sub(#("http://127.0.0.1:" .. port) + 1)
    local after_path = p.screenshot_desktop_url:sub(#("http://127.0.0.1:" .. port) + 1)
    -- The portal: both desktop pictures, as same-origin paths its CSP allows, and the text diff.
    res = get("/portal/support/" .. tk.id, { Cookie = who.cookie })
    t.eq(res.status, 200)
    t.match(web.header(res, "content-security-policy"), "img%-src 'self'")
    local imgs = {}
    for src in res.body:gmatch('<img src="([^"]+)"') do
        imgs[#imgs + 1] = src
    end
    t.eq(#imgs, 2)
    t.eq(imgs[1], before_path)
    t.eq(imgs[2], after_path)
    t.match(res.body, "Same%-day plumbing in Austin", "the text diff stays")

    -- The dashboard: the same two, side by side in its grid.
    web.accounts(PASSWORD)
    local token = web.admin_login(t, port, "viewer", PASSWORD)
    res = web.request(port, "/admin/tickets/" .. tk.id, { admin = token })
    t.eq(res.status, 200)
    t.match(web.header(res, "content-security-policy"), "img%-src 'self'")
    imgs = {}
    for src in res.body:gmatch('<img src="([^"]+)"') do
        imgs[#imgs + 1] = src
    end
    t.eq(#imgs, 2)
    t.eq(imgs[1], before_path)
    t.eq(imgs[2], after_path)
    t.match(res.body, 'class="site%-grid"')
    t.match(res.body, "Same%-day plumbing in Austin")

    -- Approved, the proposal's row is archived with its pictures; the live
    -- version is photographed again by the screenshot stage.
    assert(wm.db.tx(function() return assert(tickets.approve(tk.id, "customer")) end))
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", p.id).status, "archived")
    t.eq(one("SELECT count(*)::int AS n FROM jobs WHERE kind = 'screenshot'").n, 1)
end

return T
