-- Lead qualification: a 0..100 score with its reasons, and the gates a lead
-- must pass before a site is built for it.
--
--   qualify.score(business_row, raw_place, verdict[, opts]) -> score, reasons
--   qualify.gates(business_row, raw_place, verdict[, opts]) -> ok, reasons
--   qualify.chain(name[, city]) -> what marks it as a chain | nil
--
-- reasons is an array of {rule=, points=, detail=} (gates add passed=).
-- verdict is the website check's: "has_website" | "no_website" | "unknown".
--
-- Score rules (points from config qualify.points):
--   no_website   +30  only with verdict "no_website" and no website in the
--                     lead's own fields
--   email        +25  a valid email (the row's, else the lead's email_N)
--   rating       0..+20  linear from rating_floor (3.5) to 5.0
--   reviews      0..+15  log scale up to reviews_full (200) reviews
--   independent  +10 / chain -50  (a known brand or a chain-like name)
--   recent       +5  newest review within recent_months (18) / stale -25;
--                     0 when no review dates are known (reviews_data of the
--                     row or of the place)
-- A business with a website scores 0 and never passes the gates, whatever
-- else it has.
--
-- Gates: website (verdict "no_website", nothing listed), contact (an
-- email), operational (not CLOSED_*), country (in `countries`), rating >=
-- min_rating, review_count >= min_reviews, score >= min_score.
--
-- Config: section `qualify` of config/wm.lua (min_rating, min_reviews,
-- min_score, countries, recent_months, rating_floor, reviews_full, points);
-- opts overrides any of them, plus now = (unix time; tests).
local leads = require "lib.leads"
local names = require "lib.names"
local slug = require "lib.slug"

local type, error, ipairs, pairs, tonumber, tostring = type, error, ipairs, pairs, tonumber, tostring
local floor, log, min, max, huge = math.floor, math.log, math.min, math.max, math.huge
local find, format, lower, upper = string.find, string.format, string.lower, string.upper

local _M = { _VERSION = "0.1" }

local function settings(opts)
    -- Every number comes from config (section `qualify`, config/wm.lua):
    -- a copy here would outlive the day someone changes it there.
    local c, pts = {}, {}
    for _, over in ipairs({ wm.config.qualify, opts or false }) do
        if type(over) == "table" then
            for k, v in pairs(over) do
                if k == "points" and type(v) == "table" then
                    for pk, pv in pairs(v) do
                        pts[pk] = pv
                    end
                else
                    c[k] = v
                end
            end
        end
    end
    c.points = pts
    return c
end
_M.settings = settings

local val = leads.val

local function num(v)
    v = val(v)
    if type(v) == "string" then
        v = tonumber(v)
    end
    if type(v) ~= "number" or v ~= v or v == huge or v == -huge then
        return nil
    end
    return v
end

---------------------------------------------------------------------------
-- Chains

local BRANDS = {}
for _, b in ipairs(names.chains) do
    BRANDS[#BRANDS + 1] = " " .. slug.ascii(b) .. " "
end
for _, ind in pairs(names.industries) do
    for _, b in ipairs(ind.chains or {}) do
        BRANDS[#BRANDS + 1] = " " .. slug.ascii(b) .. " "
    end
end

local AREA = { "north", "south", "east", "west", "greater", "metro", "central", "northwest", "northeast",
               "southwest", "southeast", "downtown" }

-- What makes `name` look like a chain location: a known brand, a store
-- number, "franchise", or "<brand> of <this city / an area>"; nil if
-- nothing does.
function _M.chain(name, city)
    if type(name) ~= "string" then
        error("usage: qualify.chain(name[, city])", 2)
    end
    local words = " " .. slug.ascii(name) .. " "
    for _, b in ipairs(BRANDS) do
        if find(words, b, 1, true) then
            return "brand:" .. b:sub(2, -2)
        end
    end
    local l = lower(name)
    if l:match("#%s*%d+") or l:match("store%s+#?%d+") or l:match("location%s+#?%d+") then
        return "store number"
    end
    if find(words, " franchise ", 1, true) then
        return "franchise"
    end
    if type(city) == "string" and city ~= "" then
        local c = slug.ascii(city)
        if c ~= "" and find(words, " of " .. c .. " ", 1, true) then
            return "\"of " .. city .. "\" location name"
        end
    end
    for _, a in ipairs(AREA) do
        if find(words, " of " .. a .. " ", 1, true) then
            return "\"of " .. a .. " ...\" location name"
        end
    end
    return nil
end

---------------------------------------------------------------------------
-- Review dates

local function days_from_civil(y, m, d)
    y = m <= 2 and y - 1 or y
    local era = floor(y / 400)
    local yoe = y - era * 400
    local doy = floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
    local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

-- A review's time (unix seconds) from review_timestamp or
-- review_datetime_utc ("MM/DD/YYYY HH:MM:SS").
local function review_time(r)
    local ts = num(r.review_timestamp)
    if ts then
        if ts > 1e12 then
            ts = ts / 1000
        end
        return ts
    end
    local s = val(r.review_datetime_utc)
    if type(s) == "string" then
        local mo, d, y, H, M, S = s:match("^(%d%d?)/(%d%d?)/(%d%d%d%d) (%d%d?):(%d%d):(%d%d)")
        if mo then
            return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(H) * 3600
                + tonumber(M) * 60 + tonumber(S)
        end
    end
    return nil
end
_M.review_time = review_time

local function newest_review(b, raw, opts)
    local newest
    for _, list in ipairs({ opts.reviews or false, val(b.reviews_data) or false, val(raw.reviews_data) or false }) do
        if type(list) == "table" then
            for _, r in ipairs(list) do
                if type(r) == "table" then
                    local t = review_time(r)
                    if t and (not newest or t > newest) then
                        newest = t
                    end
                end
            end
        end
    end
    return newest
end

---------------------------------------------------------------------------
-- Facts shared by score and gates

local function facts(b, raw, cfg)
    local f = {}
    local presence = leads.web_presence(raw)
    local listed = presence.presence
    local bw = leads.parse_url(val(b.website_url))
    if not listed and bw and leads.url_kind(bw) ~= "social" then
        listed = "website_url"
    end
    f.listed = listed
    f.email = leads.valid_email(val(b.email)) or leads.first_email(raw)
    f.rating = num(b.rating) or num(raw.rating)
    f.reviews = num(b.review_count) or num(raw.reviews) or 0
    f.status = val(raw.business_status)
    local cc = val(raw.country_code) or val(b.country)
    f.country = type(cc) == "string" and upper(cc) or nil
    local name = val(b.name) or val(raw.name)
    f.chain = type(name) == "string" and _M.chain(name, val(b.city) or val(raw.city)) or nil
    f.newest = newest_review(b, raw, cfg)
    return f
end

local function check_args(b, raw, verdict, opts, fn)
    local usage = "usage: qualify." .. fn .. "(business_row, raw_place, verdict[, opts])"
    if type(b) ~= "table" then
        error(usage, 3)
    end
    raw = val(raw)
    if raw ~= nil and type(raw) ~= "table" then
        error(usage .. ": raw_place must be a table", 3)
    end
    if verdict ~= nil and type(verdict) ~= "string" then
        error(usage .. ": verdict must be a string", 3)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error(usage .. ": opts must be a table", 3)
    end
    return raw or {}
end

local function compute(b, raw, verdict, opts)
    local cfg = settings(opts)
    local P = cfg.points
    local f = facts(b, raw, cfg)
    local reasons = {}
    local total = 0
    local function add(rule, points, detail)
        points = floor(points + 0.5)
        total = total + points
        reasons[#reasons + 1] = { rule = rule, points = points, detail = detail }
    end
    local has_site = verdict == "has_website" or f.listed ~= nil
    if verdict == "no_website" and not f.listed then
        add("no_website", P.no_website, "no website: the website check proved none")
    elseif f.listed then
        add("no_website", 0, "the lead lists a web presence (" .. f.listed .. ")")
    else
        add("no_website", 0, "website not verified absent (check said " .. tostring(verdict) .. ")")
    end
    if f.email then
        add("email", P.email, "email on file")
    else
        add("email", 0, "no valid email")
    end
    if f.rating then
        local span = 5 - cfg.rating_floor
        local share = span > 0 and max(0, min(1, (f.rating - cfg.rating_floor) / span)) or 0
        add("rating", P.rating * share, format("rating %.1f", f.rating))
    else
        add("rating", 0, "no rating")
    end
    local share = f.reviews > 0 and min(1, log(1 + f.reviews) / log(1 + cfg.reviews_full)) or 0
    add("reviews", P.reviews * share, format("%d reviews", f.reviews))
    if f.chain then
        add("chain", P.chain, "chain: " .. f.chain)
    else
        add("independent", P.independent, "independent (no chain brand or pattern)")
    end
    if f.newest then
        local now = cfg.now or wm.now()
        local days = floor((now - f.newest) / 86400)
        if days <= cfg.recent_months * 30.44 then
            add("recent_reviews", P.recent, format("newest review %d days ago", max(0, days)))
        else
            add("stale_reviews", P.stale, format("newest review %d days ago (over %d months)", days,
                                                  cfg.recent_months))
        end
    else
        add("recent_reviews", 0, "no review dates known")
    end
    local score = max(0, min(100, total))
    if has_site and score > 0 then
        reasons[#reasons + 1] = { rule = "has_website", points = -score,
                                  detail = "a business with a website is never a lead: score 0" }
        score = 0
    end
    return score, reasons, f, cfg, has_site
end

function _M.score(b, raw, verdict, opts)
    raw = check_args(b, raw, verdict, opts, "score")
    local score, reasons = compute(b, raw, verdict, opts)
    return score, wm.json.array(reasons)
end

function _M.gates(b, raw, verdict, opts)
    raw = check_args(b, raw, verdict, opts, "gates")
    local score, _, f, cfg, has_site = compute(b, raw, verdict, opts)
    local reasons, ok = {}, true
    local function gate(rule, passed, detail)
        if not passed then
            ok = false
        end
        reasons[#reasons + 1] = { rule = "gate." .. rule, points = 0, passed = passed and true or false,
                                  detail = detail }
    end
    gate("website", verdict == "no_website" and not has_site,
         has_site and "has a website" or ("website check: " .. tostring(verdict)))
    gate("contact", f.email ~= nil, f.email and "email" or "no contact method (email)")
    local closed = type(f.status) == "string" and f.status:match("^CLOSED") ~= nil
    gate("operational", not closed, type(f.status) == "string" and f.status or "status not reported")
    local in_country = false
    for _, c in ipairs(cfg.countries or {}) do
        if f.country and upper(tostring(c)) == f.country then
            in_country = true
        end
    end
    gate("country", in_country, "country " .. tostring(f.country))
    gate("rating", f.rating ~= nil and f.rating >= cfg.min_rating,
         f.rating and format("rating %.1f (min %.1f)", f.rating, cfg.min_rating) or "no rating")
    gate("reviews", f.reviews >= cfg.min_reviews, format("%d reviews (min %d)", f.reviews, cfg.min_reviews))
    if (cfg.min_score or 0) > 0 then
        gate("score", score >= cfg.min_score, format("score %d (min %d)", score, cfg.min_score))
    end
    return ok, wm.json.array(reasons)
end

return _M
