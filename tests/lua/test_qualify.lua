-- Lead scoring and gates (lib/qualify.lua).
local qualify = require "lib.qualify"
local sim = require "providers.leads.simulated"
local leads = require "lib.leads"

local T = {}

local NOW = 1780000000
local DAY = 86400

-- A lead with everything going for it.
local function perfect(over)
    local b = {
        name = "Rivera & Sons Plumbing", city = "Austin", state = "TX", country = "US",
        email = "ana@example.com", rating = 5.0, review_count = 250, website_url = wm.null,
        reviews_data = { { review_timestamp = NOW - 30 * DAY, review_rating = 5 } },
    }
    local raw = { name = b.name, city = "Austin", country_code = "US", business_status = "OPERATIONAL",
                  site = wm.null, rating = 5.0, reviews = 250 }
    for k, v in pairs(over or {}) do
        if k:sub(1, 4) == "raw_" then
            raw[k:sub(5)] = v
        else
            b[k] = v
        end
    end
    return b, raw
end

local function rules(reasons)
    local out = {}
    for _, r in ipairs(reasons) do
        out[r.rule] = r
    end
    return out
end

local function gate(reasons, name)
    for _, r in ipairs(reasons) do
        if r.rule == "gate." .. name then
            return r
        end
    end
end

function T.perfect_lead_scores_100_and_passes(t)
    local b, raw = perfect()
    local score, reasons = qualify.score(b, raw, "no_website", { now = NOW })
    t.eq(score, 100, "30+25+20+15+10+5 capped at 100")
    local r = rules(reasons)
    t.eq(r.no_website.points, 30)
    t.eq(r.email.points, 25)
    t.eq(r.rating.points, 20)
    t.eq(r.reviews.points, 15)
    t.eq(r.independent.points, 10)
    t.eq(r.recent_reviews.points, 5)
    for _, x in ipairs(reasons) do
        t.eq(type(x.rule), "string")
        t.eq(type(x.detail), "string")
        t.eq(x.points % 1, 0, "integer points")
    end
    t.eq(getmetatable(reasons), wm.json.array_mt, "reasons encode as a JSON array")
    local ok, greasons = qualify.gates(b, raw, "no_website", { now = NOW })
    t.ok(ok, wm.json.encode(greasons))
    for _, g in ipairs(greasons) do
        t.eq(g.passed, true, g.rule)
    end
end

function T.a_business_with_a_website_never_qualifies(t)
    local b, raw = perfect()
    local score, reasons = qualify.score(b, raw, "has_website", { now = NOW })
    t.eq(score, 0, "a website zeroes the score")
    t.eq(rules(reasons).has_website.detail, "a business with a website is never a lead: score 0")
    local ok, g = qualify.gates(b, raw, "has_website", { now = NOW })
    t.eq(ok, false)
    t.eq(gate(g, "website").passed, false)
    -- Even if the check said "no_website", a website in the lead's own
    -- fields (or the row) wins.
    for _, over in ipairs({ { raw_site = "https://riverasons.com/" },
                            { website_url = "https://riverasons.com/" },
                            { raw_booking_appointment_link = "https://www.vagaro.com/rivera" },
                            { raw_order_links = { "https://www.doordash.com/store/rivera-1/" } } }) do
        local b2, raw2 = perfect(over)
        local s2 = qualify.score(b2, raw2, "no_website", { now = NOW })
        t.eq(s2, 0, wm.json.encode(over))
        local ok2, g2 = qualify.gates(b2, raw2, "no_website", { now = NOW })
        t.eq(ok2, false, wm.json.encode(over))
        t.eq(gate(g2, "website").passed, false)
    end
    -- A Facebook page is not a website: it does not block.
    local b3, raw3 = perfect({ raw_site = "https://www.facebook.com/riverasons", raw_facebook = "https://fb.com/r" })
    t.eq(qualify.score(b3, raw3, "no_website", { now = NOW }), 100)
    t.ok((qualify.gates(b3, raw3, "no_website", { now = NOW })))
    -- "unknown" is not "no website".
    local b4, raw4 = perfect()
    local s4, r4 = qualify.score(b4, raw4, "unknown", { now = NOW })
    t.eq(rules(r4).no_website.points, 0)
    t.eq(s4, 75, "25+20+15+10+5")
    t.eq((qualify.gates(b4, raw4, "unknown", { now = NOW })), false)
    t.eq((qualify.gates(b4, raw4, nil, { now = NOW })), false, "no verdict, no qualification")
end

function T.each_gate_can_fail(t)
    local cases = {
        { "contact", { email = wm.null } },
        { "operational", { raw_business_status = "CLOSED_PERMANENTLY" } },
        { "operational", { raw_business_status = "CLOSED_TEMPORARILY" } },
        { "country", { raw_country_code = "MX", country = "MX" } },
        { "rating", { rating = 3.9, raw_rating = 3.9 } },
        { "rating", { rating = wm.null, raw_rating = wm.null } },
        { "reviews", { review_count = 9, raw_reviews = 9 } },
        { "score", { name = "Mr. Rooter Plumbing of Austin" } },
    }
    for _, c in ipairs(cases) do
        local b, raw = perfect(c[2])
        local ok, reasons = qualify.gates(b, raw, "no_website", { now = NOW })
        t.eq(ok, false, c[1] .. " " .. wm.json.encode(c[2]))
        local failed = {}
        for _, g in ipairs(reasons) do
            if not g.passed then
                failed[#failed + 1] = g.rule
            end
        end
        t.eq(failed, { "gate." .. c[1] }, "only the " .. c[1] .. " gate fails")
    end
    -- Edges pass: exactly 4.0 and 10 reviews.
    local b, raw = perfect({ rating = 4.0, review_count = 10, raw_rating = 4.0, raw_reviews = 10 })
    t.ok((qualify.gates(b, raw, "no_website", { now = NOW })))
    -- The email may come from the raw lead only.
    local b2, raw2 = perfect({ email = wm.null, raw_email_2 = "owner@example.net", raw_email_1 = "bad" })
    t.ok((qualify.gates(b2, raw2, "no_website", { now = NOW })))
    -- A missing status is not a closed business.
    local b3, raw3 = perfect({ raw_business_status = wm.null })
    local ok3, g3 = qualify.gates(b3, raw3, "no_website", { now = NOW })
    t.ok(ok3)
    t.eq(gate(g3, "operational").detail, "status not reported")
end

function T.score_parts(t)
    local function part(over, rule)
        local b, raw = perfect(over)
        local _, reasons = qualify.score(b, raw, "no_website", { now = NOW })
        return rules(reasons)[rule]
    end
    t.eq(part({ rating = 4.0 }, "rating").points, 7, "4.0 -> 20 * 0.5/1.5")
    t.eq(part({ rating = 4.5 }, "rating").points, 13)
    t.eq(part({ rating = 3.4 }, "rating").points, 0)
    t.eq(part({ rating = "4.5" }, "rating").points, 13, "a numeric string")
    t.eq(part({ review_count = 10 }, "reviews").points, 7)
    t.eq(part({ review_count = 200 }, "reviews").points, 15)
    t.eq(part({ review_count = 5000 }, "reviews").points, 15)
    t.eq(part({ review_count = 0 }, "reviews").points, 0)
    t.eq(part({ email = "not an email" }, "email").points, 0)
    t.eq(part({ name = "Great Clips" }, "chain").points, -50)
    -- Recency: newest review within 18 months +5, older -25, unknown 0.
    t.eq(part({ reviews_data = { { review_timestamp = NOW - 500 * DAY } } }, "recent_reviews").points, 5)
    t.eq(part({ reviews_data = { { review_timestamp = NOW - 600 * DAY } } }, "stale_reviews").points, -25)
    t.eq(part({ reviews_data = wm.null }, "recent_reviews").points, 0)
    t.eq(part({ reviews_data = { { review_timestamp = (NOW - 10 * DAY) * 1000 } } }, "recent_reviews").points, 5,
         "milliseconds")
    local iso = os.date("!%m/%d/%Y %H:%M:%S", NOW - 700 * DAY)
    t.eq(part({ reviews_data = { { review_datetime_utc = iso } } }, "stale_reviews").points, -25,
         "MM/DD/YYYY HH:MM:SS when there is no timestamp")
    local newest = part({ reviews_data = { { review_timestamp = NOW - 900 * DAY },
                                           { review_timestamp = NOW - 3 * DAY } } }, "recent_reviews")
    t.eq(newest.detail, "newest review 3 days ago", "the newest counts")
    -- The raw place's reviews_data is read too.
    t.eq(part({ reviews_data = wm.null, raw_reviews_data = { { review_timestamp = NOW - 900 * DAY } } },
              "stale_reviews").points, -25)
    -- Points add up to the score when nothing is capped.
    local b, raw = perfect({ rating = 4.2, review_count = 40, reviews_data = wm.null })
    local score, reasons = qualify.score(b, raw, "no_website", { now = NOW })
    local sum = 0
    for _, r in ipairs(reasons) do
        sum = sum + r.points
    end
    t.eq(score, sum)
    t.ok(score > 50 and score < 100, "score " .. score)
end

function T.chain_detection(t)
    local chains = { "Mr. Rooter Plumbing of Austin", "Great Clips", "ROTO-ROOTER Plumbing & Water Cleanup",
                     "Midas Auto Service Experts", "Joe's Plumbing #12", "Sport Clips Haircuts of North Austin",
                     "Terminix Store 442", "85°C Bakery Cafe", "Bright Plumbing of Austin" }
    for _, n in ipairs(chains) do
        t.ok(qualify.chain(n, "Austin"), "chain: " .. n)
    end
    local independents = { "Rivera & Sons Plumbing", "House of Hair", "Tony's Auto Repair", "Panadería García",
                           "Orkinson Family Pest Control", "Clipston Barbers", "Greater Good Bakery",
                           "Austin Plumbing Pros" }
    for _, n in ipairs(independents) do
        t.eq(qualify.chain(n, "Austin"), nil, "independent: " .. n)
    end
    t.ok(not pcall(qualify.chain, nil), "misuse raises")
end

function T.thresholds_come_from_config(t)
    local b, raw = perfect({ rating = 4.2, raw_rating = 4.2 })
    t.ok((qualify.gates(b, raw, "no_website", { now = NOW })))
    t.eq((qualify.gates(b, raw, "no_website", { now = NOW, min_rating = 4.5 })), false, "opts")
    local saved = wm.config.qualify
    t.defer(function() wm.config.qualify = saved end)
    -- An operator's config file changes some keys; the rest keep config/wm.lua's.
    local function config(over)
        local c = {}
        for k, v in pairs(saved) do c[k] = v end
        local pts = {}
        for k, v in pairs(saved.points) do pts[k] = v end
        for k, v in pairs(over.points or {}) do pts[k] = v end
        for k, v in pairs(over) do c[k] = v end
        c.points = pts
        return c
    end
    wm.config.qualify = config { min_rating = 4.5, points = { email = 40 } }
    t.eq((qualify.gates(b, raw, "no_website", { now = NOW })), false, "config qualify.min_rating")
    local _, reasons = qualify.score(b, raw, "no_website", { now = NOW })
    t.eq(rules(reasons).email.points, 40, "config qualify.points.email")
    t.eq(rules(reasons).no_website.points, 30, "other points keep their defaults")
    wm.config.qualify = config { countries = { "US", "MX" } }
    local b2, raw2 = perfect({ raw_country_code = "MX" })
    t.ok((qualify.gates(b2, raw2, "no_website", { now = NOW })), "countries from config")
    wm.config.qualify = config { min_score = 0 }
    local b3, raw3 = perfect({ name = "Great Clips" })
    local ok3, g3 = qualify.gates(b3, raw3, "no_website", { now = NOW })
    t.ok(ok3, "min_score 0 turns the score gate off")
    t.eq(gate(g3, "score"), nil)
end

function T.hostile_and_missing_fields(t)
    local b = { name = "<script>alert(1)</script>", rating = "NaN", review_count = "lots", email = wm.null,
                website_url = "javascript:alert(1)", reviews_data = "not a list" }
    local raw = { business_status = { "weird" }, country_code = 42, reviews_data = { "x", { review_timestamp = "?" } } }
    local score, reasons = qualify.score(b, raw, "no_website", { now = NOW })
    t.ok(score >= 0 and score <= 100)
    t.ok(#reasons >= 6)
    local ok = qualify.gates(b, raw, "no_website", { now = NOW })
    t.eq(ok, false)
    t.ok(qualify.score({}, nil, "no_website") ~= nil, "an empty row scores")
    t.ok(not pcall(qualify.score, nil, {}, "no_website"), "misuse raises")
    t.ok(not pcall(qualify.score, {}, "raw", "no_website"), "misuse raises")
    t.ok(not pcall(qualify.gates, {}, {}, 5), "misuse raises")
end

-- Over simulated leads and the simulated website check: nothing with a
-- website (listed, hidden, booking/order link) qualifies; some leads do.
function T.simulated_pipeline_never_qualifies_a_website(t)
    local check = require("providers.website.simulated").check
    local qualified, with_site = 0, 0
    for _, c in ipairs({ { "Austin", "TX", "plumber" }, { "Chicago", "IL", "hair salon" },
                         { "Boise", "ID", "bakery" } }) do
        local places = assert(sim.search { city = c[1], state = c[2], industry = c[3], limit = 150 })
        for _, p in ipairs(places) do
            local b = assert(leads.to_business(p, {}))
            local verdict = assert(check(b, p))
            local ok = qualify.gates(b, p, verdict)
            local has = p._simulated_hidden_site ~= nil or leads.web_presence(p).presence ~= nil
            if has then
                with_site = with_site + 1
                t.eq(ok, false, "qualified despite a website: " .. p.name)
                t.eq(verdict, "has_website", p.name)
            end
            if ok then
                qualified = qualified + 1
            end
        end
    end
    t.ok(with_site > 100, "plenty with a website: " .. with_site)
    t.ok(qualified > 20, "some qualify: " .. qualified)
end

return T
