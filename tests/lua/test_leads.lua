-- The simulated lead source (providers/leads/simulated.lua), the Outscraper
-- source against a local fake (providers/leads/outscraper.lua,
-- tests/fakes/outscraper.py), and the place -> businesses mapping
-- (lib/leads.lua).
local sim = require "providers.leads.simulated"
local leads = require "lib.leads"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local start_fake = dofile(here .. "/../fakes/start.lua")

local T = {}

-- businesses VARCHAR(n) limits, from the seed schema
-- (shared/seed/webmagic-schema.md, table 2; migrations/001_core_tables.sql).
local LIMITS = {
    gmb_id = 100, gmb_place_id = 100, name = 255, slug = 255, email = 255, phone = 50, website_url = 500,
    city = 100, state = 50, zip_code = 20, country = 50, category = 100, subcategory = 100,
}
local COLUMNS = { "gmb_id", "gmb_place_id", "name", "slug", "email", "phone", "website_url", "address", "city",
                  "state", "zip_code", "country", "latitude", "longitude", "category", "subcategory", "rating",
                  "review_count", "photos_urls", "logo_url", "coverage_grid_id", "raw_place" }

-- An independent UTF-8 check (not lib/leads' own): well-formed sequences,
-- no NUL, no overlongs or surrogates.
local function valid_utf8(s)
    local i, n = 1, #s
    while i <= n do
        local c = s:byte(i)
        local len
        if c == 0 then
            return false
        elseif c < 0x80 then
            len = 1
        elseif c >= 0xC2 and c < 0xE0 then
            len = 2
        elseif c >= 0xE0 and c < 0xF0 then
            len = 3
        elseif c >= 0xF0 and c < 0xF5 then
            len = 4
        else
            return false
        end
        if i + len - 1 > n then
            return false
        end
        for k = i + 1, i + len - 1 do
            local b = s:byte(k)
            if b < 0x80 or b > 0xBF then
                return false
            end
        end
        local c2 = s:byte(i + 1)
        if (c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F) or (c == 0xF0 and c2 < 0x90)
            or (c == 0xF4 and c2 > 0x8F) then
            return false
        end
        i = i + len
    end
    return true
end

local CELLS = {
    { city = "Austin", state = "TX", industry = "plumber" },
    { city = "Chicago", state = "IL", industry = "hair salon" },
    { city = "Boise", state = "ID", industry = "bakery" },
    { city = "Springfield", state = "MO", industry = "dog groomer" },      -- not in the tables
}

local function many()
    local all = {}
    for _, c in ipairs(CELLS) do
        local places = assert(sim.search { city = c.city, state = c.state, industry = c.industry, limit = 120 })
        for _, p in ipairs(places) do
            all[#all + 1] = { place = p, cell = c }
        end
    end
    return all
end

local function val(v)
    if v == wm.null then
        return nil
    end
    return v
end

---------------------------------------------------------------------------
-- Simulated source

function T.simulated_is_deterministic(t)
    local a = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 30, seed = 7 })
    local b = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 30, seed = 7 })
    t.eq(#a, 30)
    t.eq(wm.json.encode(a), wm.json.encode(b), "same inputs, same bytes")
    local c = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 30, seed = 8 })
    t.ne(wm.json.encode(c), wm.json.encode(a), "another seed")
    local same_names = 0
    for i = 1, 30 do
        if a[i].name == c[i].name then
            same_names = same_names + 1
        end
        t.ne(a[i].place_id, c[i].place_id, "place ids differ by seed")
    end
    t.ok(same_names < 5, "another seed gives other names (" .. same_names .. " equal)")
    local d = assert(sim.search { city = "Dallas", state = "TX", industry = "plumber", limit = 30, seed = 7 })
    t.ne(d[1].place_id, a[1].place_id, "another city")
    -- A smaller limit is a prefix of a larger one.
    local small = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 5, seed = 7 })
    for i = 1, 5 do
        t.eq(wm.json.encode(small[i]), wm.json.encode(a[i]), "prefix " .. i)
    end
    -- Case and spacing of the inputs do not change the result.
    local e = assert(sim.search { city = " austin", state = "tx", industry = "Plumber ", limit = 5, seed = 7 })
    t.eq(e[1].place_id, a[1].place_id)
end

function T.simulated_limits(t)
    t.eq(#assert(sim.search { city = "Austin", state = "TX", industry = "plumber" }), 20, "default 20")
    t.eq(#assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 999 }), 200, "max 200")
    t.eq(#assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 0 }), 0)
    for _, bad in ipairs({ {}, { city = "Austin", state = "TX" }, { city = 1, state = "TX", industry = "x" },
                           { city = "Austin", state = "TX", industry = "plumber", limit = "5" },
                           { city = "Austin", state = "TX", industry = "plumber", seed = {} } }) do
        local ok, err = pcall(sim.search, bad)
        t.ok(not ok, "misuse raises")
        t.match(err, "usage")
    end
    t.ok(not pcall(sim.search, nil))
end

function T.simulated_outscraper_fields(t)
    local fields = { "query", "name", "place_id", "google_id", "full_address", "street", "city", "state",
                     "us_state", "postal_code", "country_code", "latitude", "longitude", "phone", "site",
                     "category", "subtypes", "type", "rating", "reviews", "reviews_per_score", "photo",
                     "photos_count", "logo", "working_hours", "business_status", "verified", "email_1",
                     "booking_appointment_link", "order_links", "facebook" }
    local statuses = { OPERATIONAL = 0, CLOSED_TEMPORARILY = 0, CLOSED_PERMANENTLY = 0 }
    for _, e in ipairs(many()) do
        local p = e.place
        for _, f in ipairs(fields) do
            t.ok(p[f] ~= nil, "field " .. f .. " present (value or JSON null)")
        end
        t.match(p.place_id, "^ChIJ[%w_%-]+$")
        t.eq(#p.place_id, 27, "place_id length")
        t.match(p.google_id, "^0x%x+:0x%x+$")
        t.eq(p.country_code, "US")
        t.eq(type(p.latitude), "number")
        t.eq(type(p.longitude), "number")
        t.eq(type(p.subtypes), "string")
        t.eq(type(p.reviews), "number")
        t.ok(p.reviews >= 0 and p.reviews <= 600 and p.reviews == math.floor(p.reviews), "reviews 0..600")
        if p.reviews > 0 then
            t.ok(p.rating >= 3.2 and p.rating <= 5.0, "rating 3.2..5.0: " .. tostring(p.rating))
        else
            t.eq(p.rating, wm.null, "no rating without reviews")
        end
        local sum = 0
        for k = 1, 5 do
            sum = sum + p.reviews_per_score[tostring(k)]
        end
        t.eq(sum, p.reviews, "reviews_per_score adds up")
        t.ok(statuses[p.business_status] ~= nil, "business_status " .. tostring(p.business_status))
        statuses[p.business_status] = statuses[p.business_status] + 1
        if p.phone ~= wm.null then
            t.match(p.phone, "^%+1 %d%d%d%-555%-01%d%d$", "fictional 555-01xx number")
        end
        t.eq(type(p.working_hours.Monday), "string")
        t.match(p.query, ", USA$")
    end
    t.ok(statuses.CLOSED_TEMPORARILY + statuses.CLOSED_PERMANENTLY > 0, "some closed")
end

function T.simulated_area_codes_and_names(t)
    local austin = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 60 })
    local trade, generic = 0, 0
    for _, p in ipairs(austin) do
        t.match(p.phone ~= wm.null and p.phone or "+1 512-", "^%+1 512%-", "Austin's area code")
        t.match(p.full_address, ", Austin, TX 787%d%d$")
        if p.name:find("Plumb") or p.name:find("Rooter") then
            trade = trade + 1
        end
        if p.name:match("^Business %d") or p.name:match("%d+$") then
            generic = generic + 1
        end
    end
    t.ok(trade >= 50, "plumbers are named like plumbers (" .. trade .. "/60)")
    t.eq(generic, 0, "no 'Business 1' names")
    local chi = assert(sim.search { city = "Chicago", state = "IL", industry = "hair salon", limit = 10 })
    t.match(chi[1].phone ~= wm.null and chi[1].phone or "+1 312-", "^%+1 312%-")
    -- An industry outside the tables still gets names of its own trade.
    local dogs = assert(sim.search { city = "Springfield", state = "MO", industry = "dog groomer", limit = 20 })
    local dog = 0
    for _, p in ipairs(dogs) do
        if p.name:find("Dog Groomer") then
            dog = dog + 1
        end
        t.eq(p.category, "Dog groomer")
    end
    t.ok(dog >= 15, "generic industry names use its words (" .. dog .. "/20)")
end

function T.simulated_mix_within_bounds(t)
    local all = many()
    local n = #all
    local site, hidden, no_email, closed, hostile, booking, facebook_site, long, chain = 0, 0, 0, 0, 0, 0, 0, 0, 0
    local qualify = require "lib.qualify"
    for _, e in ipairs(all) do
        local p = e.place
        local wp = leads.web_presence(p)
        if wp.site then
            site = site + 1
        end
        if p._simulated_hidden_site then
            hidden = hidden + 1
            t.eq(p.site, wm.null, "a hidden site is not in the lead")
        end
        if not leads.first_email(p) then
            no_email = no_email + 1
        end
        if p.business_status ~= "OPERATIONAL" then
            closed = closed + 1
        end
        if p.name ~= p.name_for_emails then
            hostile = hostile + 1
        end
        if #p.name > 255 then
            long = long + 1
        end
        if wp.presence and wp.presence ~= "site" then
            booking = booking + 1
        end
        if type(p.site) == "string" and p.site:find("facebook.com", 1, true) then
            facebook_site = facebook_site + 1
        end
        if qualify.chain(p.name, p.city) then
            chain = chain + 1
        end
    end
    local function share(k)
        return k / n
    end
    t.ok(n == 480, "480 places")
    t.ok(share(site) > 0.22 and share(site) < 0.38, ("~30%% list a website: %.2f"):format(share(site)))
    t.ok(share(hidden) > 0.05 and share(hidden) < 0.16, ("~10%% hidden sites: %.2f"):format(share(hidden)))
    t.ok(share(no_email) > 0.12 and share(no_email) < 0.30, ("~20%% without email: %.2f"):format(share(no_email)))
    t.ok(share(closed) > 0.01 and share(closed) < 0.10, ("a few closed: %.2f"):format(share(closed)))
    t.ok(hostile >= 8, "some hostile names: " .. hostile)
    t.ok(long >= 1, "at least one name past 255 bytes")
    t.ok(booking >= 3, "some booking/order links: " .. booking)
    t.ok(facebook_site >= 3, "some leads list a Facebook page as their site: " .. facebook_site)
    t.ok(chain >= 5 and share(chain) < 0.15, "some chains: " .. chain)
end

function T.simulated_reviews(t)
    local places = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 80 })
    local now = 1780000000
    local texts, staff_named, nulls, tones, total = {}, 0, 0, {}, 0
    for _, p in ipairs(places) do
        local r1 = assert(sim.reviews { place = p, limit = 10, now = now })
        local r2 = assert(sim.reviews { place = p, limit = 10, now = now })
        t.eq(wm.json.encode(r1), wm.json.encode(r2), "deterministic")
        t.eq(#r1, math.min(10, p.reviews), "as many as asked, at most the place's count")
        local prev
        for _, r in ipairs(r1) do
            total = total + 1
            for _, f in ipairs({ "review_id", "author_title", "author_id", "review_text", "review_rating",
                                 "review_timestamp", "review_datetime_utc", "review_likes" }) do
                t.ok(r[f] ~= nil, "review field " .. f)
            end
            t.ok(r.review_rating >= 1 and r.review_rating <= 5)
            t.ok(r.review_timestamp < now, "in the past")
            t.match(r.review_datetime_utc, "^%d%d/%d%d/%d%d%d%d %d%d:%d%d:%d%d$")
            t.eq(r.review_datetime_utc, os.date("!%m/%d/%Y %H:%M:%S", r.review_timestamp))
            if prev then
                t.ok(r.review_timestamp < prev, "newest first")
            end
            prev = r.review_timestamp
            if r.review_text == wm.null then
                nulls = nulls + 1
            else
                texts[r.review_text] = true
                tones[#r.review_text < 25 and "terse" or #r.review_text > 250 and "story" or "mid"] = true
                for _, name in ipairs(require("lib.names").first_names) do
                    if r.review_text:find(name .. " ", 1, true) == 1 then
                        staff_named = staff_named + 1
                        break
                    end
                end
            end
        end
    end
    local distinct = 0
    for _ in pairs(texts) do
        distinct = distinct + 1
    end
    t.ok(total > 300, "plenty of reviews: " .. total)
    t.ok(distinct > total / 3, "varied texts: " .. distinct .. " of " .. total)
    t.ok(tones.terse and tones.story and tones.mid, "terse, long and middling reviews")
    t.ok(staff_named > 5, "some name the staff: " .. staff_named)
    t.ok(nulls > 0, "some reviews are rating-only (null text)")
    t.eq(#assert(sim.reviews { place = places[1], limit = 0 }), 0)
    local _, err = sim.reviews { place = { name = "no id" } }
    t.match(err, "place_id")
    t.ok(not pcall(sim.reviews, {}), "misuse raises")
end

function T.simulated_hostile_reviews_exist(t)
    local found = {}
    for _, c in ipairs(CELLS) do
        local places = assert(sim.search { city = c.city, state = c.state, industry = c.industry, limit = 60 })
        for _, p in ipairs(places) do
            for _, r in ipairs(assert(sim.reviews { place = p, limit = 10, now = 1780000000 })) do
                local s = r.review_text ~= wm.null and r.review_text or ""
                if s:find("<script>", 1, true) then found.script = true end
                if s:find("\226\128\174", 1, true) then found.rtl = true end
                if s:find("\240\159", 1, true) then found.emoji = true end
                if s:find("&amp;", 1, true) then found.entity = true end
            end
        end
    end
    t.eq(found, { script = true, rtl = true, emoji = true, entity = true })
end

---------------------------------------------------------------------------
-- Mapping

local GRID = { id = "11111111-2222-3333-4444-555555555555", city = "Austin", state = "TX", country = "US",
               industry = "plumber" }

function T.maps_an_outscraper_place(t)
    local place = {
        name = "Rivera & Sons Plumbing", place_id = "ChIJabc", google_id = "0x1:0x2",
        full_address = "12 Oak St, Austin, TX 78704", street = "12 Oak St", city = "Austin", state = "Texas",
        us_state = "Texas", postal_code = "78704", country_code = "US", latitude = 30.25, longitude = -97.75,
        phone = "+1 512-555-0100", site = "www.riverasons.com", category = "Plumber",
        subtypes = "Plumber, Drainage service, Emergency plumber", type = "Plumber", rating = 4.8, reviews = 57,
        photo = "https://lh5.googleusercontent.com/p/x", logo = "https://lh3.googleusercontent.com/-y/photo.jpg",
        email_1 = "not-an-email", email_2 = " Ana@RiveraSons.COM ", business_status = "OPERATIONAL",
        facebook = "https://facebook.com/riverasons",
    }
    local row = assert(leads.to_business(place, GRID))
    t.eq(row.gmb_id, "0x1:0x2")
    t.eq(row.gmb_place_id, "ChIJabc")
    t.eq(row.name, "Rivera & Sons Plumbing")
    t.match(row.slug, "^rivera%-and%-sons%-plumbing%-austin%-%x%x%x%x%x%x%x%x$")
    t.eq(row.email, "Ana@riverasons.com", "first valid email_N, domain lower-cased")
    t.eq(row.phone, "+1 512-555-0100")
    t.eq(row.website_url, "http://www.riverasons.com/")
    t.eq(row.address, "12 Oak St, Austin, TX 78704")
    t.eq(row.city, "Austin")
    t.eq(row.state, "TX", "state name -> code")
    t.eq(row.zip_code, "78704")
    t.eq(row.country, "US")
    t.eq(row.latitude, 30.25)
    t.eq(row.longitude, -97.75)
    t.eq(row.category, "Plumber")
    t.eq(row.subcategory, "Drainage service", "first subtype other than the category")
    t.eq(row.rating, 4.8)
    t.eq(row.review_count, 57)
    t.eq(row.photos_urls, { "https://lh5.googleusercontent.com/p/x" })
    t.eq(getmetatable(row.photos_urls), wm.json.array_mt, "photos_urls is a JSON array")
    t.eq(row.logo_url, "https://lh3.googleusercontent.com/-y/photo.jpg")
    t.eq(row.coverage_grid_id, GRID.id, "linked to its grid cell at ingest")
    t.eq(row.raw_place.email_1, "not-an-email", "the raw place is kept whole")
    t.eq(row.raw_place.facebook, "https://facebook.com/riverasons")
    for k in pairs(row) do
        local known = k == "web_presence"
        for _, c in ipairs(COLUMNS) do
            known = known or c == k
        end
        t.ok(known, "only businesses columns (and web_presence): " .. k)
    end
    t.eq(wm.json.encode(wm.json.array({})), "[]")
    local empty = assert(leads.to_business({ google_id = "0x9:0x9" }, nil))
    t.eq(wm.json.encode(empty.photos_urls), "[]", "no photos: an empty JSON array, not an object")
end

function T.mapping_ids_and_presence(t)
    local r1 = assert(leads.to_business({ place_id = "ChIJonly", google_id = wm.null, name = "X" }, GRID))
    t.eq(r1.gmb_id, "ChIJonly", "gmb_id falls back to place_id")
    local r2, err = leads.to_business({ name = "no ids", google_id = wm.null }, GRID)
    t.eq(r2, nil)
    t.match(err, "google_id")
    t.ok(not pcall(leads.to_business, nil, GRID), "misuse raises")
    t.ok(not pcall(leads.to_business, {}, "grid"), "misuse raises")
    -- A Facebook page in `site` is not a website.
    local fb = assert(leads.to_business({ google_id = "0x3:0x3", name = "F", site = "https://www.facebook.com/f" }))
    t.eq(fb.website_url, nil)
    t.eq(fb.web_presence.presence, nil)
    t.eq(fb.web_presence.fields[1].kind, "social")
    t.eq(fb.web_presence.fields[1].counts, false)
    -- A booking link counts as a presence, kept apart from website_url.
    local bk = assert(leads.to_business({ google_id = "0x4:0x4", name = "B", site = wm.null,
                                          booking_appointment_link = "https://www.vagaro.com/salonb" }))
    t.eq(bk.website_url, nil)
    t.eq(bk.web_presence.presence, "booking")
    t.eq(bk.web_presence.presence_url, "https://www.vagaro.com/salonb")
    local od = assert(leads.to_business({ google_id = "0x5:0x5", name = "O",
                                          order_links = { "https://www.doordash.com/store/o-1/" } }))
    t.eq(od.web_presence.presence, "order")
    -- Scripts and garbage in `site` are not websites.
    for _, bad in ipairs({ "javascript:alert(1)", "mailto:x@y.com", "http://user:pw@evil.com/", "not a url",
                           "http://<script>/", "" }) do
        local r = assert(leads.to_business({ google_id = "0x6:0x6", name = "S", site = bad }))
        t.eq(r.website_url, nil, "not a website: " .. bad)
    end
    -- Wrong-country places keep their own country (the gate catches them).
    local mx = assert(leads.to_business({ google_id = "0x7:0x7", name = "M", country_code = "mx" }, GRID))
    t.eq(mx.country, "MX")
    local named = assert(leads.to_business({ google_id = "0x8:0x8", name = "N", country = "United States" }, GRID))
    t.eq(named.country, "US")
end

function T.hostile_names_survive_mapping(t)
    local script = "<script>alert(1)</script> Rivera's \"Best\" </title> &amp; \226\128\174gnibmulP \240\159\148\167"
    local row = assert(leads.to_business({ google_id = "0xa:0xa", name = script, city = "Austin" }, GRID))
    t.eq(row.name, script, "markup, quotes, entities, RTL override and emoji kept verbatim")
    t.eq(row.raw_place.name, script)
    t.match(row.slug, "^[a-z0-9%-]+$", "slug is plain ASCII")
    t.ok(not row.slug:find("script") or row.slug:find("^script%-alert%-1%-script"), row.slug)

    -- Past 255 bytes, cut at a character boundary (★ is 3 bytes: 1 + 3k
    -- never lands on 255).
    local long = "A" .. string.rep("\226\152\133", 200)
    local r2 = assert(leads.to_business({ google_id = "0xb:0xb", name = long }, GRID))
    t.eq(#r2.name, 253, "cut before the character that crosses 255 bytes")
    t.ok(valid_utf8(r2.name), "valid UTF-8 after the cut")
    t.eq(r2.raw_place.name, long, "the raw place keeps the whole name")
    for _, tail in ipairs({ "\195\169", "\240\159\152\128", "\226\152\133" }) do
        for pad = 250, 256 do
            local s = string.rep("x", pad) .. string.rep(tail, 10)
            local r = assert(leads.to_business({ google_id = "0xc:0xc", name = s }, GRID))
            t.ok(#r.name <= 255 and valid_utf8(r.name), "pad " .. pad)
            t.eq(r.name, s:sub(1, #r.name), "a prefix")
            t.ok(#r.name > 255 - #tail, "no more cut than needed")
        end
    end

    -- Bytes PostgreSQL would refuse: invalid UTF-8 and NUL.
    local bad = "Caf\233 \255\254 Ol\195 \0end \237\160\128 \192\175"
    local r3 = assert(leads.to_business({ google_id = "0xd:0xd", name = bad, city = "Aus\0tin" }, GRID))
    t.ok(valid_utf8(r3.name), "invalid bytes replaced")
    t.ok(not r3.name:find("%z"), "no NUL")
    t.match(r3.name, "^Caf\239\191\189 ")
    t.eq(r3.city, "Austin")
    t.ok(valid_utf8(r3.raw_place.name), "raw place cleaned too")
    t.ok(valid_utf8(wm.json.encode(r3.raw_place)), "raw place encodes to valid UTF-8")
    -- Control characters never reach a column.
    local r4 = assert(leads.to_business({ google_id = "0xe:0xe", name = "Line\nTwo\tThree\r" }, GRID))
    t.eq(r4.name, "Line Two Three")
end

local function check_limits(t, row, what)
    for col, limit in pairs(LIMITS) do
        local v = row[col]
        if v ~= nil then
            t.eq(type(v), "string", what .. ": " .. col .. " is text")
            t.ok(#v <= limit, ("%s: %s is %d bytes, limit %d"):format(what, col, #v, limit))
            t.ok(valid_utf8(v), what .. ": " .. col .. " is valid UTF-8")
        end
    end
    t.ok(row.name ~= nil and row.slug ~= nil, what .. ": NOT NULL columns set")
    if row.latitude then
        t.ok(math.abs(row.latitude) <= 90, "latitude fits DECIMAL(10,8)")
    end
    if row.longitude then
        t.ok(math.abs(row.longitude) <= 180, "longitude fits DECIMAL(11,8)")
    end
    if row.rating then
        t.ok(row.rating >= 0 and row.rating <= 5, "rating fits DECIMAL(2,1)")
    end
    t.ok(row.review_count >= 0 and row.review_count <= 2147483647 and row.review_count % 1 == 0, "INTEGER")
end

local function worst_place(i)
    local e2 = string.rep("\195\169", 700)          -- é, 1400 bytes
    local s3 = string.rep("\226\152\133", 500)      -- ★, 1500 bytes
    return {
        google_id = "0x" .. string.rep("f", 200) .. i, place_id = "ChIJ" .. string.rep("p", 300) .. i,
        name = "A" .. s3, city = "B" .. e2, state = s3, us_state = s3, postal_code = e2, country_code = e2,
        country = s3, category = "C" .. s3, type = s3, subtypes = "C" .. s3 .. ", D" .. e2,
        phone = "+1 " .. s3, site = "https://" .. string.rep("a", 60) .. ".com/" .. string.rep("p", 900),
        email_1 = string.rep("a", 70) .. "@example.com", email_2 = "x@" .. string.rep("b", 250) .. ".com",
        email_3 = "ok" .. i .. "@example.com",
        full_address = s3, latitude = 1e9, longitude = -1e9, rating = 17, reviews = -4,
        photo = "javascript:alert(1)", logo = "https://x.example/" .. s3,
    }
end

function T.mapping_respects_every_varchar_limit(t)
    local slugs = {}
    for _, e in ipairs(many()) do
        local row = assert(leads.to_business(e.place, e.cell))
        check_limits(t, row, e.place.name)
        t.ok(not slugs[row.slug], "slug unique: " .. row.slug)
        slugs[row.slug] = true
        t.match(row.slug, "^[a-z0-9%-]+$")
    end
    for i = 1, 3 do
        local row = assert(leads.to_business(worst_place(i), GRID))
        check_limits(t, row, "worst case " .. i)
        t.eq(row.email, "ok" .. i .. "@example.com", "oversized emails skipped")
        t.match(row.gmb_id, "^sha256:%x+$", "an oversized id is hashed, not truncated")
        t.eq(row.latitude, nil, "out-of-range latitude dropped")
        t.eq(row.rating, nil, "out-of-range rating dropped")
        t.eq(row.review_count, 0)
        t.eq(#row.website_url, 500, "an oversized URL is cut, still a presence")
        t.eq(wm.json.encode(row.photos_urls), "[]", "javascript: is not a photo")
    end
    -- JSON nulls everywhere.
    local nulls = { google_id = "0x1:0x1" }
    for _, f in ipairs({ "name", "place_id", "city", "state", "us_state", "postal_code", "country_code", "phone",
                         "site", "category", "subtypes", "rating", "reviews", "latitude", "longitude", "photo",
                         "logo", "email_1", "full_address", "booking_appointment_link", "order_links" }) do
        nulls[f] = wm.null
    end
    local row = assert(leads.to_business(nulls, wm.null))
    check_limits(t, row, "nulls")
    t.eq(row.name, "Unnamed business")
    t.eq(row.review_count, 0)
end

-- The mapped rows go into PostgreSQL through the ingest stage's own
-- statement: the worst cases and a whole simulated cell insert cleanly and
-- read back unchanged.
function T.mapped_rows_insert_cleanly(t)
    local ok_db = wm.db and pcall(function() assert(wm.db.query("SELECT 1")) end)
    if not ok_db then
        t.skip("no database")
    end
    assert(require("wm.migrate").up())
    local cell = assert(wm.db.one([[INSERT INTO coverage_grid (state, city, industry) VALUES ('TX', 'Austin', 'plumber')
        ON CONFLICT (country, state, city, industry) DO UPDATE SET updated_at = now() RETURNING *]]))
    local places = assert(sim.search { city = "Austin", state = "TX", industry = "plumber", limit = 200 })
    for i = 1, 3 do
        places[#places + 1] = worst_place(i)
    end
    places[#places + 1] = { google_id = "0xdead:0xbeef", name = "Nul\0 and \255 bad", city = "Austin" }
    local ingest = require "stages.ingest"
    local rows = assert(ingest.upsert(places, cell))
    t.eq(#rows, #places, "every place inserted")
    for _, p in ipairs(places) do
        local want = assert(leads.to_business(p, cell))
        local got = assert(wm.db.one([[SELECT name, slug, email, website_url, state, country, coverage_grid_id,
            raw_place->>'name' AS raw_name, jsonb_typeof(photos_urls) AS photos_type FROM businesses WHERE gmb_id = $1]],
            want.gmb_id))
        t.eq(got.name, want.name, "name round-trips")
        t.eq(got.slug, want.slug)
        t.eq(got.coverage_grid_id, cell.id, "linked to the cell")
        t.eq(got.photos_type, "array")
        t.eq(got.raw_name, want.raw_place.name, "raw place stored")
    end
    local hostile = assert(wm.db.one("SELECT count(*)::int AS n FROM businesses WHERE name LIKE '%<script>%'"))
    t.ok(hostile.n >= 0)
end

---------------------------------------------------------------------------
-- Outscraper, against tests/fakes/outscraper.py

local fake_base

local function with_fake(t, over)
    if not wm.http then
        t.skip("wm.http not available")
    end
    fake_base = fake_base or start_fake("outscraper.py", "20", "test-key")
    local saved = wm.config.outscraper
    local cfg = { base_url = fake_base, api_key = "test-key", poll_interval = 0.02, poll_timeout = 5, timeout = 5 }
    for k, v in pairs(over or {}) do
        cfg[k] = v
    end
    wm.config.outscraper = cfg
    t.defer(function() wm.config.outscraper = saved end)
    return require "providers.leads.outscraper"
end

local function fake_log()
    local res = assert(wm.http.request { url = fake_base .. "/_log" })
    return wm.json.decode(res.body)
end

function T.outscraper_search_async_flow(t)
    local os_ = with_fake(t)
    local before = #fake_log()
    local places, info = os_.search { city = "Austin", state = "TX", industry = "plumber", limit = 2 }
    t.ok(places, info)
    t.eq(#places, 2)
    t.match(info.request_id, "^%x+$")
    t.eq(places[1].google_id, "0x0000000000000001:0x0000000000001eef")
    t.eq(places[2].site, "https://fakeplace2.example/")
    t.eq(places[1].site, wm.null, "JSON null kept as the API sent it")
    local log = fake_log()
    local calls = {}
    for i = before + 1, #log do
        calls[#calls + 1] = log[i]
    end
    t.eq(calls[1].path, "/maps/search-v3")
    t.eq(calls[1].query.query, { "plumber, Austin, TX, USA" }, "query as '<industry>, <city>, <state>, USA'")
    t.eq(calls[1].query.region, { "US" }, "region set")
    t.eq(calls[1].query.organizationsPerQueryLimit, { "2" })
    t.eq(calls[1].query.async, { "true" })
    t.eq(calls[1].api_key, "test-key", "X-API-KEY sent")
    t.eq(#calls, 4, "submit, two Pending polls, Success")
    for i = 2, 4 do
        t.eq(calls[i].path, "/requests/" .. info.request_id)
        t.eq(calls[i].api_key, "test-key")
    end
    -- The raw places map like any other.
    local row = assert(leads.to_business(places[1], GRID))
    t.match(row.name, "^<script>alert%(1%)</script> Rivera")
    t.eq(row.email, "owner1@example.com")
end

function T.outscraper_resume_by_request_id(t)
    local os_ = with_fake(t, { poll_timeout = 0.01, poll_interval = 0.05 })
    local places, err, info = os_.search { city = "Austin", state = "TX", industry = "plumber forever" }
    t.eq(places, nil)
    t.eq(err, "pending")
    t.match(info.request_id, "^%x+$", "the id to resume with")
    t.ok(info.retry_after > 0)
    wm.config.outscraper.poll_timeout = 5
    wm.config.outscraper.poll_interval = 0.01
    -- A finished task resumes without a second (paid) search.
    local done, dinfo = os_.search { city = "Austin", state = "TX", industry = "plumber", limit = 3 }
    t.ok(done, dinfo)
    local before = #fake_log()
    local again, ainfo = os_.search { city = "Austin", state = "TX", industry = "plumber", request_id = dinfo.request_id }
    t.ok(again, ainfo)
    t.eq(#again, 3)
    local log = fake_log()
    for i = before + 1, #log do
        t.ne(log[i].path, "/maps/search-v3", "no new search when resuming")
    end
end

function T.outscraper_errors(t)
    local os_ = with_fake(t, { api_key = "wrong" })
    local places, err, info = os_.search { city = "Austin", state = "TX", industry = "plumber" }
    t.eq(places, nil)
    t.eq(err, "auth")
    t.eq(info.status, 401)
    t.eq(info.discard, true, "a retry cannot fix a bad key")
    wm.config.outscraper.api_key = "test-key"
    places, err, info = os_.search { city = "Austin", state = "TX", industry = "ratelimit plumber" }
    t.eq(err, "rate_limited")
    t.eq(info.status, 429)
    t.eq(info.retry_after, 7, "Retry-After honoured")
    places, err, info = os_.search { city = "Austin", state = "TX", industry = "overloaded plumber" }
    t.eq(err, "server_error")
    t.eq(info.status, 503)
    places, err = os_.search { city = "Austin", state = "TX", industry = "garbage plumber" }
    t.eq(err, "bad_response")
    places, err, info = os_.search { city = "Austin", state = "TX", industry = "failure plumber" }
    t.eq(err, "failure")
    t.match(info.request_id, "^%x+$")
    wm.config.outscraper.api_key = ""
    local saved_env = os.getenv("WM_OUTSCRAPER_API_KEY")
    if not saved_env or saved_env == "" then
        places, err, info = os_.search { city = "Austin", state = "TX", industry = "plumber" }
        t.eq(err, "no_api_key")
        t.eq(info.discard, true)
    end
    wm.config.outscraper.api_key = "test-key"
    wm.config.outscraper.base_url = "http://127.0.0.1:1"
    places, err = os_.search { city = "Austin", state = "TX", industry = "plumber" }
    t.eq(places, nil)
    t.eq(err, "connect")
    t.ok(not pcall(os_.search, { city = "Austin" }), "misuse raises")
end

function T.outscraper_reviews(t)
    local os_ = with_fake(t)
    local reviews, info = os_.reviews { place = { google_id = "0x1:0x2", name = "x" }, limit = 4 }
    t.ok(reviews, info)
    t.eq(#reviews, 4)
    t.eq(reviews[1].author_title, "Reviewer 0")
    t.eq(reviews[2].review_text, wm.null)
    t.match(reviews[1].review_datetime_utc, "^%d%d/%d%d/%d%d%d%d ")
    local log = fake_log()
    local submit
    for _, l in ipairs(log) do
        if l.path == "/maps/reviews-v3" then
            submit = l
        end
    end
    t.eq(submit.query.query, { "0x1:0x2" })
    t.eq(submit.query.reviewsLimit, { "4" })
    t.eq(submit.query.sort, { "newest" })
    local none, err = os_.reviews { place = { name = "no id" } }
    t.eq(none, nil)
    t.match(err, "google_id")
end

return T
