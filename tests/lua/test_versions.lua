-- Site versions and rollback (domain.sites.versions / rollback) through a
-- real wm HTTP server: an earlier version comes back as a new version on
-- top (history kept, the replaced page archived like new_version keeps
-- it), the served site shows it at once (the wm_sites notification), the
-- activity row names who did it; what rollback refuses; the CLI's versions
-- table and rollback; the dashboard's "Restore this version" (editor only,
-- CSRF); the portal's versions page for the customer's own live site
-- (confirm page, CSRF, another customer's site a 404). A page archived
-- before the sale (the preview) is not restored onto a sold site. A
-- rollback brings back what its version was rendered from.
local sites = require "domain.sites"
local web = dofile(wm.root .. "/tests/lib/web.lua")
local support = dofile(wm.root .. "/tests/lib/support.lua")
local T = {}

local PASSWORD = "correct horse battery"
local port

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(t)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    t.config("http", { sites_domain = "localhost" })
    require("lib.site_cache").reset()
    port = web.serve(t)
end

local function page_html(n)
    return "<!DOCTYPE html><html><head><title>Bakery</title></head><body><h1>Page number " .. n .. "</h1></body></html>"
end

local n = 0
-- A live site with versions 1..count (each "Page number k"), bought by a
-- customer with a portal session: {site_id, subdomain, customer_id, cookie}.
local function site_with_versions(count)
    n = n + 1
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, lead_status, website_status)
        VALUES ($1, $1, $2, $3, 'qualified', 'sold') RETURNING id]], "gmb-ver-" .. n, "Bakery " .. n,
        "o" .. n .. "@example.com")
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version,
            screenshot_desktop_url)
        VALUES ($1, $2, $3, 'live', 1, '/screenshots/v1.png') RETURNING id]], b.id, "ver-" .. n, page_html(1))
    assert(require("lib.activity").log("site.generated", "site", s.id, { subdomain = "ver-" .. n }))
    for k = 2, count do
        assert(wm.db.tx(function()
            return sites.new_version(s.id, page_html(k), "prompt " .. k)
        end))
    end
    local c = support.customer(s.id, "Customer " .. n)
    return { site_id = s.id, subdomain = "ver-" .. n, customer_id = c.customer_id, cookie = c.cookie }
end

local form, csrf_of = web.form, web.csrf_of

-- A request to the server; a form is sent with the server's own Origin.
local function request(path, opts)
    opts = opts or {}
    opts.origin = true
    return web.request(port, path, opts)
end

local function served(subdomain)
    return request("/", { headers = { Host = subdomain .. ".localhost:" .. port } })
end

local function current(site_id)
    return one([[SELECT version, html_content, previous_version_id, status, screenshot_desktop_url, builder_prompt,
            rendered_from
        FROM generated_sites WHERE id = $1]], site_id)
end

function T.rollback_serves_an_earlier_version_as_a_new_one_and_keeps_history(t)
    setup(t)
    local s = site_with_versions(3)
    t.match(served(s.subdomain).body, "Page number 3")

    local list = assert(sites.versions(s.site_id))
    t.eq(#list, 3)
    t.eq({ list[1].version, list[2].version, list[3].version }, { 3, 2, 1 }, "newest first")
    t.eq({ list[1].current, list[2].current }, { true, false })
    t.eq({ list[1].action, list[3].action }, { "site.version", "site.generated" })
    t.eq({ list[2].status, list[3].status }, { "archived", "archived" })
    t.eq(list[3].bytes, #page_html(1))

    local res = assert(wm.db.tx(function()
        return assert(sites.rollback(s.site_id, 1, "user"))
    end))
    t.eq({ res.version, res.restored }, { 4, 1 })
    local row = current(s.site_id)
    t.eq(row.version, 4)
    t.eq(row.html_content, page_html(1), "v1's page is the site's page")
    t.eq(row.status, "live", "the status stays")
    t.eq(row.screenshot_desktop_url, "/screenshots/v1.png", "v1's screenshot comes with its page")
    local copy = one("SELECT version, status, html_content, subdomain FROM generated_sites WHERE id = $1",
        row.previous_version_id)
    t.eq({ copy.version, copy.status, copy.html_content }, { 3, "archived", page_html(3) }, "v3 archived, not lost")
    t.eq(copy.subdomain, s.subdomain .. "--v3")
    t.eq(one("SELECT count(*)::int AS n FROM generated_sites WHERE business_id = (SELECT business_id FROM generated_sites WHERE id = $1)",
        s.site_id).n, 4, "versions 1, 2, 3 kept and the row")
    -- The cache is told by the wm_sites trigger: the site shows v1 without waiting for serve_max_age.
    t.wait_for("the restored page served", function()
        return served(s.subdomain).body:find("Page number 1", 1, true)
    end, 5)
    local a = one([[SELECT details, actor_type FROM activity_log WHERE action = 'site.rolled_back' AND entity_id = $1]],
        s.site_id)
    t.eq({ a.details.version, a.details.restored, a.details.previous, a.actor_type },
        { 4, 1, row.previous_version_id, "user" })

    list = assert(sites.versions(s.site_id))
    t.eq(#list, 4)
    t.eq({ list[1].version, list[1].action, list[1].restored }, { 4, "site.rolled_back", 1 })
    -- Rolling back again to the version that was replaced (v3) works the same way.
    res = assert(wm.db.tx(function() return assert(sites.rollback(s.site_id, 3, "user")) end))
    t.eq(res.version, 5)
    t.eq(current(s.site_id).html_content, page_html(3))
    t.eq(current(s.site_id).builder_prompt, "prompt 3")
end

function T.rollback_refuses_what_it_cannot_restore(t)
    setup(t)
    local s = site_with_versions(2)
    local function try(id, version)
        local out = assert(wm.db.tx(function()
            local r, why = sites.rollback(id, version, "user")
            return { r = r, why = why }
        end))
        t.eq(out.r, nil, tostring(version))
        t.ok(type(out.why) == "string" and #out.why > 0, "says why for " .. tostring(version))
        return out.why
    end
    t.match(try(s.site_id, 2), "shows now")
    t.match(try(s.site_id, 7), "no version 7")
    try(s.site_id, 0)
    try(s.site_id, 1.5)
    try(s.site_id, "one")
    local copy = current(s.site_id).previous_version_id
    t.match(try(copy, 1), "archived", "an archived copy is history, not a site")
    try("00000000-0000-0000-0000-000000000000", 1)
    t.eq(current(s.site_id).version, 2, "nothing changed")
    t.eq(one("SELECT count(*)::int AS n FROM activity_log WHERE action = 'site.rolled_back'").n, 0)
    -- Sold after v2: v1's copy holds the preview page and is refused; v2 (live when sold) comes back.
    one("UPDATE generated_sites SET sold_at = now() WHERE id = $1 RETURNING id", s.site_id)
    assert(wm.db.tx(function() return sites.new_version(s.site_id, page_html(3), "prompt 3") end))
    t.match(try(s.site_id, 1), "preview page")
    t.eq(assert(wm.db.tx(function() return assert(sites.rollback(s.site_id, 2, "user")) end)).version, 4)
    t.eq(current(s.site_id).html_content, page_html(2))
    -- An archived site is not brought back by a rollback.
    assert(wm.db.tx(function() return sites.archive_by_operator(s.site_id) end))
    try(s.site_id, 1)
end

function T.cli_lists_versions_and_rolls_back(t)
    setup(t)
    local wm_bin = os.getenv("WM_TEST_WM")
    if not wm_bin then
        t.skip("WM_TEST_WM is not set")
    end
    local s = site_with_versions(3)
    local function cli(...)
        return assert(wm.exec { argv = { wm_bin, "sites", ... }, timeout = 60 })
    end
    local r = cli("versions", s.subdomain)
    t.eq(r.code, 0, r.stderr)
    t.match(r.stdout, "VERSION%s+STATUS%s+CREATED%s+BY / WHY%s+BYTES")
    t.match(r.stdout, "v3%*%s+live%s+[%d-]+ [%d:]+%s+system: new version%s+" .. #page_html(3))
    t.match(r.stdout, "v1%s+archived%s+[%d-]+ [%d:]+%s+system: first build")
    r = cli("rollback", s.site_id, "2")
    t.eq(r.code, 0, r.stderr)
    t.match(r.stdout, "now serves version 2 as v4")
    t.eq(current(s.site_id).html_content, page_html(2))
    r = cli("versions", s.site_id, "--json")
    t.eq(r.code, 0, r.stderr)
    local rows = wm.json.decode(r.stdout)
    t.eq({ #rows, rows[1].version, rows[1].restored, rows[1].actor_type }, { 4, 4, 2, "user" })
    r = cli("rollback", s.site_id, "4")
    t.eq(r.code, 1, "the version shown now")
    t.match(r.stderr, "shows now")
    t.eq(cli("rollback", s.site_id, "two").code, 2, "a usage error")
    t.eq(cli("versions", "no-such-site").code, 1)
    t.eq(current(s.site_id).version, 4)
end

function T.dashboard_restore_button_for_editors_only(t)
    setup(t)
    local s = site_with_versions(2)
    local session = {}
    web.accounts(PASSWORD)
    for _, role in ipairs({ "viewer", "editor" }) do
        local token, csrf, body = web.admin_login(t, port, role, PASSWORD, "/admin/sites/" .. s.site_id)
        session[role] = { cookie = "wm_admin=" .. token, csrf = csrf, body = body }
    end
    t.no_match(session.viewer.body, "Restore this version", "a viewer has no button")
    t.match(session.editor.body, 'action="/admin/sites/' .. s.site_id:gsub("%-", "%%-") .. '/rollback"')
    t.match(session.editor.body, 'name="version" value="1"')
    t.no_match(session.editor.body, 'name="version" value="2"', "no button for the version shown")

    local path = "/admin/sites/" .. s.site_id .. "/rollback"
    t.eq(request(path, { cookie = session.viewer.cookie, form = form { csrf = session.viewer.csrf, version = "1" } }).status,
        403, "a viewer may not")
    t.eq(request(path, { cookie = session.editor.cookie, form = form { csrf = "forged", version = "1" } }).status,
        403, "a wrong CSRF token")
    t.eq(current(s.site_id).version, 2, "nothing changed yet")
    local res = request(path, { cookie = session.editor.cookie, form = form { csrf = session.editor.csrf, version = "1" } })
    t.eq(res.status, 303)
    t.eq({ current(s.site_id).version, current(s.site_id).html_content }, { 3, page_html(1) })
    local editor = one("SELECT id::text AS id FROM admin_users WHERE email = 'editor@example.com'").id
    local a = one([[SELECT actor_type, actor_id::text AS actor_id FROM activity_log
        WHERE action = 'site.rolled_back' AND entity_id = $1]], s.site_id)
    t.eq({ a.actor_type, a.actor_id }, { "admin", editor })
    local after = request(res.headers.location, { cookie = session.editor.cookie })
    t.match(after.body, "served again")
    res = request(path, { cookie = session.editor.cookie, form = form { csrf = session.editor.csrf, version = "3" } })
    t.eq(res.status, 409, "the version shown now")
end

function T.portal_customer_restores_their_own_live_site(t)
    setup(t)
    local s = site_with_versions(3)
    local other = site_with_versions(2)
    local res = request("/portal", { cookie = s.cookie })
    t.match(res.body, 'href="/portal/versions%?site=' .. s.site_id:gsub("%-", "%%-") .. '"', "the account page links it")
    res = request("/portal/versions?site=" .. s.site_id, { cookie = s.cookie })
    t.eq(res.status, 200)
    t.match(res.body, "<td>3</td>.-on your website now")
    t.match(res.body, "restore=1")
    t.no_match(res.body, "restore=3", "the current one is not offered")
    t.eq(request("/portal/versions?site=" .. other.site_id, { cookie = s.cookie }).status, 404,
        "another customer's site")
    t.eq(request("/portal/versions?site=" .. s.site_id).status, 303, "signed out: to the sign-in page")

    local confirm = request("/portal/versions?site=" .. s.site_id .. "&restore=1", { cookie = s.cookie })
    t.match(confirm.body, "Yes, restore version 1")
    local csrf = csrf_of(confirm.body)
    t.eq(request("/portal/versions/restore", { cookie = s.cookie,
        form = form { csrf = "forged", site = s.site_id, version = "1" } }).status, 403)
    t.eq(request("/portal/versions/restore", { cookie = s.cookie,
        form = form { csrf = csrf, site = other.site_id, version = "1" } }).status, 404, "not theirs")
    t.eq(current(other.site_id).version, 2)
    res = request("/portal/versions/restore", { cookie = s.cookie,
        form = form { csrf = csrf, site = s.site_id, version = "1" } })
    t.eq(res.status, 303)
    t.eq({ current(s.site_id).version, current(s.site_id).html_content }, { 4, page_html(1) })
    local a = one([[SELECT actor_type, actor_id::text AS actor_id FROM activity_log
        WHERE action = 'site.rolled_back' AND entity_id = $1]], s.site_id)
    t.eq({ a.actor_type, a.actor_id }, { "customer", s.customer_id })
    local after = request(res.headers.location, { cookie = s.cookie })
    t.match(after.body, "Restored version 1")
    t.match(after.body, "is on your website now")
    t.wait_for("the restored page served", function()
        return served(s.subdomain).body:find("Page number 1", 1, true)
    end, 5)
    res = request("/portal/versions/restore", { cookie = s.cookie,
        form = form { csrf = csrf, site = s.site_id, version = "9" } })
    t.eq(res.status, 409)
    t.match(res.body, "no version 9")
end

-- Each version keeps what it was rendered from (the architect's output, the
-- creative DNA, the business's phone, email and address), and a rollback
-- writes them back with its page, a missing value included.
function T.rollback_brings_back_the_inputs_its_version_was_rendered_from(t)
    setup(t)
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, phone, lead_status, website_status, creative_dna)
        VALUES ('gmb-in', 'gmb-in', 'Bakery In', '(512) 555-0101', 'qualified', 'generating', '{"tone": "one"}')
        RETURNING id]])
    one([[INSERT INTO agent_outputs (business_id, agent, output) VALUES ($1, 'architect', '{"hero": {"headline": "One"}}')
        RETURNING business_id]], b.id)
    local site = assert(wm.db.tx(function()
        return assert(sites.create_draft { business_id = b.id, subdomain = "in-1", html = page_html(1),
                                           builder_prompt = "p1", claim_token = "tok-in" })
    end))
    one("UPDATE generated_sites SET status = 'live', sold_at = now() - interval '1 hour' WHERE id = $1 RETURNING id",
        site.id)
    local v1 = current(site.id).rendered_from
    t.eq({ v1.content.hero.headline, v1.dna.tone, v1.business.phone, v1.business.email },
        { "One", "one", "(512) 555-0101", wm.null }, "recorded when the draft was stored")

    -- The architect's rebuild: new stored inputs, then the new version.
    assert(wm.db.tx(function()
        assert(wm.db.run([[UPDATE agent_outputs SET output = '{"hero": {"headline": "Two"}}' WHERE business_id = $1]], b.id))
        assert(wm.db.run([[UPDATE businesses SET creative_dna = NULL, phone = '(512) 555-0202', email = 'two@example.com'
            WHERE id = $1]], b.id))
        return assert(sites.new_version(site.id, page_html(2), "p2"))
    end))
    local v2 = current(site.id)
    t.eq({ v2.rendered_from.content.hero.headline, v2.rendered_from.dna, v2.rendered_from.business.email },
        { "Two", wm.null, "two@example.com" })
    t.eq(one("SELECT rendered_from FROM generated_sites WHERE id = $1", v2.previous_version_id).rendered_from.content
        .hero.headline, "One", "the archived copy keeps version 1's")

    local r = assert(wm.db.tx(function() return assert(sites.rollback(site.id, 1, "user")) end))
    t.eq({ r.version, r.inputs }, { 3, true })
    local function stored()
        local biz = one("SELECT creative_dna, phone, email FROM businesses WHERE id = $1", b.id)
        local out = one("SELECT output FROM agent_outputs WHERE business_id = $1 AND agent = 'architect'", b.id).output
        return { out.hero.headline, biz.creative_dna ~= wm.null and biz.creative_dna.tone or wm.null, biz.phone, biz.email }
    end
    t.eq(stored(), { "One", "one", "(512) 555-0101", wm.null }, "version 1's inputs, its missing email too")
    t.eq(current(site.id).rendered_from.content.hero.headline, "One")
    t.eq(one([[SELECT details FROM activity_log WHERE action = 'site.rolled_back' AND entity_id = $1]], site.id)
        .details.inputs, true)
    t.eq(sites.inputs_current(site.id), true)
    assert(wm.db.tx(function() return assert(sites.rollback(site.id, 2, "user")) end))
    t.eq(stored(), { "Two", wm.null, "(512) 555-0202", "two@example.com" })

    -- A version recorded before inputs were (none kept): its page alone,
    -- and the stored inputs are not the page's.
    one("UPDATE generated_sites SET rendered_from = NULL WHERE id = $1 RETURNING id", v2.previous_version_id)
    r = assert(wm.db.tx(function() return assert(sites.rollback(site.id, 1, "user")) end))
    t.eq(r.inputs, false)
    t.eq(current(site.id).html_content, page_html(1))
    t.eq(stored(), { "Two", wm.null, "(512) 555-0202", "two@example.com" }, "left as they were")
    t.eq(sites.inputs_current(site.id), false)
end

return T
