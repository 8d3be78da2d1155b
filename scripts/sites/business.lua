-- The business as its page shows it: cleaned one-line fields, the address
-- as lines (the locality left out when the street already names the
-- city), a phone number as a tel: link plus a display form that does not
-- wrap, an email address only when it looks like one, and a rating and
-- review count only when they make sense.
--
--   business.facts(row) -> biz | nil, "business name missing"
--   biz = { name, slug, key, street, city, state, zip, address_lines,
--           phone = { tel, display } | nil, email = { mailto, address } | nil,
--           category, category_title, rating, reviews, geo = { lat, lng } | nil }
--   key is what picks the page's look when the agents say nothing (the slug,
--   else the name).
local text = require "lib.text"
local input = require "sites.input"

local type = type
local floor = math.floor
local gsub, match, lower, sub, find, concat = string.gsub, string.match, string.lower, string.sub,
    string.find, table.concat

local _M = {}

local line, num = text.line, input.num

local function phone_of(v)
    local s = line(v, 40)
    if not s then
        return nil
    end
    local digits = gsub(s, "[^%d]", "")
    if #digits < 7 or #digits > 15 then
        return nil
    end
    local plus = match(s, "^%s*%+") and "+" or ""
    if plus == "" and #digits == 10 then
        plus, digits = "+1", digits          -- NANP without the country code
    elseif plus == "" and #digits == 11 and sub(digits, 1, 1) == "1" then
        plus = "+"
    end
    -- Non-breaking spaces and hyphens keep the number on one line.
    local display = gsub(gsub(s, " ", "\194\160"), "%-", "\226\128\145")
    return { tel = "tel:" .. plus .. digits, display = display }
end

local function email_of(v)
    local s = line(v, 254)
    if not s or #s > 254 then
        return nil
    end
    if not match(s, "^[%w._%%+%-]+@[%w%-]+%.[%w.%-]+$") or find(s, "..", 1, true) then
        return nil
    end
    return { mailto = "mailto:" .. s, address = s }
end

local function slug_of(b)
    local s = type(b.slug) == "string" and b.slug or (type(b.name) == "string" and b.name or "")
    s = gsub(lower(s), "[^a-z0-9%-]", "-")
    s = gsub(gsub(gsub(s, "%-+", "-"), "^%-", ""), "%-$", "")
    return sub(s, 1, 63)
end

function _M.facts(row)
    local b = input.tbl(row)
    local name = line(b.name, 300)
    if not name then
        return nil, "business name missing"
    end
    local slug = slug_of(b)
    local street = line(b.address, 200)
    local city, state, zip = line(b.city, 100), line(b.state, 60), line(b.zip_code, 20)
    local locality = concat({ city or "", state and ((city and ", " or "") .. state) or "",
        zip and (" " .. zip) or "" })
    locality = text.trim(locality)
    local address_lines = {}
    if street then
        address_lines[#address_lines + 1] = street
    end
    if locality ~= "" and not (street and city and find(lower(street), lower(city), 1, true)) then
        address_lines[#address_lines + 1] = locality
    end
    local category = line(b.category, 80)
    local rating = num(b.rating)
    local reviews = num(b.review_count)
    if rating and (rating < 0 or rating > 5) then
        rating = nil
    end
    if reviews then
        reviews = floor(reviews)
        if reviews < 0 then
            reviews = nil
        end
    end
    local lat, lng = num(b.latitude), num(b.longitude)
    return {
        name = name,
        slug = slug,
        key = slug ~= "" and slug or name,
        street = street, city = city, state = state, zip = zip,
        address_lines = address_lines,
        phone = phone_of(b.phone),
        email = email_of(b.email),
        category = category,
        category_title = category and text.capitalize(category),
        rating = rating,
        reviews = reviews,
        geo = lat and lng and lat >= -90 and lat <= 90 and lng >= -180 and lng <= 180
            and { lat = lat, lng = lng } or nil,
    }
end

return _M
