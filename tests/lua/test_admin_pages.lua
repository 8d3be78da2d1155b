-- The dashboard's Coverage, Sites and Prompts pages through a real wm HTTP
-- server: each renders for a viewer with and without data (the empty
-- state), a viewer gets no edit control and a 403 on the POSTs (nothing
-- changes), an editor's pause/resume/priority/cooldown, regenerate/archive
-- and prompt edits change the rows and write activity with the actor; a
-- prompt edit is a new version beside the old row; hostile names show as
-- text; and lib.textdiff on small cases.
local T = {}

local textdiff = require "lib.textdiff"
local web = dofile(wm.root .. "/tests/lib/web.lua")

local PASSWORD = "correct horse battery"
local HOSTILE = "<img src=x onerror=alert(1)>"
local port
local accounts

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(t)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    t.config("admin", { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 3,
                        login_delay = 1, login_delay_max = 900 })
    port = web.serve(t)
    accounts = web.accounts(PASSWORD)
end

local header = web.header

-- The viewer's and the editor's dashboard sessions: {token, csrf}.
local session = {}

-- A request as `role` (nil: signed out); a form `f` carries the role's
-- CSRF token unless it has one.
local function request(method, path, role, f)
    if f then
        f.csrf = f.csrf or session[role].csrf
    end
    return web.request(port, path, { method = method, admin = role and session[role].token, form = f })
end

local function login(t)
    for _, role in ipairs({ "viewer", "editor" }) do
        local token, csrf = web.admin_login(t, port, role, PASSWORD)
        session[role] = { token = token, csrf = csrf }
    end
end

local function get(t, path, role)
    local res = request("GET", path, role or "viewer")
    t.eq(res.status, 200, path)
    return res.body
end

local function activity(action, entity_id)
    return wm.db.one([[SELECT actor_type, actor_id::text AS actor_id, details FROM activity_log
        WHERE action = $1 AND entity_id = $2 ORDER BY created_at DESC LIMIT 1]], action, entity_id)
end

-- A string as a Lua pattern that matches only itself (ids have '-').
local function lit(s)
    return (s:gsub("%p", "%%%0"))
end

local function count(sql, ...)
    return one("SELECT (" .. sql .. ")::int AS n", ...).n
end

-- Text a page shows: no hostile markup, the name escaped.
local function hostile_is_text(t, body, where)
    t.ok(body:find("&lt;img src=x onerror=alert(1)&gt;", 1, true), "escaped on " .. where)
    t.ok(not body:find("<img src=x", 1, true), "no markup on " .. where)
end

-- ---- lib.textdiff --------------------------------------------------------------------------------

local function render(ops)
    local out = {}
    for _, o in ipairs(ops) do
        out[#out + 1] = o.op .. o.text
    end
    return table.concat(out, " ")
end

function T.textdiff_finds_the_longest_common_lines(t)
    t.eq(render(textdiff.diff("", "")), "")
    t.eq(render(textdiff.diff("a\nb", "a\nb\n")), "=a =b", "a final newline changes nothing")
    t.eq(render(textdiff.diff("", "x\ny")), "+x +y")
    t.eq(render(textdiff.diff("x\ny\n", "")), "-x -y")
    local ops, st = textdiff.diff("a\nb\nc\nd\n", "a\nx\nc\nd\ne\n")
    t.eq(render(ops), "=a -b +x =c =d +e")
    t.eq({ st.added, st.removed, st.same }, { 2, 1, 3 })
    -- The LCS, not a greedy match: moving one line keeps the other three.
    t.eq(render(textdiff.diff({ "1", "2", "3", "4" }, { "2", "3", "4", "1" })), "-1 =2 =3 =4 +1")
    t.eq(render(textdiff.diff("a\r\nb\r\n", "a\nb\n")), "=a =b", "CRLF is a line end")
    -- Past max_cells the middle is replaced whole, head and tail kept.
    t.eq(render(textdiff.diff("h\n1\n2\nt", "h\n2\n1\nt", { max_cells = 1 })), "=h -1 -2 +2 +1 =t")
end

function T.textdiff_hunks_keep_context_around_changes(t)
    local a, b = {}, {}
    for i = 1, 20 do
        a[i], b[i] = tostring(i), tostring(i)
    end
    b[5], b[15] = "five", "fifteen"
    local h = textdiff.hunks(textdiff.diff(a, b), 2)
    t.eq(#h, 2)
    t.eq(render(h[1]), "=3 =4 -5 +five =6 =7")
    t.eq(render(h[2]), "=13 =14 -15 +fifteen =16 =17")
    t.eq(#textdiff.hunks(textdiff.diff(a, a)), 0)
end

function T.textdiff_visible_text_is_what_a_visitor_reads(t)
    local html = [[<!DOCTYPE html><html><head><title>Joe &amp; Sons</title><style>p{color:red}</style>
<script>var x = "<p>not text</p>";</script></head><body><!-- note --><h1>Joe's   <em>Plumbing</em></h1>
<p>Call &#x41;&#66;C &lt;now&gt;&nbsp;today</p><ul><li>One</li><li>Two</li></ul></body></html>]]
    t.eq(textdiff.visible_text(html), "Joe & Sons\nJoe's Plumbing\nCall ABC <now> today\nOne\nTwo")
end

-- ---- Coverage ---------------------------------------------------------------------------------------

local function cell(state, city, industry, status, population)
    return one([[INSERT INTO coverage_grid (state, city, industry, status, population, priority, lead_count)
        VALUES ($1, $2, $3, $4, $5, 0, 3) RETURNING id]], state, city, industry, status or "pending", population or 1000).id
end

function T.coverage_map_table_and_controls_by_role(t)
    setup(t)
    login(t)
    local body = get(t, "/admin/coverage")
    t.match(body, "The grid is empty")
    t.match(body, "wm grid import")
    local ny = cell("NY", "New York", "plumber", "pending", 8804190)
    cell("NY", "New York", "dentist", "completed", 8804190)
    local odd = cell("ZZ", HOSTILE, "baker", "pending", 10)
    local hou = cell("TX", "Houston", "electrician", "paused", 2304580)
    body = get(t, "/admin/coverage")
    t.no_match(body, "The grid is empty")
    -- The map: the outline and one dot per placed city, linking to its cells.
    t.match(body, '<svg viewBox="0 0 960 %d+"')
    local dots = select(2, body:gsub("<circle cx=", ""))
    t.eq(dots, 2 + 10, "New York and Houston on the map (plus ten legend swatches)")
    t.match(body, "New York, NY: 1 pending, 1 completed")
    t.match(body, 'fill="#dc2626"', "Houston's paused dot")
    t.match(body, "Not on the map")
    hostile_is_text(t, body, "/admin/coverage")
    -- Sorting by a whitelisted column; anything else falls back to priority.
    local asc = get(t, "/admin/coverage?sort=population&dir=asc")
    t.ok(asc:find("<td>ZZ</td>", 1, true) < asc:find("Houston</td>", 1, true), "smallest population first")
    local desc = get(t, "/admin/coverage?sort=population&dir=desc")
    t.ok(desc:find("New York</td>", 1, true) < desc:find("<td>ZZ</td>", 1, true), "largest first")
    t.eq(request("GET", "/admin/coverage?sort=1;drop&dir=x", "viewer").status, 200)
    t.match(get(t, "/admin/coverage?status=paused"), "Houston")
    t.no_match(get(t, "/admin/coverage?status=paused"), "New York</td>")
    -- A viewer sees no control and is refused.
    t.no_match(body, 'method="post" action="/admin/coverage')
    local before = count("SELECT count(*) FROM activity_log WHERE entity_type = 'coverage_grid'")
    for _, a in ipairs({ { "pause" }, { "resume" }, { "priority", { priority = "9" } }, { "cooldown", { days = "3" } } }) do
        local target = a[1] == "resume" and hou or ny
        t.eq(request("POST", "/admin/coverage/" .. target .. "/" .. a[1], "viewer", a[2] or {}).status, 403, a[1])
    end
    t.eq(one("SELECT status FROM coverage_grid WHERE id = $1", ny).status, "pending")
    t.eq(one("SELECT status FROM coverage_grid WHERE id = $1", hou).status, "paused")
    t.eq(one("SELECT priority FROM coverage_grid WHERE id = $1", ny).priority, 0)
    t.eq(count("SELECT count(*) FROM activity_log WHERE entity_type = 'coverage_grid'"), before)
    -- An editor has the controls, and each one changes the row with the actor on record.
    t.match(get(t, "/admin/coverage", "editor"), 'action="/admin/coverage/' .. lit(ny) .. '/pause"')
    local ed = accounts.editor.id
    local res = request("POST", "/admin/coverage/" .. ny .. "/pause", "editor", {})
    t.eq(res.status, 303)
    t.match(header(res, "location"), "flash=cell_paused")
    t.eq(one("SELECT status FROM coverage_grid WHERE id = $1", ny).status, "paused")
    t.eq({ activity("grid.paused", ny).actor_type, activity("grid.paused", ny).actor_id }, { "admin", ed })
    t.eq(request("POST", "/admin/coverage/" .. ny .. "/resume", "editor", {}).status, 303)
    t.eq(one("SELECT status FROM coverage_grid WHERE id = $1", ny).status, "pending")
    t.eq(activity("grid.pending", ny).actor_id, ed)
    t.eq(request("POST", "/admin/coverage/" .. ny .. "/priority", "editor", { priority = "7" }).status, 303)
    t.eq(one("SELECT priority FROM coverage_grid WHERE id = $1", ny).priority, 7)
    t.eq(activity("grid.priority", ny).details, { from = 0, to = 7 })
    local refused = request("POST", "/admin/coverage/" .. ny .. "/priority", "editor", { priority = "lots" })
    t.eq(refused.status, 409)
    t.match(refused.body, '<p class="flash err" role="alert">Not changed: ')
    t.match(refused.body, '<a href="/admin/coverage">Back to the coverage grid</a>')
    t.eq(one("SELECT priority FROM coverage_grid WHERE id = $1", ny).priority, 7)
    t.eq(request("POST", "/admin/coverage/" .. ny .. "/cooldown", "editor", { days = "5" }).status, 303)
    local c = one([[SELECT status, extract(epoch FROM cooldown_until - now())::float8 / 86400 AS days
        FROM coverage_grid WHERE id = $1]], ny)
    t.eq(c.status, "cooldown")
    t.near(c.days, 5, 0.01)
    t.eq(activity("grid.cooldown", ny).actor_id, ed)
    -- A paused cell cannot be cooled down: refused, unchanged.
    t.eq(request("POST", "/admin/coverage/" .. hou .. "/cooldown", "editor", { days = "5" }).status, 409)
    t.eq(one("SELECT status FROM coverage_grid WHERE id = $1", hou).status, "paused")
    t.eq(request("POST", "/admin/coverage/" .. odd .. "/pause", "editor", {}).status, 303)
    -- Pages of 100 cells, in the order asked for.
    assert(wm.db.query([[INSERT INTO coverage_grid (state, city, industry, population)
        SELECT 'OH', 'Columbus', 'trade ' || i, 1000 + i FROM generate_series(1, 120) i]]))
    local p1 = get(t, "/admin/coverage?state=OH&sort=population&dir=asc")
    t.match(p1, "Cells 1–100")
    t.match(p1, "trade 1</td>")
    t.match(p1, 'href="/admin/coverage%?state=OH&amp;sort=population&amp;dir=asc&amp;page=2">Next')
    local p2 = get(t, "/admin/coverage?state=OH&sort=population&dir=asc&page=2")
    t.match(p2, "Cells 101–120")
    t.match(p2, "trade 101</td>")
    t.no_match(p2, "trade 100</td>")
end

-- ---- Sites --------------------------------------------------------------------------------------------

local function site(business, subdomain, version, previous, body, status)
    return one([[INSERT INTO generated_sites (business_id, subdomain, html_content, version, previous_version_id, status)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id]], business, subdomain,
        "<!DOCTYPE html><html><head><title>t</title></head><body>" .. body .. "</body></html>", version,
        previous or wm.null, status or "preview").id
end

function T.sites_list_detail_diff_and_controls_by_role(t)
    setup(t)
    login(t)
    t.match(get(t, "/admin/sites"), "No sites yet")
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, city, lead_status) VALUES ('g1', 's1', $1, 'Austin',
        'qualified') RETURNING id]], HOSTILE).id
    local v1 = site(b, "joes", 1, nil, "<h1>Joe's</h1><p>Fast plumbing</p><p>Call us</p>")
    local v2 = site(b, "joes-v2", 2, v1, "<h1>Joe's</h1><p>Friendly plumbing</p><p>Call us</p>")
    assert(wm.db.query("UPDATE generated_sites SET screenshot_desktop_url = $2 WHERE id = $1", v2,
        "http://127.0.0.1:" .. port .. "/screenshots/x.png"))
    local b2 = one([[INSERT INTO businesses (gmb_id, slug, name, lead_status) VALUES ('g2', 's2', 'Bea''s Bakes',
        'qualified') RETURNING id]]).id
    local other = site(b2, "beas", 1, nil, "<p>Bread</p>", "live")
    local list = get(t, "/admin/sites")
    hostile_is_text(t, list, "/admin/sites")
    t.match(list, 'href="/admin/sites/' .. lit(v2) .. '"')
    t.no_match(list, 'href="/admin/sites/' .. lit(v1) .. '"', "only the newest version is listed")
    t.match(list, '<img src="/screenshots/x.png"', "a screenshot on this host, by path")
    t.match(list, "no screenshot yet", "the placeholder for the site without one")
    t.no_match(get(t, "/admin/sites?status=live"), lit(v2))
    t.match(get(t, "/admin/sites?status=live"), lit(other))
    t.match(get(t, "/admin/sites?status=archived"), "No site matches")
    -- The page: the sandboxed frame, versions, the visible-text diff.
    local res = request("GET", "/admin/sites/" .. v2, "viewer")
    t.eq(res.status, 200)
    t.match(header(res, "content-security-policy"), "frame%-src 'self'")
    local page = res.body
    hostile_is_text(t, page, "/admin/sites/:id")
    t.match(page, '<iframe class="site%-frame" sandbox="" src="/admin/sites/' .. lit(v2) .. '/html"')
    t.match(page, '<span class="del">%- Fast plumbing</span>')
    t.match(page, '<span class="add">%+ Friendly plumbing</span>')
    t.match(page, "v1 → v2")
    t.match(get(t, "/admin/sites/" .. v1), "This is the first version")
    local frame = request("GET", "/admin/sites/" .. v2 .. "/html", "viewer")
    t.eq(frame.status, 200)
    t.match(frame.body, "Friendly plumbing")
    t.match(header(frame, "content-security-policy"), "sandbox$")
    t.match(header(frame, "content-security-policy"), "frame%-ancestors 'self'")
    t.no_match(header(frame, "content-security-policy"), "script%-src")
    t.eq(request("GET", "/admin/sites/" .. v2 .. "/html").status, 303, "the stored page needs a login")
    t.eq(request("GET", "/admin/sites/not-a-uuid", "viewer").status, 404)
    -- A viewer: no control, 403, nothing changed.
    t.no_match(page, 'method="post" action="/admin/sites')
    local jobs = count("SELECT count(*) FROM jobs")
    t.eq(request("POST", "/admin/sites/" .. v2 .. "/regenerate", "viewer", {}).status, 403)
    t.eq(request("POST", "/admin/sites/" .. v2 .. "/archive", "viewer", {}).status, 403)
    t.eq(count("SELECT count(*) FROM jobs"), jobs)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", v2).status, "preview")
    t.eq(count("SELECT count(*) FROM activity_log WHERE entity_type = 'site'"), 0)
    -- The version asked for reaches domain.sites.rollback (the one shown now is refused, unchanged).
    res = request("POST", "/admin/sites/" .. v2 .. "/rollback", "editor", { version = "2" })
    t.eq(res.status, 409)
    t.match(res.body, "Not changed: version 2 is the one the site shows now%.")
    t.eq(count("SELECT count(*) FROM activity_log WHERE entity_type = 'site'"), 0)
    -- An editor regenerates (the architect is enqueued for the business) and archives.
    t.match(get(t, "/admin/sites/" .. v2, "editor"), 'action="/admin/sites/' .. lit(v2) .. '/regenerate"')
    res = request("POST", "/admin/sites/" .. v2 .. "/regenerate", "editor", {})
    t.eq(res.status, 303)
    t.match(header(res, "location"), "flash=site_regenerating")
    local job = one("SELECT kind, payload FROM jobs WHERE kind = 'architect'")
    t.eq(job.payload, { business_id = b, regenerate = v2 })
    local a = activity("site.regenerate", v2)
    t.eq({ a.actor_type, a.actor_id }, { "admin", accounts.editor.id })
    t.eq(request("POST", "/admin/sites/" .. v2 .. "/archive", "editor", {}).status, 303)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", v2).status, "archived")
    t.eq(activity("site.archived", v2).actor_id, accounts.editor.id)
    -- Archived: neither again.
    local refused = request("POST", "/admin/sites/" .. v2 .. "/archive", "editor", {})
    t.eq(refused.status, 409)
    t.match(refused.body, '<p class="flash err" role="alert">Not changed: ')
    t.match(refused.body, '<a href="/admin/sites/' .. lit(v2) .. '">Back to the site</a>')
    t.eq(request("POST", "/admin/sites/" .. v2 .. "/regenerate", "editor", {}).status, 409)
    t.no_match(get(t, "/admin/sites/" .. v2, "editor"), 'action="/admin/sites/' .. lit(v2) .. '/regenerate"')
    -- A site the quality gate held can be given up.
    local held = site(b2, "beas-held", 1, nil, "<p>Held back</p>", "held")
    t.eq(request("POST", "/admin/sites/" .. held .. "/archive", "editor", {}).status, 303)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", held).status, "archived")
    -- A change request's proposal is neither archived nor rebuilt from here: its request decides it.
    local proposal = site(b2, "beas--t0123456789ab", 2, other, "<p>Proposed bread</p>", "proposed")
    assert(wm.db.query("UPDATE generated_sites SET proposal = true WHERE id = $1", proposal))
    local shown = get(t, "/admin/sites/" .. proposal, "editor")
    t.match(shown, "change request's proposed page")
    t.no_match(shown, 'action="/admin/sites/' .. lit(proposal) .. '/archive"')
    t.no_match(shown, 'action="/admin/sites/' .. lit(proposal) .. '/regenerate"')
    t.eq(request("POST", "/admin/sites/" .. proposal .. "/archive", "editor", {}).status, 409)
    t.eq(request("POST", "/admin/sites/" .. proposal .. "/regenerate", "editor", {}).status, 409)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", proposal).status, "proposed")
    t.no_match(get(t, "/admin/sites"), lit(proposal), "not listed as a site")
end

-- The quality gate's record on a site's page: a held site's reasons (as text), Lighthouse with its four
-- categories, the load time and the screenshots; an editor releases it to outreach, a viewer cannot.
function T.site_page_shows_the_quality_gate_and_editors_release_a_held_site(t)
    setup(t)
    login(t)
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, contact_status)
        VALUES ('gq', 'sq', 'Quinn''s Quilts', 'q@example.com', 'qualified', 'pending') RETURNING id]]).id
    local held = site(b, "quinns", 1, nil, "<p>Quilts</p>", "held")
    assert(wm.db.query([[UPDATE generated_sites SET quality_attempts = 3, quality_checked_at = now(),
            quality_failures = $2::jsonb, lighthouse_score = 72, load_time_ms = 1234,
            screenshot_desktop_url = '/screenshots/q-desktop.png', screenshot_mobile_url = '/screenshots/q-mobile.png',
            screenshot_thumb_url = '/screenshots/q-thumb.png'
        WHERE id = $1]], held,
        wm.json.array({ "<script>x</script> in the page", "the page is 40000 bytes, over the 30720-byte limit" })))
    assert(wm.db.query([[INSERT INTO lighthouse_runs (site_id, variant, form_factor, performance, accessibility,
            best_practices, seo, score, seconds, report)
        VALUES ($1, 'hero-split', 'mobile', 72, 95, 100, 91, 72, 4.5, '{}'::jsonb)]], held))
    local page = get(t, "/admin/sites/" .. held)
    t.match(page, "<h2>Quality</h2>")
    t.match(page, "Held for review: the gate failed it on 3 builds%.")
    t.ok(page:find("<li>&lt;script&gt;x&lt;/script&gt; in the page</li>", 1, true), "a failure shows as text")
    t.ok(not page:find("<script>x", 1, true), "no markup from a failure")
    t.match(page, "<li>the page is 40000 bytes, over the 30720%-byte limit</li>")
    t.match(page, "Performance 72 · Accessibility 95 · Best practices 100 · SEO 91")
    t.match(page, "1,234 ms")
    t.match(page, '<a href="/screenshots/q%-desktop%.png"><img src="/screenshots/q%-thumb%.png"')
    t.match(page, '<a href="/screenshots/q%-mobile%.png"><img src="/screenshots/q%-mobile%.png"')
    t.no_match(page, "Not checked yet")
    -- A viewer: no button, 403, nothing changed.
    t.no_match(page, 'action="/admin/sites/' .. lit(held) .. '/release"')
    t.eq(request("POST", "/admin/sites/" .. held .. "/release", "viewer", {}).status, 403)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", held).status, "held")
    t.eq(count("SELECT count(*) FROM activity_log WHERE entity_type = 'site'"), 0)
    -- An editor releases it: preview (it may be emailed), compose is next, the activity is the editor's.
    t.match(get(t, "/admin/sites/" .. held, "editor"), 'action="/admin/sites/' .. lit(held) .. '/release"')
    local res = request("POST", "/admin/sites/" .. held .. "/release", "editor", {})
    t.eq(res.status, 303)
    t.eq(header(res, "location"), "/admin/sites/" .. held)
    t.eq(one("SELECT status FROM generated_sites WHERE id = $1", held).status, "preview")
    local a = activity("site.released", held)
    t.eq({ a.actor_type, a.actor_id }, { "admin", accounts.editor.id })
    t.eq(count("SELECT count(*) FROM jobs WHERE kind = 'compose' AND payload->>'business_id' = $1", b), 1)
    local after = get(t, "/admin/sites/" .. held, "editor")
    t.match(after, "Released to outreach by a person over the gate&#39;s reasons")
    t.no_match(after, 'action="/admin/sites/' .. lit(held) .. '/release"')
    -- Not held (any more, or never): 409 with the reason, nothing changed.
    local other = site(b, "quinns-2", 1, nil, "<p>Other</p>", "draft")
    for _, id in ipairs({ held, other }) do
        local before = count("SELECT count(*) FROM activity_log")
        local jobs = count("SELECT count(*) FROM jobs")
        local status = one("SELECT status FROM generated_sites WHERE id = $1", id).status
        local refused = request("POST", "/admin/sites/" .. id .. "/release", "editor", {})
        t.eq(refused.status, 409)
        t.match(refused.body, "Not changed: the site is not held%.")
        t.match(refused.body, '<a href="/admin/sites/' .. lit(id) .. '">Back to the site</a>')
        t.eq(one("SELECT status FROM generated_sites WHERE id = $1", id).status, status)
        t.eq(count("SELECT count(*) FROM activity_log"), before)
        t.eq(count("SELECT count(*) FROM jobs"), jobs)
    end
    t.eq(request("POST", "/admin/sites/not-a-uuid/release", "editor", {}).status, 404)
end

function T.site_page_says_a_site_was_not_checked_yet(t)
    setup(t)
    login(t)
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, lead_status) VALUES ('gn', 'sn', 'Nell''s Nails',
        'qualified') RETURNING id]]).id
    local id = site(b, "nells", 1, nil, "<p>Nails</p>", "draft")
    local page = get(t, "/admin/sites/" .. id, "editor")
    t.match(page, "Not checked yet: the quality gate judges this page once its screenshot is taken%.")
    t.no_match(page, "What the gate found")
    t.no_match(page, "Builds judged")
    t.no_match(page, 'action="/admin/sites/' .. lit(id) .. '/release"', "a draft is not released")
end

function T.sites_list_pages_by_keyset(t)
    setup(t)
    login(t)
    -- 60 businesses with one site each and one with two versions, all made in the same second:
    -- ties on created_at are broken by id, and only the newest version is listed.
    assert(wm.db.query([[WITH b AS (INSERT INTO businesses (gmb_id, slug, name)
            SELECT 'p' || i, 'p' || i, 'Page ' || i FROM generate_series(1, 60) i RETURNING id)
        INSERT INTO generated_sites (business_id, subdomain, html_content, version, status, created_at)
        SELECT id, 'p-' || id, '<p>x</p>', 1, 'preview', '2026-01-01 00:00:00' FROM b]]))
    local b = one("INSERT INTO businesses (gmb_id, slug, name) VALUES ('q', 'q', 'Two') RETURNING id").id
    local v1 = site(b, "two", 1, nil, "<p>one</p>")
    local v2 = site(b, "two-v2", 2, v1, "<p>two</p>")
    local seen, pages, path = {}, 0, "/admin/sites"
    while path do
        pages = pages + 1
        local body = get(t, path)
        for id in body:gmatch('<div><a href="/admin/sites/([%x-]+)">') do
            t.ok(not seen[id], "listed once: " .. id)
            seen[id] = true
            seen[#seen + 1] = id
        end
        path = body:match('<a class="button alt" href="([^"]+)">Older sites')
        path = path and path:gsub("&amp;", "&")
    end
    t.eq(pages, 2)
    t.eq(#seen, 61, "every newest version once")
    t.ok(seen[v2] and not seen[v1], "the newest version only")
    -- A filter is kept on the next page; a stale cursor shows the first page.
    local first = get(t, "/admin/sites?q=Page")
    t.match(first, 'href="/admin/sites%?q=Page&amp;cursor=[%w_-]+">Older sites')
    t.match(get(t, "/admin/sites?cursor=bm90LWEtY3Vyc29y"), "Older sites")
end

-- ---- Prompts ------------------------------------------------------------------------------------------

function T.prompts_versions_drift_and_edits_by_role(t)
    setup(t)
    login(t)
    t.match(get(t, "/admin/prompts"), "No prompts in the database yet")
    local prompts = require "lib.prompts"
    assert(prompts.sync())
    local list = get(t, "/admin/prompts")
    for _, agent in ipairs(prompts.AGENTS) do
        t.match(list, "<h2>" .. agent .. " <small>template v1")
    end
    t.no_match(list, "differs from the repository")
    local p = one([[SELECT id, agent_name, section_name, version, content, weight FROM prompt_settings
        WHERE is_active ORDER BY agent_name, section_name LIMIT 1]])
    local settings = count("SELECT count(*) FROM prompt_settings")
    -- A viewer reads the text, has no form, and is refused.
    local page = get(t, "/admin/prompts/" .. p.id)
    t.match(page, "as in the repository")
    t.no_match(page, "<textarea")
    t.no_match(page, 'method="post" action="/admin/prompts')
    t.eq(request("POST", "/admin/prompts/" .. p.id, "viewer", { content = "hacked" }).status, 403)
    t.eq(request("POST", "/admin/prompts/" .. p.id .. "/weight", "viewer", { weight = "1" }).status, 403)
    t.eq(request("POST", "/admin/prompts/" .. p.id .. "/active", "viewer", { active = "0" }).status, 403)
    t.eq(count("SELECT count(*) FROM prompt_settings"), settings)
    t.eq(one("SELECT is_active, weight FROM prompt_settings WHERE id = $1", p.id), { is_active = true, weight = p.weight })
    -- An editor's edit is a new version; the old row stays as it was, inactive.
    t.match(get(t, "/admin/prompts/" .. p.id, "editor"), "<textarea")
    local text = p.content .. "\nAlso: " .. HOSTILE
    local res = request("POST", "/admin/prompts/" .. p.id, "editor", { content = text })
    t.eq(res.status, 303)
    local new = one([[SELECT id, version, is_active, content, weight, created_by::text AS created_by FROM prompt_settings
        WHERE agent_name = $1 AND section_name = $2 ORDER BY version DESC LIMIT 1]], p.agent_name, p.section_name)
    t.eq(header(res, "location"), "/admin/prompts/" .. new.id .. "?flash=prompt_saved")
    t.eq({ new.version, new.is_active, new.content, new.weight, new.created_by },
         { p.version + 1, true, text, p.weight, accounts.editor.id })
    t.eq(one("SELECT content, version, is_active FROM prompt_settings WHERE id = $1", p.id),
         { content = p.content, version = p.version, is_active = false })
    local a = activity("prompt.edited", new.id)
    t.eq({ a.actor_type, a.actor_id, a.details.from_id }, { "admin", accounts.editor.id, p.id })
    -- The edit is drift, shown as a diff against the repository (as text).
    page = get(t, "/admin/prompts/" .. new.id)
    t.match(page, "differs from the repository")
    t.match(page, '<span class="add">%+ Also: &lt;img src=x onerror=alert%(1%)&gt;</span>')
    t.ok(not page:find("<img src=x", 1, true))
    t.match(get(t, "/admin/prompts"), "differs from the repository")
    t.no_match(get(t, "/admin/prompts"), lit('href="/admin/prompts/' .. p.id), "the old version is listed only with ?all=1")
    t.match(get(t, "/admin/prompts?all=1"), 'href="/admin/prompts/' .. lit(p.id) .. '"')
    -- Saving the same text again makes nothing.
    local refused = request("POST", "/admin/prompts/" .. new.id, "editor", { content = text })
    t.eq(refused.status, 409)
    t.match(refused.body, '<p class="flash err" role="alert">Not changed: ')
    t.match(refused.body, '<a href="/admin/prompts/' .. lit(new.id) .. '">Back to the prompt</a>')
    t.eq(count("SELECT count(*) FROM prompt_settings"), settings + 1)
    -- Weight and activation (the A/B controls).
    t.eq(request("POST", "/admin/prompts/" .. new.id .. "/weight", "editor", { weight = "25" }).status, 303)
    t.eq(one("SELECT weight FROM prompt_settings WHERE id = $1", new.id).weight, 25)
    t.eq(activity("prompt.weight", new.id).details, { from = p.weight, to = 25 })
    t.eq(request("POST", "/admin/prompts/" .. new.id .. "/weight", "editor", { weight = "-1" }).status, 409)
    t.eq(request("POST", "/admin/prompts/" .. p.id .. "/active", "editor", { active = "1" }).status, 303)
    t.eq(one("SELECT is_active FROM prompt_settings WHERE id = $1", p.id).is_active, true)
    t.eq(activity("prompt.activated", p.id).actor_id, accounts.editor.id)
    list = get(t, "/admin/prompts")
    t.match(list, "%(20%.0%%%)", "the old version's share of its section: 100 of 125")
    -- A sync makes the database the repository's again.
    assert(prompts.sync())
    t.no_match(get(t, "/admin/prompts"), "differs from the repository")
end

-- Regenerate end to end: the architect's job from the dashboard makes a
-- fresh call and the site's next version; the row keeps its id, address,
-- claim token and status, the page it had is kept archived as version 1.
function T.regenerate_makes_the_next_version_and_keeps_the_old_page(t)
    setup(t)
    login(t)
    local llm, pipeline = require "lib.llm", require "lib.pipeline"
    assert(require("lib.prompts").sync())
    local b = one([[INSERT INTO businesses (gmb_id, name, slug, category, city, state, phone, rating, review_count,
            email, lead_status, reviews_data)
        VALUES ('gr', 'Joe''s Plumbing', 'joes-plumbing', 'plumber', 'Austin', 'TX', '(512) 555-0100', 4.8, 40,
            'owner@example.com', 'qualified', '[]'::jsonb) RETURNING *]])
    local ctx = { business = b, reviews = {} }
    for _, agent in ipairs({ "analyst", "concept", "director" }) do
        local out = assert(llm.run_agent(agent, ctx, { job_id = 1 }))
        ctx[agent] = out
        assert(pipeline.save_agent_output(b.id, agent, out, "p"))
    end
    local architect = require "stages.architect"
    t.ok(architect.run({ id = 1, attempt = 1, payload = { business_id = b.id } }))
    local v1 = one("SELECT id, subdomain, claim_token, html_content FROM generated_sites WHERE business_id = $1", b.id)
    assert(wm.db.query("UPDATE generated_sites SET status = 'preview' WHERE id = $1", v1.id))
    -- A second architect job without `regenerate` changes nothing (as before).
    t.ok(architect.run({ id = 2, attempt = 1, payload = { business_id = b.id } }))
    t.eq(count("SELECT count(*) FROM generated_sites"), 1)
    t.eq(request("POST", "/admin/sites/" .. v1.id .. "/regenerate", "editor", {}).status, 303)
    local job = one("SELECT id, payload FROM jobs WHERE payload->>'regenerate' = $1", v1.id)
    local calls = count("SELECT count(*) FROM llm_calls WHERE agent = 'architect'")
    t.ok(architect.run({ id = job.id, attempt = 1, payload = job.payload }))
    t.eq(count("SELECT count(*) FROM llm_calls WHERE agent = 'architect'"), calls + 1, "a fresh call")
    local cur = one([[SELECT id, subdomain, claim_token, status, version, previous_version_id::text AS prev
        FROM generated_sites WHERE id = $1]], v1.id)
    t.eq({ cur.subdomain, cur.claim_token, cur.status, cur.version }, { v1.subdomain, v1.claim_token, "preview", 2 })
    local old = one("SELECT subdomain, status, version, html_content, claim_token FROM generated_sites WHERE id = $1",
        cur.prev)
    t.eq({ old.subdomain, old.status, old.version, old.html_content, old.claim_token },
         { v1.subdomain .. "--v1", "archived", 1, v1.html_content, wm.null })
    t.eq(activity("site.version", v1.id).details.version, 2)
    -- The dashboard lists the site once and shows both versions.
    local list = get(t, "/admin/sites")
    t.eq(select(2, list:gsub('<li class="card">', "")), 1)
    local page = get(t, "/admin/sites/" .. v1.id)
    t.match(page, "v1 → v2")
    t.match(page, 'href="/admin/sites/' .. lit(cur.prev) .. '"')
end

return T
