-- wm run tests/bench/http_page.lua DIR: publishes one real generated site
-- (the renderer's page for a full sample business, status live, subdomain
-- "bench") into the database wm is configured with, and writes the bytes
-- the site serves to DIR/index.html and their gzip (wm.codec, level 9, the
-- very bytes wm sends) to DIR/index.html.gz for nginx's gzip_static.
local USAGE = [[usage: wm run tests/bench/http_page.lua DIR

  Publishes one real generated site (status live, subdomain "bench") into the
  database wm is configured with, and writes its bytes to DIR/index.html and
  their gzip to DIR/index.html.gz (tests/bench/http_bench.sh page runs it).]]
local _, args = require("wm.cli").script_args(arg, USAGE, {})
if not _ then
    return args
end
local dir = args[1]
if not dir then
    io.stderr:write(USAGE, "\n")
    return 2
end
assert(require("wm.migrate").up())
local html = assert(require("sites.render").render {
    business = {
        name = "Joe's Plumbing & Sons", slug = "bench", phone = "(512) 555-0100", email = "joe@example.com",
        address = "123 Main St", city = "Austin", state = "TX", zip_code = "78701", latitude = 30.2672,
        longitude = -97.7431, category = "plumber", rating = 4.8, review_count = 127,
    },
    dna = { archetype = "caregiver", visual_theme = "clean waves", design_system = {
        palette = { primary = "#0b7285", secondary = "#495057", accent = "#fab005", background = "#ffffff",
                    surface = "#f1f3f5", text = "#1b1b1b" },
        fonts = { heading = "Georgia, serif", body = "system-ui, sans-serif" }, radius = "12px" } },
    brief = { layout = "split", hero = { headline_idea = "Fixed today" } },
    content = {
        title = "Joe's Plumbing — Austin plumber", meta_description = "Family plumbers in Austin, TX, since 1998.",
        hero = { headline = "Leaks fixed today", subheadline = "Family owned since 1998", cta_label = "Call Joe" },
        sections = {
            { kind = "services", heading = "What we do", items = {
                { title = "Emergency repairs", text = "Burst pipes, leaks and overflowing drains, day or night, with a plumber at your door within the hour across Austin." },
                { title = "Water heaters", text = "Tank and tankless heaters installed, flushed and repaired; we haul the old one away and leave the place clean." },
                { title = "Drain cleaning", text = "Camera inspection and hydro-jetting clear roots and grease without digging up your yard." },
                { title = "Repiping", text = "Old galvanised and polybutylene lines replaced with PEX or copper, usually in a single day." },
            } },
            { kind = "about", heading = "About Joe's", text = "Joe started the business in 1998 with one van. Today his two sons run the crews, and every plumber is licensed, insured and background-checked. We quote before we start and the price does not change." },
            { kind = "reviews", heading = "What neighbours say", items = {
                { author = "Maria G.", rating = 5, text = "They came at 11 pm for a burst pipe and had it fixed by midnight. Fair price, very polite." },
                { author = "Tom R.", rating = 5, text = "Replaced our water heater the same day we called. Cleaned up everything after." },
                { author = "Priya S.", rating = 4, text = "Good work on the drains; the camera inspection showed exactly what was wrong." },
            } },
            { kind = "faq", heading = "Questions", items = {
                { q = "Do you charge for estimates?", a = "No. We quote for free, in writing, before any work starts." },
                { q = "Are you available on weekends?", a = "Yes, every day including holidays, for emergencies and for planned work." },
            } },
            { kind = "contact", heading = "Contact" },
        },
        footer_note = "Licensed master plumber, Texas license M-12345.",
    },
})
local b = assert(wm.db.one([[INSERT INTO businesses (name, slug) VALUES ('Joe''s Plumbing & Sons', 'bench')
    ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id]]))
assert(wm.db.query("DELETE FROM generated_sites WHERE subdomain = 'bench'"))
local s = assert(wm.db.one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
    VALUES ($1, 'bench', $2, 'live', 'claim-bench') RETURNING id]], b.id, html))
local public = require("domain.sites").public_html { id = s.id, status = "live", html_content = html }
assert(wm.fs.write_file(dir .. "/index.html", public))
assert(wm.fs.write_file(dir .. "/index.html.gz", assert(wm.codec.gzip(public, 9))))
print(("page %d bytes, gzip %d bytes"):format(#public, #assert(wm.codec.gzip(public, 9))))
