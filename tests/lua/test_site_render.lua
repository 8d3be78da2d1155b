-- sites/render.lua: one safe, self-contained, accessible page.
local render = require "sites.render"
local palette = require "sites.palette"
local design = require "sites.design"
local html = require "lib.html"
local text = require "lib.text"

local T = {}

local RLO = "\226\128\174"
local NAME = [[Joe's "Best" <Plumbing> & Sons </title></script><script>alert(1)</script>]] .. RLO .. " 😀"

local function sample(over)
    local input = {
        business = {
            name = "Joe's Plumbing & Sons", slug = "joes-plumbing", phone = "(512) 555-0100",
            email = "joe@example.com", address = "123 Main St", city = "Austin", state = "TX",
            zip_code = "78701", latitude = 30.2672, longitude = -97.7431, category = "plumber",
            rating = 4.8, review_count = 127,
        },
        dna = {
            archetype = "caregiver", angle = "fast and friendly", visual_theme = "clean waves",
            tone_of_voice = "warm",
            design_system = {
                palette = { primary = "#0b7285", secondary = "#495057", accent = "#fab005",
                    background = "#ffffff", surface = "#f1f3f5", text = "#1b1b1b" },
                fonts = { heading = "'Playfair Display', Georgia, serif", body = "system-ui, sans-serif" },
                radius = "12px", density = "comfortable",
            },
        },
        brief = { layout = "split", sections = { "services", "about" }, hero = { headline_idea = "Fixed today",
            visual_motif = "waves" }, tone_notes = "plain", ["do"] = { "be clear" }, dont = { "hype" } },
        content = {
            title = "Joe's Plumbing — Austin plumber",
            meta_description = "Family plumbers in Austin, TX.",
            hero = { headline = "Leaks fixed today", subheadline = "Family owned since 1998", cta_label = "Call Joe" },
            sections = {
                { kind = "services", heading = "What we do", items = {
                    { name = "Leak repair", description = "We find and fix leaks." },
                    { name = "Water heaters", description = "Install and repair." } } },
                { kind = "about", heading = "About us", body = "We are a family business.\n\nSince 1998." },
                { kind = "reviews", heading = "Reviews", items = { { author = "Ann", rating = 5, text = "Great!" } } },
                { kind = "process", heading = "How it works", steps = { { title = "Call", description = "Ring us." },
                    { title = "Fix", description = "We fix it." } } },
                { kind = "faq", heading = "FAQ", items = { { question = "Weekends?", answer = "Yes." } } },
                { kind = "contact", heading = "Contact", body = "Call any time." },
                { kind = "html", html = "<h2>Extras</h2><p>We also <strong>unclog</strong> drains.</p>" },
            },
            footer_note = "Licensed and insured.",
        },
        preview = { banner = true, claim_url = "/claim/tok123" },
        url = "http://joes-plumbing.localhost:8080/",
    }
    if over then
        over(input)
    end
    return input
end

local function must_render(t, input)
    local page, info = render.render(input)
    if not page then
        t.fail("render failed: " .. tostring(info))
    end
    return page, info
end

-- The page without the contents of <style> and <script> (their text is not markup).
local function markup_only(page)
    return (page:gsub("(<style>).-(</style>)", "%1%2"):gsub("(<script[^>]*>).-(</script>)", "%1%2"))
end

local function tags(page)
    local out = {}
    for tag in markup_only(page):gmatch("<[^>]*>") do
        out[#out + 1] = tag
    end
    return out
end

local function count(s, needle)
    local n, pos = 0, 1
    while true do
        local i = s:find(needle, pos, true)
        if not i then
            return n
        end
        n, pos = n + 1, i + 1
    end
end

local function json_ld(page)
    local src = page:match('<script type="application/ld%+json">(.-)</script>')
    return src and wm.json.decode(src), src
end

local function css_var(page, name)
    return page:match(":root{[^}]*%-%-" .. name:gsub("%-", "%%-") .. ":([^;}]+)")
end

local function assert_safe(t, page)
    t.eq(count(page:lower(), "<script"), 1, "exactly one script element (JSON-LD)")
    t.match(page, '<script type="application/ld%+json">')
    t.eq(count(page:lower(), "</script"), 1, "one </script")
    t.eq(count(page:lower(), "</title"), 1, "one </title")
    t.eq(count(page:lower(), "</style"), 1, "one </style")
    t.ok(not page:find(RLO, 1, true), "no U+202E")
    for _, tag in ipairs(tags(page)) do
        local low = tag:lower()
        -- URL-bearing attributes: only safe schemes (text attributes such as
        -- a meta description may quote anything, escaped).
        for an, av in low:gmatch('%s([%w:%-]+)="([^"]*)"') do
            if an == "href" or an == "src" or an == "action" or an == "formaction" or an == "xlink:href"
                or an == "poster" or an == "background" or an == "srcset" or an == "data" then
                t.ok(not av:find("javascript:", 1, true) and not av:find("vbscript:", 1, true),
                    "script URL in " .. tag)
                t.ok(an == "href", "URL attribute other than href: " .. tag)
            end
        end
        -- The one data: URL is the inline icon (an SVG: no request, no script).
        t.ok(not low:find("data:", 1, true) or (low:match('^<link rel="icon" href="data:image/svg%+xml,[^"]*">$')
            and not low:find("script", 1, true)), "data: in " .. tag)
        t.ok(not low:find("%son[%a]+%s*="), "event handler in " .. tag)
        t.ok(not low:find("%sstyle%s*="), "style attribute in " .. tag)
        t.ok(not low:find("%ssrc%s*="), "src attribute (a request) in " .. tag)
        t.ok(not low:match("^<img") and not low:match("^<iframe") and not low:match("^<object")
            and not low:match("^<embed"), "no embedded resources: " .. tag)
        if low:match("^<link") then
            t.match(tag, '^<link rel="icon" href="data:image/svg%+xml,[^"]*">$', "the only link element")
        end
    end
    local css = page:match("<style>(.-)</style>")
    t.ok(css and not css:find("url(", 1, true) and not css:find("@import", 1, true), "no url()/@import in CSS")
    t.ok(not css:find("<", 1, true), "no < in CSS")
end

function T.renders_a_complete_page(t)
    local page, info = must_render(t, sample())
    t.match(page, "^<!DOCTYPE html>\n<html lang=\"en\">")
    t.match(page, '<meta charset="utf%-8">')
    t.match(page, '<meta name="viewport" content="width=device%-width, initial%-scale=1">')
    t.match(page, "<title>Joe&#39;s Plumbing — Austin plumber</title>")
    t.match(page, '<meta name="description" content="Family plumbers in Austin, TX%.">')
    for _, lm in ipairs({ "<header", "<nav", "<main", "<footer" }) do
        t.eq(count(page, lm), 1, "one " .. lm)
    end
    t.eq(count(page, "<h1"), 1, "one h1")
    t.match(page, '<a [^>]*href="tel:%+15125550100"')
    t.match(page, '<a [^>]*href="mailto:joe@example%.com"')
    t.ok(#page <= render.MAX_BYTES, "size")
    t.eq(info.bytes, #page)
    t.eq(info.dropped, {})
    assert_safe(t, page)
    -- Every section made it, in order, with h2 headings after the h1.
    local levels = {}
    for l in page:gmatch("<h(%d)") do
        levels[#levels + 1] = tonumber(l)
    end
    t.eq(levels[1], 1)
    for i = 2, #levels do
        t.ok(levels[i] <= levels[i - 1] + 1, "heading order: h" .. levels[i - 1] .. " then h" .. levels[i])
        t.ok(levels[i] >= 2, "only one h1")
    end
    for _, id in ipairs({ "services", "about", "reviews", "process", "faq", "contact", "more" }) do
        t.match(page, 'id="' .. id .. '"')
    end
    t.match(page, "<details><summary>Weekends%?</summary>")
    t.match(page, "<h2>Extras</h2><p>We also <strong>unclog</strong> drains%.</p>")
end

function T.json_ld_is_a_local_business(t)
    local page = must_render(t, sample())
    local ld = json_ld(page)
    t.ok(ld, "JSON-LD parses")
    t.eq(ld["@context"], "https://schema.org")
    t.eq(ld["@type"], "LocalBusiness")
    t.eq(ld.name, "Joe's Plumbing & Sons")
    t.eq(ld.url, "http://joes-plumbing.localhost:8080/")
    t.eq(ld.telephone, "+15125550100")
    t.eq(ld.address, { ["@type"] = "PostalAddress", streetAddress = "123 Main St", addressLocality = "Austin",
        addressRegion = "TX", postalCode = "78701" })
    t.near(ld.geo.latitude, 30.2672, 1e-9)
    t.near(ld.geo.longitude, -97.7431, 1e-9)
    t.eq(ld.geo["@type"], "GeoCoordinates")
    t.eq(ld.aggregateRating.ratingValue, 4.8)
    t.eq(ld.aggregateRating.reviewCount, 127)
    t.eq(ld.aggregateRating["@type"], "AggregateRating")
end

function T.no_external_urls_at_all(t)
    local page = must_render(t, sample())
    -- (The SVG namespace names the icon's language; nothing fetches it.)
    local allowed = { ["https://schema.org"] = true, ["http://joes-plumbing.localhost:8080/"] = true,
                      ["http://www.w3.org/2000/svg%27"] = true }
    for u in page:gmatch("https?://[^\"'<>%s\\]*") do
        t.ok(allowed[u], "unexpected URL in page: " .. u)
    end
    -- And no protocol-relative ones.
    for _, tag in ipairs(tags(page)) do
        t.ok(not tag:find('="//', 1, true), "protocol-relative URL in " .. tag)
    end
end

function T.hostile_strings_in_every_slot_stay_text(t)
    local n = 0
    local slots = {}
    local function evil(tag)
        n = n + 1
        local v = "X" .. n .. tag .. " " .. NAME .. " javascript:alert(" .. n .. ") "
        slots[#slots + 1] = v
        return v
    end
    local input = sample(function(i)
        local b = i.business
        b.name = NAME
        b.address, b.city, b.state, b.zip_code, b.category = evil("addr"), evil("city"), evil("st"), evil("zip"),
            evil("cat")
        b.phone = "<script>alert(1)</script>"
        b.email = "x@y.com\"><script>alert(1)</script>"
        i.content.title = nil
        i.content.meta_description = evil("meta")
        i.content.hero = { headline = evil("hl"), subheadline = evil("sub"), cta_label = evil("cta") }
        i.content.footer_note = evil("foot")
        i.content.sections = {
            { kind = "services", heading = evil("svh"), intro = evil("svi"),
                items = { { name = evil("svn"), description = evil("svd") } } },
            { kind = "about", heading = evil("abh"), body = evil("abb") },
            { kind = "reviews", heading = evil("rvh"), items = { { author = evil("rva"), rating = "5\"><script>",
                text = evil("rvt") } } },
            { kind = "process", heading = evil("prh"), steps = { { title = evil("prt"), description = evil("prd") } } },
            { kind = "faq", heading = evil("fqh"), items = { { question = evil("fqq"), answer = evil("fqa") } } },
            { kind = "contact", heading = evil("cth"), body = evil("ctb") },
            { kind = "html", html = "<p onclick=alert(1)>x</p><script>alert(2)</script><a href='javascript:alert(3)'>j</a>"
                .. "<img src=http://evil.example/x.gif><iframe src=//evil.example></iframe>" },
            { kind = "<script>alert(1)</script>", heading = evil("unknown") },
        }
        i.brief.layout = evil("layout")
        i.dna.visual_theme = evil("theme")
        i.preview.claim_url = "javascript:alert(1)"
        i.url = "javascript:alert(1)"
    end)
    local page, info = must_render(t, input)
    assert_safe(t, page)
    local clean_name = html.clean(NAME)
    -- The name, escaped, in the title, the h1, the banner; intact in JSON-LD.
    t.ok(page:match("<title>(.-)</title>"):find(html.escape(clean_name):sub(1, 40), 1, true), "name in title")
    t.ok(page:match("<h1.-</h1>"):find(html.escape(clean_name), 1, true), "name escaped in h1")
    t.ok(page:match('<aside class="wm%-preview".-</aside>'):find(html.escape(clean_name), 1, true), "name in banner")
    t.eq(json_ld(page).name, clean_name)
    t.ok(not page:find(clean_name, 1, true), "raw name never appears")
    -- Each hostile value is present only escaped (or not at all, when cut).
    for _, v in ipairs(slots) do
        local c = html.clean(v)
        t.ok(not page:find(c, 1, true), "raw value present: " .. c)
    end
    for _, marker in ipairs({ "X1addr", "X6meta", "X7hl", "X10foot", "X11svh", "X13svn", "X15abh", "X17rvh",
        "X20prh", "X23fqh", "X26cth" }) do
        t.ok(page:find(marker, 1, true), "slot rendered: " .. marker)
    end
    -- The bad phone and email produce no links at all.
    t.ok(not page:find('href="tel:', 1, true), "no tel: link for a bad phone")
    t.ok(not page:find('href="mailto:', 1, true), "no mailto: link for a bad email")
    -- A bad claim URL gives the "coming soon" claim, without href.
    t.match(page, '<a class="wm%-claim wm%-claim%-soon" aria%-disabled="true">Claim this site — coming soon</a>')
    t.ok(#info.sanitized >= 1, "html section reported as sanitised")
    t.eq(info.ignored, { "<script>alert(1)</script>" })
    -- The URL was refused, so JSON-LD falls back to the configured pattern.
    t.eq(json_ld(page).url, "http://joes-plumbing.localhost:8080/")
end

function T.long_names_and_emoji(t)
    local long = string.rep("Ñandú 😀 ", 30)         -- 300+ bytes
    local page = must_render(t, sample(function(i)
        i.business.name = long
        i.content.title = nil
    end))
    local title = page:match("<title>(.-)</title>")
    t.ok(#title <= 80, "title cut: " .. #title)
    t.eq(html.clean(title), title, "title is valid UTF-8")
    t.ok(page:find(html.escape(text.clip((long:gsub("%s+$", "")), 300, "…")), 1, true) ~= nil
        or page:find("Ñandú 😀 Ñandú", 1, true) ~= nil, "name present")
end

function T.bad_colours_are_replaced_and_contrast_fixed(t)
    local page = must_render(t, sample(function(i)
        i.dna.design_system.palette = {
            primary = "red", secondary = "#12345g", accent = "#fff",
            background = "#ffffff", surface = "#ffffff", text = "#123456;}</style><script>alert(1)</script>",
        }
    end))
    assert_safe(t, page)
    t.ok(not page:find("red;", 1, true) and not page:find("#12345g", 1, true) and not page:find("#fff;", 1, true))
    for _, v in ipairs({ "primary", "secondary", "accent", "bg", "surface", "text", "muted", "link", "btn-bg",
        "btn-fg" }) do
        t.match(css_var(page, v), "^#%x%x%x%x%x%x$", v)
    end
    -- A low-contrast palette gets fixed.
    local page2 = must_render(t, sample(function(i)
        i.dna.design_system.palette = { primary = "#ffe066", secondary = "#fff3bf", accent = "#ffec99",
            background = "#ffffff", surface = "#fafafa", text = "#cccccc" }
    end))
    local function c(a, b)
        return palette.contrast(css_var(page2, a), css_var(page2, b))
    end
    t.ok(c("text", "bg") >= 4.5, "text/bg " .. c("text", "bg"))
    t.ok(c("text", "surface") >= 4.5, "text/surface")
    t.ok(c("muted", "bg") >= 4.5 and c("muted", "surface") >= 4.5, "muted")
    t.ok(c("link", "bg") >= 4.5 and c("link", "surface") >= 4.5, "link")
    t.ok(c("btn-fg", "btn-bg") >= 4.5, "button")
    t.ok(c("band-fg", "band-1") >= 4.5 and c("band-fg", "band-2") >= 4.5, "band hero")
    -- A dark palette too.
    local page3 = must_render(t, sample(function(i)
        i.dna.design_system.palette = { primary = "#1c1c1c", secondary = "#222222", accent = "#333333",
            background = "#101010", surface = "#181818", text = "#303030" }
    end))
    t.ok(palette.contrast(css_var(page3, "text"), css_var(page3, "bg")) >= 4.5, "dark text/bg")
    t.ok(palette.contrast(css_var(page3, "link"), css_var(page3, "bg")) >= 4.5, "dark link/bg")
    t.ok(palette.contrast(css_var(page3, "btn-fg"), css_var(page3, "btn-bg")) >= 4.5, "dark button")
end

function T.fonts_are_validated(t)
    t.eq(design.font_stack("'Playfair Display', Georgia, serif", "D"), "'Playfair Display', Georgia, serif")
    t.eq(design.font_stack("Inter", "D"), "Inter, sans-serif")
    t.eq(design.font_stack("serif", "D"):match("serif$"), "serif")
    for _, bad in ipairs({ "Arial;}</style><script>alert(1)</script>", "a{b}", "x\\", "'Unclosed, serif",
        "url(http://evil/font.woff)", string.rep("A", 300), "", "Font\n;" }) do
        t.eq(design.font_stack(bad, "D"), "D", bad)
    end
    local page = must_render(t, sample(function(i)
        i.dna.design_system.fonts = { heading = "x;}</style><script>alert(1)</script>", body = "@import url(x)" }
    end))
    assert_safe(t, page)
    t.match(css_var(page, "font-body"), "^system%-ui")
end

function T.preview_banner_variants(t)
    local page = must_render(t, sample())
    t.match(page, '<aside class="wm%-preview" aria%-label="Preview notice">')
    t.match(page, "Preview site made for <strong>Joe&#39;s Plumbing &amp; Sons</strong>")
    t.match(page, '<a class="wm%-claim" href="/claim/tok123">Claim this site</a>')
    t.match(page, '<meta name="robots" content="noindex">')
    local soon = must_render(t, sample(function(i) i.preview.claim_url = nil end))
    t.match(soon, "Claim this site — coming soon")
    t.ok(not soon:find("/claim/", 1, true))
    local live = must_render(t, sample(function(i) i.preview = nil end))
    t.ok(not live:find("<aside", 1, true), "no banner")
    t.ok(not live:find("Claim this site", 1, true), "no claim link")
    t.ok(not live:find("noindex", 1, true), "indexable")
end

function T.size_limit_drops_optional_sections_then_fails(t)
    local input = sample(function(i)
        local items = {}
        for k = 1, 50 do
            items[k] = { name = "Service " .. k .. string.rep(" word", 20), description = string.rep("long text ", 40) }
        end
        local sections = {
            { kind = "services", items = items },
            { kind = "about", body = string.rep("About paragraph text. ", 60) .. "\n\n" .. string.rep("More. ", 150) },
            { kind = "reviews", items = {} },
            { kind = "process", steps = {} },
            { kind = "faq", items = {} },
        }
        for k = 1, 10 do
            sections[3].items[k] = { author = "A" .. k, rating = 5, text = string.rep("great ", 100) }
            sections[4].steps[k] = { title = "Step " .. k, description = string.rep("do this ", 50) }
            sections[5].items[k] = { question = string.rep("why ", 40), answer = string.rep("because ", 90) }
        end
        for k = 1, 5 do
            sections[#sections + 1] = { kind = "html", html = "<p>" .. string.rep("filler <b>text</b> ", 900) .. "</p>" }
        end
        i.content.sections = sections
    end)
    local page, info = must_render(t, input)
    t.ok(#page <= render.MAX_BYTES, "within the limit: " .. #page)
    t.ok(#info.dropped >= 1, "something dropped")
    t.eq(info.dropped[1], "html")
    t.ok(page:find('id="contact"', 1, true), "contact is never dropped")
    assert_safe(t, page)
    local saved = render.MAX_BYTES
    render.MAX_BYTES = 3000
    local ok, p2, err = pcall(render.render, sample())
    render.MAX_BYTES = saved
    t.ok(ok)
    t.eq(p2, nil)
    t.match(err, "^page too large")
end

function T.csp_and_no_script_or_handlers(t)
    t.eq(render.csp(), "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        .. "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    local page = must_render(t, sample())
    t.ok(not page:find("<form", 1, true) and not page:find("<input", 1, true))
    assert_safe(t, page)
end

function T.accepts_json_strings_and_nulls(t)
    local input = sample()
    input.dna = wm.json.encode(input.dna)
    input.brief = wm.json.encode(input.brief)
    input.business.email = wm.null
    input.business.latitude = wm.null
    input.business.rating = "4.5"
    local page = must_render(t, input)
    t.ok(not page:find("mailto:", 1, true))
    t.eq(json_ld(page).geo, nil)
    t.eq(json_ld(page).aggregateRating.ratingValue, 4.5)
    t.match(css_var(page, "primary"), "^#0b7285$")
end

function T.lang_is_validated(t)
    t.match(must_render(t, sample(function(i) i.lang = "es-GT" end)), '<html lang="es%-GT">')
    t.match(must_render(t, sample(function(i) i.lang = '"><script>' end)), '<html lang="en">')
end

function T.errors_and_misuse(t)
    local page, err = render.render(sample(function(i) i.business.name = "  " end))
    t.eq(page, nil)
    t.match(err, "name missing")
    t.ok(not pcall(render.render, "x"), "a non-table raises")
    -- Minimal input works.
    local p = must_render(t, { business = { name = "Solo" } })
    t.match(p, "<h1")
    t.match(p, 'id="contact"')
end

function T.deterministic_under_repetition(t)
    -- The same input renders the same page every time (this also guards
    -- against JIT miscompilation once the code paths are hot).
    local first = must_render(t, sample())
    local hostile = sample(function(i) i.business.name = NAME end)
    local h1 = must_render(t, hostile)
    for _ = 1, 150 do
        t.eq(render.render(sample()), first)
        t.eq(render.render(hostile), h1)
    end
end

return T
