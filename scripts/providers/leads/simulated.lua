-- The simulated lead source: deterministic businesses for a city and an
-- industry, in Outscraper's place shape (providers.md §2.3), and their
-- reviews in Outscraper's review shape (§2.4). Works offline; the same
-- (country, state, city, industry, seed) always gives the same places, and
-- a smaller limit gives a prefix of a larger one.
--
--   search{city=, state=, country="US", industry=, limit=20 (max 200), seed=1}
--       -> places | nil, err
--   reviews{place=, limit=10 (max 100)[, now=unix time]} -> reviews | nil, err
--       newest first; dates are relative to `now` (default: today, 00:00 UTC).
--
-- The mix, roughly: 30% list a website in `site`; 10% list none but have
-- one that only a website check finds (`_simulated_hidden_site`, read by
-- providers/website/simulated.lua); a few list only a booking/order link or
-- a Facebook page; 20% have no email; 5% are closed; 6% are chains; 5% carry
-- hostile text in their name (markup, quotes, bidi override, emoji, names
-- past 255 bytes) and some reviews do too. Phone numbers use the city's
-- real area code with the fictional 555-01xx range, and emails of
-- businesses without a domain of their own use the reserved example.*
-- domains, so no simulated lead can reach a real person.
local names = require "lib.names"
local leads = require "lib.leads"
local slug = require "lib.slug"
local trim = require("lib.text").trim
local bit = require "bit"

local type, error, tostring, tonumber, ipairs, pairs, setmetatable = type, error, tostring, tonumber, ipairs, pairs,
    setmetatable
local floor, min, max = math.floor, math.min, math.max
local bxor, lshift, rshift, tobit = bit.bxor, bit.lshift, bit.rshift, bit.tobit
local format, gsub, lower, upper, rep = string.format, string.gsub, string.lower, string.upper, string.rep
local concat = table.concat
local date = os.date

local _M = { _VERSION = "0.1" }

local MAX_LIMIT = 200

---------------------------------------------------------------------------
-- A small deterministic PRNG (xorshift32) seeded from sha256 of a key.

local function rng(key)
    local hex = wm.crypto.sha256_hex(key)
    local s = tobit(tonumber(hex:sub(1, 8), 16))
    if s == 0 then
        s = tobit(0x9E3779B9)
    end
    local r = { hex = hex }
    function r.u32()
        s = bxor(s, lshift(s, 13))
        s = bxor(s, rshift(s, 17))
        s = bxor(s, lshift(s, 5))
        return s % 4294967296
    end
    function r.float()
        return r.u32() / 4294967296
    end
    function r.int(a, b)
        return a + floor(r.float() * (b - a + 1))
    end
    function r.pick(t)
        return t[r.int(1, #t)]
    end
    function r.chance(p)
        return r.float() < p
    end
    function r.digits(n)
        local t = {}
        for i = 1, n do
            t[i] = tostring(r.int(0, 9))
        end
        return concat(t)
    end
    function r.chars(n, alphabet)
        local t = {}
        for i = 1, n do
            local k = r.int(1, #alphabet)
            t[i] = alphabet:sub(k, k)
        end
        return concat(t)
    end
    return r
end
_M._rng = rng

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local HEX = "0123456789abcdef"

local function title_case(s)
    return (gsub(s, "(%a)([%w']*)", function(a, b) return upper(a) .. b end))
end

-- The industry's data; an industry not in lib/names gets generic parts
-- built from its own words.
local function industry_of(industry)
    local key = lower(trim(industry))
    local d = names.industries[key]
    if d then
        return d
    end
    local title = title_case(key)
    local cat = upper(key:sub(1, 1)) .. key:sub(2)
    return setmetatable({
        category = cat, subtypes = { cat }, trades = { title, title .. " Services", title .. " Co." },
        description = title .. " serving the area for years. Call for a free estimate.",
    }, { __index = names.generic })
end

local function industry_from_place(place)
    local q = leads.val(place.query)
    if type(q) == "string" then
        local first = lower(trim(q:match("^[^,]*")))
        if names.industries[first] then
            return names.industries[first]
        end
    end
    local cat = leads.val(place.category)
    if type(cat) == "string" then
        cat = lower(cat)
        for _, d in pairs(names.industries) do
            if lower(d.category) == cat then
                return d
            end
        end
        return industry_of(cat)
    end
    return names.generic
end

local function expand(pattern, r, ctx)
    local out = gsub(pattern, "{(%w+)}", function(k)
        if k == "S" then
            return r.pick(names.surnames)
        elseif k == "S2" then
            return r.pick(names.surnames)
        elseif k == "F" or k == "F2" then
            return r.pick(names.first_names)
        elseif k == "A" then
            return r.pick(names.adjectives)
        elseif k == "P" then
            return r.pick(names.places)
        elseif k == "C" then
            return ctx.city
        elseif k == "T" then
            return r.pick(ctx.ind.trades)
        end
        return k
    end)
    return out
end

-- Hostile variants of a name; each keeps the business recognisable. A
-- search uses them in turn (the first hostile place of every search has a
-- name past 255 bytes).
local HOSTILE = {
    function(n) return n .. " \226\128\148 " .. rep("Best Service in Town \226\152\133 ", 14) end,
    function(n) return "<script>alert(1)</script> " .. n end,
    function(n) return "\226\128\174" .. n .. "\226\128\172" end,                  -- U+202E ... U+202C
    function(n) return n .. " \240\159\148\167\226\156\168\240\159\145\141" end,    -- emoji
    function(n) return n .. ' "The Best" in Town' end,
    function(n) return n .. "'s </title><h1>Owned</h1>" end,
    function(n) return gsub(n, " & ", " &amp; ") .. " &amp; Co." end,
    function(n) return "Robert'); DROP TABLE businesses;-- " .. n end,
    function(n) return n .. "\n\tSince 1987" end,
    function(n) return "Zo\195\171 & Zo\195\171's \"" .. n .. "\" <b onmouseover=alert(2)>" end,
}
_M._hostile_count = #HOSTILE

local function fictional_phone(r, area)
    return format("+1 %s-555-01%02d", area, r.int(0, 99))
end

local function review_scores(r, n, rating)
    local out = { ["1"] = 0, ["2"] = 0, ["3"] = 0, ["4"] = 0, ["5"] = 0 }
    if n == 0 then
        return out
    end
    -- Spread n reviews so that the mean is close to `rating`.
    local p5 = max(0, min(1, (rating - 3.0) / 2.0))
    local rest = 1 - p5
    local weights = { p5, rest * 0.55, rest * 0.2, rest * 0.1, rest * 0.15 }
    local given = 0
    for i = 1, 5 do
        local k = floor(n * weights[i])
        out[tostring(6 - i)] = k
        given = given + k
    end
    out["5"] = out["5"] + (n - given)
    return out
end

local function hours(shape)
    local h = {}
    local list = names.hours[shape] or names.hours.office
    for i, day in ipairs(names.days) do
        h[day] = list[i]
    end
    return h
end

local function url_slug(s)
    local v = slug.slugify(s, 60)
    return v ~= "" and v or "business"
end

local function make_place(ctx, i, seen)
    local null = wm.null
    local r = rng(ctx.key .. "\31" .. i)
    local ind = ctx.ind
    local web_roll = r.float()
    local is_chain = #ind.chains > 0 and r.chance(0.06)
    local hostile = r.chance(0.05)

    -- The name: a chain brand, or a pattern of the industry's; no two
    -- places of one search share a name.
    local name
    for _ = 1, 6 do
        if is_chain then
            name = r.pick(ind.chains)
            if r.chance(0.5) then
                name = name .. " of " .. ctx.city
            end
        elseif r.chance(0.12) and #ind.extra_names > 0 then
            name = r.pick(ind.extra_names)
        else
            name = expand(r.pick(ind.patterns), r, ctx)
        end
        if not seen[name] then
            break
        end
        name = name .. " " .. r.pick(names.places)
        if not seen[name] then
            break
        end
    end
    seen[name] = true
    local clean_name = name
    if hostile then
        ctx.hostile_n = (ctx.hostile_n or 0) + 1
        name = HOSTILE[(ctx.hostile_n - 1) % #HOSTILE + 1](name)
    end

    local guesses = leads.domain_guesses(clean_name, ctx.city)
    local domain = guesses[1]
    local site, hidden = null, nil
    if web_roll < 0.30 and domain then
        if is_chain then
            site = "https://www." .. url_slug(clean_name:gsub(" of .*$", "")):gsub("%-", "") .. ".com/locations/"
                .. url_slug(ctx.city)
        else
            local d = guesses[r.int(1, min(3, #guesses))]
            site = r.pick({ "https://www.", "http://www.", "https://", "http://" }) .. d .. "/"
        end
    elseif web_roll < 0.40 and domain then
        hidden = "https://" .. guesses[r.int(1, min(3, #guesses))] .. "/"
    elseif web_roll < 0.43 then
        -- The site field holds a Facebook page: not a website.
        site = "https://www.facebook.com/" .. url_slug(clean_name):gsub("%-", "")
    end

    local status = "OPERATIONAL"
    local st = r.float()
    if st < 0.03 then
        status = "CLOSED_TEMPORARILY"
    elseif st < 0.05 then
        status = "CLOSED_PERMANENTLY"
    end

    local count = floor(600 * r.float() ^ 2.5)
    local rating = null
    if count > 0 then
        rating = floor((5.0 - 1.8 * r.float() ^ 1.6) * 10 + 0.5) / 10
        if rating < 3.2 then
            rating = 3.2
        end
    end

    local street = r.int(100, 9899) .. " " .. r.pick(names.street_names)
    local suite = r.chance(0.15) and (", Ste " .. r.int(100, 450)) or ""
    local zip = ctx.zip3 .. format("%02d", r.int(1, 99))
    local full_address = street .. suite .. ", " .. ctx.city .. ", " .. ctx.state .. " " .. zip
    local lat = floor((ctx.lat + (r.float() - 0.5) * 0.3) * 1e7 + 0.5) / 1e7
    local lng = floor((ctx.lng + (r.float() - 0.5) * 0.3) * 1e7 + 0.5) / 1e7

    local subtypes = { ind.category }
    for _, s in ipairs(ind.subtypes) do
        if s ~= ind.category and r.chance(0.5) then
            subtypes[#subtypes + 1] = s
        end
    end

    local place_id = "ChIJ" .. r.chars(23, B64)
    local google_id = "0x" .. r.chars(16, HEX) .. ":0x" .. r.chars(16, HEX)
    local owner_id = "1" .. r.digits(20)

    -- Emails: at the business's own domain when it has one, else at a
    -- reserved example domain.
    local own
    if site ~= null and not site:find("facebook", 1, true) then
        own = site:match("^https?://([^/]+)"):gsub("^www%.", "")
    elseif hidden and r.chance(0.5) then
        own = hidden:match("^https?://([^/]+)")
    end
    local email_1, email_2, email_name, email_title = null, nil, nil, nil
    local owner_first, owner_last = r.pick(names.first_names), r.pick(names.surnames)
    if r.chance(0.80) then
        local base = (slug.ascii(clean_name):gsub(" ", ""))
        if base == "" then
            base = "owner"
        end
        base = base:sub(1, 40)
        if own then
            email_1 = r.pick({ "info", "office", "contact", "hello", (slug.ascii(owner_first):gsub(" ", "")) })
                .. "@" .. own
        else
            email_1 = r.pick({ base, base .. r.int(1, 99), (slug.ascii(owner_first .. "." .. owner_last)
                :gsub(" ", "")) }) .. "@" .. r.pick({ "example.com", "example.net", "example.org" })
        end
        if r.chance(0.6) then
            email_name = owner_first .. " " .. owner_last
            email_title = r.pick(ind.email_titles)
        end
        if r.chance(0.25) then
            email_2 = (own and ("billing@" .. own)) or (slug.ascii(owner_first):gsub(" ", "") .. "."
                .. slug.ascii(owner_last):gsub(" ", "") .. "@example.net")
        end
    end

    local booking, order = null, null
    local presence_roll = r.float()
    if ind.booking and ((site ~= null and presence_roll < 0.3) or (site == null and presence_roll < 0.08)) then
        booking = format(ind.booking, url_slug(clean_name), r.chars(8, HEX))
    end
    if ind.order and ((site ~= null and presence_roll < 0.4) or (site == null and presence_roll < 0.08)) then
        order = wm.json.array({ format(ind.order, url_slug(clean_name), r.int(100000, 9999999)) })
    end

    local description = null
    if r.chance(0.35) then
        description = hostile and (ind.description .. " <img src=x onerror=alert(3)> \"quoted\" & more")
            or ind.description
    end
    local photos_count = r.int(0, 150)

    -- Fields in Outscraper's order, as far as one is known.
    local p = {}
    p.query = ctx.query
    p.name = name
    p.name_for_emails = clean_name
    p.place_id = place_id
    p.google_id = google_id
    p.cid = tostring(r.int(1, 9)) .. r.digits(18)
    p.kgmid = "/g/11" .. r.chars(8, "abcdefghijklmnopqrstuvwxyz0123456789")
    p.reviews_id = "-" .. tostring(r.int(1, 9)) .. r.digits(18)
    p.full_address = full_address
    p.borough = r.pick(names.places)
    p.street = street .. suite
    p.postal_code = zip
    p.area_service = false
    p.country_code = ctx.country
    p.country = ctx.country == "US" and "United States of America" or ctx.country
    p.city = ctx.city
    p.us_state = ctx.state_name
    p.state = ctx.state_name
    p.plus_code = r.chars(4, "23456789CFGHJMPQRVWX") .. "+" .. r.chars(2, "23456789CFGHJMPQRVWX")
    p.latitude = lat
    p.longitude = lng
    p.time_zone = ctx.tz
    p.popular_times = null
    p.site = site
    p.phone = status == "CLOSED_PERMANENTLY" and r.chance(0.5) and null or fictional_phone(r, ctx.area_code)
    p.type = ind.category
    p.subtypes = concat(subtypes, ", ")
    p.category = ind.category
    p.description = description
    p.rating = rating
    p.reviews = count
    p.reviews_per_score = review_scores(r, count, rating ~= null and rating or 0)
    p.photos_count = photos_count
    p.photo = photos_count > 0 and ("https://lh5.googleusercontent.com/p/AF1Qip" .. r.chars(32, B64)
        .. "=w800-h500-k-no") or null
    p.street_view = "https://lh5.googleusercontent.com/p/AF1Qip" .. r.chars(32, B64) .. "=w1600-h1000-k-no"
    p.logo = r.chance(0.5) and ("https://lh3.googleusercontent.com/-" .. r.chars(11, B64)
        .. "/AAAAAAAAAAI/AAAAAAAAAAA/" .. r.chars(10, B64) .. "/s44-p-k-no-ns-nd/photo.jpg") or null
    p.working_hours = hours(ind.hours)
    p.business_status = status
    p.verified = r.chance(0.75)
    p.owner_id = owner_id
    p.owner_title = clean_name
    p.owner_link = "https://www.google.com/maps/contrib/" .. owner_id
    p.reservation_links = null
    p.booking_appointment_link = booking
    p.menu_link = null
    p.order_links = order
    p.location_link = "https://www.google.com/maps/place/?q=place_id:" .. place_id
    p.reviews_link = "https://search.google.com/local/reviews?placeid=" .. place_id
    p.facebook = r.chance(0.3) and ("https://www.facebook.com/" .. url_slug(clean_name):gsub("%-", "")) or null
    p.instagram = r.chance(0.15) and ("https://www.instagram.com/" .. url_slug(clean_name):gsub("%-", "")) or null
    p.email_1 = email_1
    p.email_1_full_name = email_name
    p.email_1_title = email_title
    p.email_2 = email_2
    -- Known only to the simulated website checker and review source.
    p._simulated_hidden_site = hidden
    p._simulated_last_review_days = r.chance(0.12) and r.int(560, 1400) or r.int(1, 150)
    return p
end

local function check_search(opts)
    local usage = "usage: simulated.search{city=, state=, industry=[, country=, limit=, seed=]}"
    if type(opts) ~= "table" or type(opts.city) ~= "string" or type(opts.state) ~= "string"
        or type(opts.industry) ~= "string" or trim(opts.city) == "" or trim(opts.industry) == "" then
        error(usage, 3)
    end
    if opts.limit ~= nil and type(opts.limit) ~= "number" then
        error(usage .. ": limit must be a number", 3)
    end
    if opts.country ~= nil and type(opts.country) ~= "string" then
        error(usage .. ": country must be a string", 3)
    end
    if opts.seed ~= nil and type(opts.seed) ~= "number" and type(opts.seed) ~= "string" then
        error(usage .. ": seed must be a number or a string", 3)
    end
end

function _M.search(opts)
    check_search(opts)
    local city, state, industry = trim(opts.city), trim(opts.state), trim(opts.industry)
    local country = upper(trim(opts.country or "US"))
    local limit = floor(opts.limit or 20)
    if limit > MAX_LIMIT then
        limit = MAX_LIMIT
    end
    local key = concat({ "wm-simulated-leads-v1", lower(country), lower(state), lower(city), lower(industry),
                         tostring(opts.seed == nil and 1 or opts.seed) }, "\31")
    local geo = rng(key .. "\31geo")
    local info = names.cities[city .. "|" .. upper(state)]
    local ctx = {
        key = key,
        ind = industry_of(industry),
        city = city,
        state = upper(state),
        state_name = names.states[upper(state)] or state,
        country = country,
        query = concat({ industry, city, state, country == "US" and "USA" or country }, ", "),
        area_code = info and info.area_code or geo.pick(names.fallback_area_codes),
        zip3 = info and info.zip3 or format("%03d", geo.int(100, 999)),
        lat = info and info.lat or (30 + geo.float() * 15),
        lng = info and info.lng or (-120 + geo.float() * 40),
        tz = info and info.tz or "America/Chicago",
    }
    local places, seen = {}, {}
    for i = 1, limit do
        places[i] = make_place(ctx, i, seen)
    end
    return places
end

---------------------------------------------------------------------------
-- Reviews

local GLOWING = {
    "{staff} was fantastic. Showed up right on time, explained exactly what was going on with {problem} and had it sorted in under an hour. Can't recommend {name} enough!",
    "Best {role} we've ever hired. Fair price, clean work, and {staff} even called the next day to make sure everything was still good.",
    "Absolutely wonderful from start to finish. {staff} and the team treated our place like their own. The {service} looks perfect.",
    "We have used {name} three times now and every time it's the same: on time, honest, no upselling. {staff} is the best.",
    "Five stars isn't enough. {staff} fixed {problem} that two other companies couldn't figure out.",
}
local PRACTICAL = {
    "Called Monday morning, they came out Tuesday. Quote for the {service} was ${price} and the final bill matched. Work was tidy.",
    "Booked online, got a text reminder the day before. The {service} took about two hours. Would use again.",
    "Straightforward: showed up when they said, did the {service}, charged what they quoted (${price}).",
    "Good communication, reasonable price for the {service}. {staff} walked me through the options before starting.",
}
local MIXED = {
    "The {service} itself was done well, but it took three calls to get on the schedule. {staff} was great once they arrived.",
    "Good work, a bit pricey at ${price} for the {service}. Communication could be better.",
    "Quality is there, but they were two hours late without a call. Would probably use again for bigger jobs.",
    "Mixed feelings. {staff} was polite and knew the job, but the office lost my first booking.",
}
local TERSE = { "Great service.", "Fast and fair.", "Highly recommend!", "Would use again.", "Good.", "ok",
                "\240\159\145\141", "On time, good price.", "Excellent!!", "10/10" }
local NEGATIVE = {
    "Never showed up for the appointment and didn't call. Had to find someone else.",
    "Overcharged for a simple {service}. ${price} for less than an hour of work.",
    "Rude on the phone and the problem came back a week later.",
}
local STORY = {
    "We had {problem} the night before my daughter's birthday party and I was panicking. I called three places and {name} was the only one that picked up after 8pm. {staff} talked me through what to do over the phone and was here first thing in the morning. The {service} was done by 10, the price was exactly what they quoted (${price}), and they cleaned up after themselves. The party went fine. We've since recommended them to half the street.",
    "Long review, but they earned it. After {problem}, we got quotes from four companies in {city}. Two never called back, one wanted twice as much. {staff} came out, took the time to show us what was actually wrong, and gave us a cheaper option we didn't know existed. The {service} has held up perfectly for months. This is how a local business should work.",
    "I'm picky and I don't usually write reviews. {name} changed that. From the first call to the final invoice (${price}) everything was clear. {staff} explained each step of the {service}, answered my many questions, and didn't rush. Six months later, no issues at all.",
}
local HOSTILE_REVIEWS = {
    "<script>alert('xss')</script> Great {service}!",
    "They said \"we'll be there at 9\" and they were. It's rare. </title></head><body>",
    "Tom &amp; Jerry's favourite {role} &lt;3 &#x3C;script&#x3E;",
    "\226\128\174!doog yrev saw {staff}\226\128\172 honestly great work",
    "\240\159\152\141\240\159\152\141\240\159\152\141 {staff} rocks \240\159\148\165\240\159\148\165 best {service} ever \226\173\144\226\173\144\226\173\144\226\173\144\226\173\144",
    "Five stars.\n\n\n\t\tReally.   \r\n Would hire again <img src=x onerror=alert(1)>",
}

local function fill(template, r, ctx)
    return (gsub(template, "{(%w+)}", function(k)
        if k == "staff" then
            return r.pick(ctx.staff)
        elseif k == "problem" then
            return r.pick(ctx.ind.problems)
        elseif k == "service" then
            return r.pick(ctx.ind.services)
        elseif k == "role" then
            return ctx.ind.role
        elseif k == "price" then
            return tostring(r.int(ctx.ind.price[1], ctx.ind.price[2]))
        elseif k == "name" then
            return ctx.name
        elseif k == "city" then
            return ctx.city
        end
        return k
    end))
end

local function utc(ts)
    return date("!%m/%d/%Y %H:%M:%S", ts)
end

function _M.reviews(opts)
    if type(opts) ~= "table" or type(opts.place) ~= "table" then
        error("usage: simulated.reviews{place=[, limit=, now=]}", 2)
    end
    if opts.limit ~= nil and type(opts.limit) ~= "number" then
        error("usage: simulated.reviews{place=, limit=}: limit must be a number", 2)
    end
    local val = leads.val
    local place = opts.place
    local id = val(place.place_id) or val(place.google_id)
    if type(id) ~= "string" or id == "" then
        return nil, "place has no place_id or google_id"
    end
    local limit = max(0, min(100, floor(opts.limit or 10)))
    local total = tonumber(val(place.reviews)) or 0
    local n = max(0, min(limit, floor(total)))
    local null = wm.null
    local out = {}
    if n == 0 then
        return wm.json.array(out)
    end
    local r = rng("wm-simulated-reviews-v1\31" .. id)
    local name = val(place.name_for_emails) or val(place.name)
    local ctx = {
        ind = industry_from_place(place),
        name = type(name) == "string" and name or "them",
        city = type(val(place.city)) == "string" and place.city or "town",
        staff = { r.pick(names.first_names), r.pick(names.first_names), r.pick(names.first_names) },
    }
    local rating = tonumber(val(place.rating)) or 4.5
    local now = opts.now or floor(wm.now() / 86400) * 86400
    local age = tonumber(val(place._simulated_last_review_days)) or (r.chance(0.12) and r.int(560, 1400)
        or r.int(1, 150))
    local ts = floor(now - age * 86400 - r.int(0, 86399))
    for k = 1, n do
        local stars = rating + (r.float() - 0.6) * 2.2
        stars = max(1, min(5, floor(stars + 0.5)))
        local tone
        if stars <= 2 then
            tone = NEGATIVE
        elseif stars == 3 then
            tone = MIXED
        else
            local t = r.float()
            tone = (t < 0.35 and GLOWING) or (t < 0.6 and PRACTICAL) or (t < 0.8 and TERSE)
                or (t < 0.9 and STORY) or MIXED
        end
        local body = fill(r.pick(tone), r, ctx)
        if r.chance(0.06) then
            body = fill(r.pick(HOSTILE_REVIEWS), r, ctx)
        end
        local review_text = r.chance(0.07) and null or body
        local first = r.pick(names.first_names)
        local author = r.chance(0.6) and (first .. " " .. r.pick(names.surnames))
            or (first .. " " .. r.pick(names.surnames):sub(1, 1) .. ".")
        local author_id = "1" .. r.digits(20)
        local rv = {}
        rv.review_id = "ChZDSUhNMG9nS0VJQ0FnSUQ" .. r.chars(20, B64)
        rv.author_link = "https://www.google.com/maps/contrib/" .. author_id .. "?hl=en"
        rv.author_title = author
        rv.author_id = author_id
        rv.author_reviews_count = r.int(1, 240)
        rv.review_text = review_text
        rv.review_rating = stars
        rv.review_timestamp = ts
        rv.review_datetime_utc = utc(ts)
        rv.review_likes = r.chance(0.8) and 0 or r.int(1, 14)
        if r.chance(0.2) then
            local ats = ts + r.int(3600, 5 * 86400)
            rv.owner_answer = "Thank you, " .. first .. "! We appreciate you choosing us. - " .. ctx.staff[1]
            rv.owner_answer_timestamp = ats
            rv.owner_answer_timestamp_datetime_utc = utc(ats)
        else
            rv.owner_answer = null
        end
        out[k] = rv
        ts = ts - r.int(2, 90) * 86400 - r.int(0, 86399)
    end
    return wm.json.array(out)
end

return _M
