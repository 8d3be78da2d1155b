-- wm run tests/browser/render_samples.lua OUTDIR
-- Renders a handful of sites (ordinary ones, the three hero styles, dark and
-- low-contrast palettes, hostile names and LLM HTML, a minimal business and
-- the email) into OUTDIR/*.html for html-validate and the browser checks.
local render = require "sites.render"
local email = require "lib.email"

local USAGE = [[usage: wm run tests/browser/render_samples.lua OUTDIR

Writes sample sites and the email as OUTDIR/*.html for html-validate and the
browser checks (tests/browser/validate.sh).]]
local opts, pos = require("wm.cli").script_args(arg, USAGE)
if not opts then
    return pos
end
local out = pos[1]
if not out then
    io.stderr:write(USAGE, "\n")
    return 2
end
assert(wm.fs.mkdir_p(out))

local EVIL = [[<script>alert("x")</script>"'</title></style></script>javascript:alert(1) ]]
    .. "\226\128\174 😀 <!-- & -->"

local function base()
    return {
        business = {
            name = "Joe's Plumbing & Sons", slug = "joes-plumbing", phone = "+1 512-555-0100",
            email = "joe@example.com", address = "123 Main St", city = "Austin", state = "TX", zip_code = "78701",
            latitude = 30.2672, longitude = -97.7431, category = "plumber", rating = 4.8, review_count = 127,
        },
        dna = {
            archetype = "caregiver", angle = "fast, honest repairs", visual_theme = "waves",
            tone_of_voice = "warm",
            design_system = {
                palette = { primary = "#0b7285", secondary = "#495057", accent = "#fab005", background = "#ffffff",
                    surface = "#f1f3f5", text = "#1b1b1b" },
                fonts = { heading = "Georgia, serif", body = "system-ui, sans-serif" },
                radius = "12px", density = "comfortable",
            },
        },
        brief = { layout = "split", hero = { headline_idea = "Leaks fixed today", visual_motif = "waves" } },
        content = {
            title = "Joe's Plumbing & Sons — Austin plumbers",
            meta_description = "Family plumbers in Austin, TX. Leaks, heaters, drains. Rated 4.8 by 127 customers.",
            hero = { headline = "Leaks fixed today, not next week", cta_label = "Call Joe",
                subheadline = "A family plumbing team serving Austin since 1998." },
            sections = {
                { kind = "services", heading = "What we do", items = {
                    { name = "Leak repair", description = "We find the leak fast and fix it for good." },
                    { name = "Water heaters", description = "Repair and replacement, tank or tankless." },
                    { name = "Drain cleaning", description = "Kitchen, bath and main lines cleared." } } },
                { kind = "about", heading = "A family business", body = "Joe started the business in 1998.\n\n"
                    .. "Today his sons run the vans, and the phone still rings at the same number." },
                { kind = "reviews", heading = "What customers say", items = {
                    { author = "Ann P.", rating = 5, text = "Came the same day and fixed our leak in an hour." },
                    { author = "Luis G.", rating = 5, text = "Honest price, clean work." },
                    { author = "Mia", rating = 4, text = "Friendly and on time." } } },
                { kind = "process", heading = "How it works", steps = {
                    { title = "Call us", description = "Tell us what is wrong." },
                    { title = "We come over", description = "Usually the same day." },
                    { title = "Fixed", description = "You pay only when it works." } } },
                { kind = "faq", heading = "Questions", items = {
                    { question = "Do you work weekends?", answer = "Yes, for emergencies." },
                    { question = "Do you give quotes?", answer = "Always before we start." } } },
                { kind = "contact", heading = "Get in touch", body = "Call or email any time." },
                { kind = "html", html = "<h2>Service area</h2><p>Austin, Round Rock and <strong>Pflugerville</strong>.</p>"
                    .. "<table><tr><th>Day</th><th>Hours</th></tr><tr><td>Mon–Fri</td><td>7–19</td></tr></table>" },
            },
            footer_note = "Licensed and insured. TX license M-12345.",
        },
        preview = { banner = true, claim_url = "/claim/sampletoken" },
        url = "http://joes-plumbing.localhost:8080/",
    }
end

local samples = {}

samples.split = base()

local center = base()
center.brief.layout = "centered"
center.dna.visual_theme = "circles"
center.preview.claim_url = nil
samples.center = center

local band = base()
band.brief.layout = "bold band"
band.dna.visual_theme = "geometric blocks"
band.dna.design_system.palette = { primary = "#ffd43b", secondary = "#f08c00", accent = "#e8590c",
    background = "#fffdf5", surface = "#fff4d6", text = "#bbbbbb" }   -- low contrast on purpose
band.dna.design_system.radius = "pill"
samples.band = band

local dark = base()
dark.dna.design_system.palette = { primary = "#4dabf7", secondary = "#845ef7", accent = "#f783ac",
    background = "#101418", surface = "#1a2027", text = "#e9ecef" }
dark.dna.design_system.density = "compact"
dark.brief.layout = "split"
samples.dark = dark

local hostile = base()
hostile.business.name = EVIL .. string.rep("Ñ", 120)
hostile.business.address = EVIL
hostile.business.city = EVIL
hostile.content.title = nil
hostile.content.hero = { headline = EVIL, subheadline = EVIL, cta_label = EVIL }
hostile.content.footer_note = EVIL
for _, s in ipairs(hostile.content.sections) do
    s.heading = EVIL
    for _, it in ipairs(s.items or s.steps or {}) do
        for k in pairs(it) do
            if k ~= "rating" then
                it[k] = EVIL
            end
        end
    end
    if s.body then
        s.body = EVIL
    end
end
hostile.content.sections[#hostile.content.sections + 1] = { kind = "html", html = [[
<h1 onclick="alert(1)">Big</h1><h5>deep</h5><p style="color:red">x<script>alert(1)</script>
<a href="jav&#x61;script:alert(1)">j</a><img src=x onerror=alert(1)><svg onload=alert(1)></svg>
<table><td>cell</table><ul>loose<li>item</ul><iframe src="https://evil.example"></iframe>
<a href="https://example.org/">an outside link</a>]] }
hostile.dna.design_system.palette.text = "red;}</style><script>alert(1)</script>"
hostile.dna.design_system.fonts = { heading = "x;}</style>", body = "@import url(//evil)" }
samples.hostile = hostile

samples.minimal = { business = { name = "Solo Barber" }, preview = { banner = true } }

local n = 0
for name, input in pairs(samples) do
    local page, err = render.render(input)
    if not page then
        io.stderr:write("render ", name, ": ", tostring(err), "\n")
        return 1
    end
    local f = assert(io.open(out .. "/site-" .. name .. ".html", "wb"))
    f:write(page)
    f:close()
    n = n + 1
end

-- The email body too (validated with its own, looser rules: email HTML is
-- table layout with inline styles by necessity).
wm.config.tracking.secret = "sample-secret"
local m = assert(email.render {
    composer = { subject = "A website for Joe's Plumbing", preview_text = "We built you a free preview",
        greeting = "Hi Joe,", paragraphs = { "We saw your reviews.", "So we made you a site." },
        cta_label = "See your website", sign_off = "Cheers," },
    business = { name = "Joe's Plumbing" }, site_url = "http://joes-plumbing.localhost:8080/",
    base_url = "http://127.0.0.1:8080", campaign_id = "00000000-0000-0000-0000-000000000001",
    from = { name = "WebMagic", email = "hello@webmagic.example" }, to = { name = "Joe", email = "joe@example.com" },
    postal_address = "WebMagic, 1 Example Street, Austin, TX 78701, USA", review_highlight = "Fixed it in an hour!",
})
local f = assert(io.open(out .. "/email.html", "wb"))
f:write(m.html)
f:close()
-- The policy the server sends with sites, for site_check.js --serve --csp.
f = assert(io.open(out .. "/csp.txt", "wb"))
f:write(render.csp(), "\n")
f:close()
print(("rendered %d sites and 1 email into %s"):format(n, out))
return 0
