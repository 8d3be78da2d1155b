-- Leads: from a lead source's place (Outscraper's shape) to a businesses
-- row, and the helpers the website checks share (URL parsing, what counts
-- as a web presence, domain guesses from a name).
--
--   leads.to_business(place, grid_row) -> row | nil, err
--       row has exactly the businesses columns the ingest stage writes
--       (gmb_id, gmb_place_id, name, slug, email, phone, website_url,
--       address, city, state, zip_code, country, latitude, longitude,
--       category, subcategory, rating, review_count, photos_urls, logo_url,
--       coverage_grid_id, raw_place) plus `web_presence` (evidence of the
--       lead's website fields; not a column). Every VARCHAR(n) value fits
--       in n bytes, cut at a UTF-8 boundary; text is valid UTF-8 without NUL
--       (PostgreSQL refuses both), so the insert cannot fail on content.
--       err only when the place has no id at all.
--   leads.web_presence(place) -> {site=, presence=, presence_url=, fields={...}}
--   leads.domain_guesses(name, city) -> {"riverasonsplumbing.com", ...}
--   leads.parse_url(s) -> {scheme=, host=, port=, path=, url=, ip=} | nil, err
--   leads.url_kind(parsed) -> "website" | "social" | "booking"
--   leads.valid_email(s) -> normalised email | nil
--   leads.first_email(place) -> email, field | nil
--   leads.clean_utf8(s), leads.text(v, max_bytes)
--
-- Scraped text is hostile and is kept verbatim (markup included): escaping
-- is the renderer's job. Only what the database cannot store is changed.
local names = require "lib.names"
local slug = require "lib.slug"
local lib_text = require "lib.text"

local type, error, tostring, tonumber, pairs, ipairs = type, error, tostring, tonumber, pairs, ipairs
local getmetatable, setmetatable = getmetatable, setmetatable
local floor, huge = math.floor, math.huge
local byte, sub, find, gsub, lower, upper, format = string.byte, string.sub, string.find, string.gsub,
    string.lower, string.upper, string.format
local concat, tremove = table.concat, table.remove
local trim, squish, clip = lib_text.trim, lib_text.squish, lib_text.clip

local _M = { _VERSION = "0.1" }

-- businesses VARCHAR(n) columns (seed schema, webmagic-schema.md §2).
_M.LIMITS = {
    gmb_id = 100, gmb_place_id = 100, name = 255, slug = 255, email = 255, phone = 50, website_url = 500,
    city = 100, state = 50, zip_code = 20, country = 50, category = 100, subcategory = 100,
}
local LIMITS = _M.LIMITS

local function is_null(v)
    return v == nil or (wm ~= nil and v == wm.null)
end

local function val(v)
    if is_null(v) then
        return nil
    end
    return v
end
_M.val = val

-- `s` as valid UTF-8: each byte that does not start a well-formed sequence
-- (overlongs, surrogates and code points past U+10FFFF included) becomes
-- U+FFFD; NUL bytes are dropped (the core's wm.text.utf8_clean, in C).
local clean_utf8 = wm.text.utf8_clean
_M.clean_utf8 = clean_utf8

-- A string (or number) as one line of valid UTF-8, control characters as
-- spaces, runs of spaces collapsed, trimmed, cut to `max` bytes. nil when
-- nothing is left.
local function text(v, max)
    if type(v) == "number" then
        if v ~= v or v == huge or v == -huge then
            return nil
        end
        v = v == floor(v) and format("%d", v) or tostring(v)
    end
    if type(v) ~= "string" then
        return nil
    end
    v = squish(clean_utf8(v))
    if max and #v > max then
        v = trim(clip(v, max))
    end
    if v == "" then
        return nil
    end
    return v
end
_M.text = text

local function num(v)
    if type(v) == "string" then
        v = tonumber(trim(v))
    end
    if type(v) ~= "number" or v ~= v or v == huge or v == -huge then
        return nil
    end
    return v
end

local function round(x, places)
    local m = 10 ^ places
    return floor(x * m + 0.5) / m
end

-- A copy of `v` that JSON/JSONB can hold: strings valid UTF-8 without NUL,
-- no NaN/infinity, no functions; arrays stay arrays, JSON nulls stay.
local function sanitize(v, depth)
    if is_null(v) then
        return v
    end
    local t = type(v)
    if t == "string" then
        return clean_utf8(v)
    elseif t == "number" then
        if v ~= v or v == huge or v == -huge then
            return nil
        end
        return v
    elseif t == "boolean" then
        return v
    elseif t == "table" then
        if depth > 32 then
            return nil
        end
        local out = {}
        local mt = getmetatable(v)
        if mt ~= nil and wm and mt == wm.json.array_mt then
            setmetatable(out, mt)
        end
        for k, x in pairs(v) do
            local kt = type(k)
            if kt == "string" then
                out[clean_utf8(k)] = sanitize(x, depth + 1)
            elseif kt == "number" then
                out[k] = sanitize(x, depth + 1)
            end
        end
        return out
    end
    return nil
end
function _M.sanitize(v)
    return sanitize(v, 0)
end

---------------------------------------------------------------------------
-- URLs and web presence

local function host_in(host, list)
    for _, d in ipairs(list) do
        if host == d or (#host > #d and sub(host, -#d - 1) == "." .. d) then
            return true
        end
    end
    return false
end
_M.host_in = host_in

local function pct(c)
    return format("%%%02X", byte(c))
end

-- Parses an http(s) URL as a lead source writes it ("www.x.com" has no
-- scheme; "javascript:..." is refused). Hosts are lower-cased ASCII
-- (IDNs must come as punycode); the path is percent-encoded where unsafe.
function _M.parse_url(s)
    if type(s) ~= "string" then
        return nil, "not a string"
    end
    s = trim(s)
    if s == "" then
        return nil, "empty"
    end
    if #s > 2048 then
        return nil, "too long"
    end
    if find(s, "[%s%c]") then
        return nil, "whitespace or control characters"
    end
    local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
    if not scheme then
        if s:match("^%a[%w+.-]*:") and not s:match("^[%w.-]+:%d+") then
            return nil, "unsupported scheme"
        end
        if s:sub(1, 2) == "//" then
            s = s:sub(3)
        end
        scheme, rest = "http", s
    end
    scheme = lower(scheme)
    if scheme ~= "http" and scheme ~= "https" then
        return nil, "unsupported scheme"
    end
    local authority, path = rest:match("^([^/?#]*)(.*)$")
    if find(authority, "@", 1, true) then
        return nil, "credentials in URL"
    end
    local host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
    local ipv6 = host ~= nil
    if not host then
        host, port = authority:match("^([^:]*):?(%d*)$")
    end
    if not host or host == "" then
        return nil, "no host"
    end
    host = lower(host)
    host = gsub(host, "%.$", "")
    if not ipv6 then
        if not host:match("^[%w.-]+$") then
            return nil, "bad host"
        end
        if not find(host, ".", 1, true) then
            return nil, "bad host"
        end
        for label in (host .. "."):gmatch("([^.]*)%.") do
            if label == "" or #label > 63 or label:sub(1, 1) == "-" or label:sub(-1) == "-" then
                return nil, "bad host"
            end
        end
    end
    local portn
    if port and port ~= "" then
        portn = tonumber(port)
        if not portn or portn < 1 or portn > 65535 then
            return nil, "bad port"
        end
    end
    path = gsub(path, "#.*$", "")
    path = gsub(path, "[^%w%-._~:/?%[%]@!$&'()*+,;=%%]", pct)
    if path == "" or path:sub(1, 1) ~= "/" then
        path = "/" .. path
    end
    local ip = ipv6 or host:match("^%d+%.%d+%.%d+%.%d+$") ~= nil
    local hostpart = ipv6 and ("[" .. host .. "]") or host
    local default = (scheme == "http" and portn == 80) or (scheme == "https" and portn == 443)
    local url = scheme .. "://" .. hostpart .. ((portn and not default) and (":" .. portn) or "") .. path
    return { scheme = scheme, host = host, port = portn, path = path, url = url, ip = ip, ipv6 = ipv6 }
end

-- True for loopback, private, link-local, CGNAT and multicast addresses and
-- local-only names: places a scraped URL must not make us fetch.
function _M.is_private_host(u)
    local h = u.host
    if u.ipv6 then
        return true
    end
    if h == "localhost" or h:match("%.localhost$") or h:match("%.local$") or h:match("%.internal$")
        or h:match("%.lan$") or h:match("%.home%.arpa$") then
        return true
    end
    local a, b = h:match("^(%d+)%.(%d+)%.%d+%.%d+$")
    if a then
        a, b = tonumber(a), tonumber(b)
        return a == 0 or a == 10 or a == 127 or (a == 169 and b == 254) or (a == 172 and b >= 16 and b <= 31)
            or (a == 192 and b == 168) or (a == 100 and b >= 64 and b <= 127) or a >= 224
    end
    return false
end

function _M.url_kind(u)
    if host_in(u.host, names.social_hosts) then
        return "social"
    elseif host_in(u.host, names.booking_hosts) then
        return "booking"
    end
    return "website"
end

local function strings_of(v)
    v = val(v)
    if type(v) == "string" then
        return { v }
    elseif type(v) == "table" then
        local out = {}
        for _, x in ipairs(v) do
            x = val(x)
            if type(x) == "string" then
                out[#out + 1] = x
            elseif type(x) == "table" then
                local u = val(x.link) or val(x.url) or val(x.href)
                if type(u) == "string" then
                    out[#out + 1] = u
                end
            end
        end
        return out
    end
    return {}
end

-- What the lead's own fields say about a web presence. `site` is the
-- lead's website when it is one (a Facebook page is not); a booking or
-- order link counts as a presence but is not a website of its own.
--   presence: "site" | "booking" | "order" | nil, presence_url its URL
--   fields: {field=, value=, kind="website"|"booking"|"order"|"social"|"invalid", counts=bool}
function _M.web_presence(place)
    if type(place) ~= "table" then
        error("usage: leads.web_presence(place)", 2)
    end
    local out = { fields = {} }
    local function note(field, value, kind, counts, url)
        out.fields[#out.fields + 1] = { field = field, value = text(value, 500), kind = kind, counts = counts,
                                        url = url }
    end
    local function consider(field, value, as)
        local u = _M.parse_url(value)
        if not u then
            note(field, value, "invalid", false)
            return
        end
        local kind = _M.url_kind(u)
        if kind == "social" then
            note(field, value, "social", false, u.url)
            return
        end
        if as == "order" then
            kind = "order"
        elseif as == "booking" or kind == "booking" then
            kind = "booking"
        end
        note(field, value, kind, true, u.url)
        if kind == "website" and not out.site then
            out.site = u.url
        end
        local rank = { site = 3, booking = 2, order = 1 }
        local p = kind == "website" and "site" or kind
        if not out.presence or rank[p] > rank[out.presence] then
            out.presence, out.presence_url = p, u.url
        end
    end
    for _, s in ipairs(strings_of(place.site)) do
        consider("site", s)
    end
    for _, f in ipairs({ "website", "web_site" }) do         -- other sources' spellings
        for _, s in ipairs(strings_of(place[f])) do
            consider(f, s)
        end
    end
    for _, s in ipairs(strings_of(place.booking_appointment_link)) do
        consider("booking_appointment_link", s, "booking")
    end
    for _, s in ipairs(strings_of(place.reservation_links)) do
        consider("reservation_links", s, "booking")
    end
    for _, s in ipairs(strings_of(place.order_links)) do
        consider("order_links", s, "order")
    end
    for _, f in ipairs({ "facebook", "instagram", "twitter", "linkedin", "youtube", "tiktok" }) do
        for _, s in ipairs(strings_of(place[f])) do
            local u = _M.parse_url(s)
            note(f, s, u and "social" or "invalid", false, u and u.url or nil)
        end
    end
    if wm then
        setmetatable(out.fields, wm.json.array_mt)
    end
    return out
end

local LEGAL = { llc = true, inc = true, corp = true, co = true, company = true, ltd = true, pllc = true, pc = true,
                lp = true, llp = true, dds = true, dmd = true }

-- Domains a business with this name would likely own, most likely first:
-- name.com, name.net, name+city.com, the "and" and hyphenated spellings.
-- Only ASCII letters and digits reach a guess.
function _M.domain_guesses(name, city)
    if type(name) ~= "string" then
        error("usage: leads.domain_guesses(name[, city])", 2)
    end
    local words = {}
    for w in slug.ascii(name):gmatch("%w+") do
        words[#words + 1] = w
    end
    while #words > 0 and LEGAL[words[#words]] do
        words[#words] = nil
    end
    if words[1] == "the" and #words > 1 then
        tremove(words, 1)
    end
    local plain = {}
    for _, w in ipairs(words) do
        if w ~= "and" then
            plain[#plain + 1] = w
        end
    end
    if #plain == 0 then
        return {}
    end
    local base = concat(plain)
    local city_word = type(city) == "string" and concat((function()
        local t = {}
        for w in slug.ascii(city):gmatch("%w+") do
            t[#t + 1] = w
        end
        return t
    end)()) or ""
    local list = { base .. ".com", base .. ".net" }
    if city_word ~= "" and not find(base, city_word, 1, true) then
        list[#list + 1] = base .. city_word .. ".com"
    end
    if #words ~= #plain then
        list[#list + 1] = concat(words) .. ".com"
    end
    if #plain > 1 then
        list[#list + 1] = concat(plain, "-") .. ".com"
    end
    local out, seen = {}, {}
    for _, d in ipairs(list) do
        local label = d:match("^(.-)%.")
        if not seen[d] and #label >= 3 and #label <= 63 then
            seen[d] = true
            out[#out + 1] = d
        end
    end
    return out
end

-- The URLs a website check tries for business row `b` and its raw place,
-- most telling first, at most `max` (default 5): the lead's site, the
-- business row's website_url, the domain of its email (unless a mail
-- provider's), then domains guessed from its names (Outscraper's cleaned
-- name_for_emails first) and city. One candidate per host (www. ignored).
-- Returns candidates {url=, source=, host=}, and web_presence(raw).
function _M.website_candidates(b, raw, max)
    if type(b) ~= "table" then
        error("usage: leads.website_candidates(business_row, raw_place[, max])", 2)
    end
    raw = type(val(raw)) == "table" and raw or {}
    max = max or 5
    local presence = _M.web_presence(raw)
    local list, seen = {}, {}
    local function add(url, source)
        local u = _M.parse_url(url)
        if not u or #list >= max then
            return
        end
        local key = gsub(u.host, "^www%.", "")
        if seen[key] then
            return
        end
        seen[key] = true
        list[#list + 1] = { url = u.url, source = source, host = u.host }
    end
    if presence.site then
        add(presence.site, "lead.site")
    end
    local bw = _M.parse_url(val(b.website_url))
    if bw and _M.url_kind(bw) == "website" then
        add(bw.url, "business.website_url")
    end
    local email = _M.valid_email(val(b.email)) or _M.first_email(raw)
    local domain = email and email:match("@(.+)$")
    if domain and not host_in(domain, names.free_mail_domains) then
        add("https://" .. domain .. "/", "email_domain")
    end
    local city = val(b.city) or val(raw.city)
    for _, nm in ipairs({ raw.name_for_emails or false, b.name or false, raw.name or false }) do
        if type(nm) == "string" then
            for _, d in ipairs(_M.domain_guesses(nm, type(city) == "string" and city or nil)) do
                add("https://" .. d .. "/", "name_guess")
            end
        end
    end
    return list, presence
end

---------------------------------------------------------------------------
-- Emails

local BAD_TLD = { png = true, jpg = true, jpeg = true, gif = true, webp = true, svg = true, js = true, css = true }

function _M.valid_email(s)
    if type(s) ~= "string" then
        return nil
    end
    s = trim(s)
    s = gsub(s, "^[Mm][Aa][Ii][Ll][Tt][Oo]:", "")
    if #s < 6 or #s > 254 then
        return nil
    end
    local loc, dom = s:match("^([%w.!#$%%&'*+/=?^_`{|}~-]+)@([%w.-]+)$")
    if not loc or #loc > 64 or loc:sub(1, 1) == "." or loc:sub(-1) == "." or find(loc, "..", 1, true) then
        return nil
    end
    dom = lower(dom)
    local tld = dom:match("%.(%a%a+)$")
    if not tld or BAD_TLD[tld] then
        return nil
    end
    for label in (dom .. "."):gmatch("([^.]*)%.") do
        if label == "" or #label > 63 or label:sub(1, 1) == "-" or label:sub(-1) == "-" then
            return nil
        end
    end
    return loc .. "@" .. dom
end

-- The first valid address among email_1..email_10 (Outscraper's enrichment
-- keys) and an `emails` array; returns email, the field it came from.
function _M.first_email(place)
    for i = 1, 10 do
        local f = "email_" .. i
        local e = _M.valid_email(val(place[f]))
        if e then
            return e, f
        end
    end
    local list = val(place.emails)
    if type(list) == "table" then
        for i, x in ipairs(list) do
            x = val(x)
            local e = _M.valid_email(type(x) == "table" and (val(x.value) or val(x.email)) or x)
            if e then
                return e, "emails[" .. i .. "]"
            end
        end
    end
    return nil
end

---------------------------------------------------------------------------
-- The mapping

-- An id that fits VARCHAR(100): longer ones are replaced by their hash so
-- that two different ids never collide by truncation.
local function id_text(v)
    local s = text(v)
    if not s then
        return nil
    end
    if #s > 100 then
        return "sha256:" .. wm.crypto.sha256_hex(s)
    end
    return s
end

local function state_code(place, g)
    for _, v in ipairs({ val(place.state), val(place.us_state) }) do
        if type(v) == "string" then
            local s = trim(v)
            if #s == 2 and names.states[upper(s)] then
                return upper(s)
            end
            local code = names.state_codes[lower(s)]
            if code then
                return code
            end
        end
    end
    return text(val(place.state) or val(place.us_state), LIMITS.state) or text(g.state, LIMITS.state)
end

local function country_code(place, g)
    local cc = text(place.country_code, LIMITS.country)
    if cc and #cc == 2 then
        return upper(cc)
    end
    local c = text(place.country)
    if c then
        local code = names.countries[lower(c)]
        if code then
            return code
        end
        if #c == 2 then
            return upper(c)
        end
    end
    return cc or text(g.country, LIMITS.country) or (c and clip(c, LIMITS.country))
end

local function subtypes_of(place)
    local st = val(place.subtypes)
    local out = {}
    if type(st) == "string" then
        for part in st:gmatch("[^,]+") do
            out[#out + 1] = part
        end
    elseif type(st) == "table" then
        for _, x in ipairs(st) do
            if type(x) == "string" then
                out[#out + 1] = x
            end
        end
    end
    return out
end

local function http_url(v)
    local u = _M.parse_url(val(v))
    return u and u.url or nil
end

local function photos(place)
    local out, seen = {}, {}
    local function add(v)
        local u = http_url(v)
        if u and #u <= 2048 and not seen[u] and #out < 20 then
            seen[u] = true
            out[#out + 1] = u
        end
    end
    add(place.photo)
    local list = val(place.photos) or val(place.photos_sample)
    if type(list) == "table" then
        for _, p in ipairs(list) do
            p = val(p)
            if type(p) == "table" then
                add(val(p.photo_url) or val(p.original_photo_url) or val(p.url))
            else
                add(p)
            end
        end
    end
    return wm.json.array(out)
end

-- A slug unique across businesses: name and city words plus a short hash
-- of the business's id, at most 255 bytes.
function _M.slug(name, city, id)
    local h = slug.short_hash(id or name or "", 8)
    local c = slug.slugify(type(city) == "string" and city or "", 60)
    local room = 255 - #h - 1 - (c ~= "" and #c + 1 or 0)
    local n = slug.slugify(type(name) == "string" and name or "", room)
    if n == "" then
        n = "business"
    end
    return n .. (c ~= "" and ("-" .. c) or "") .. "-" .. h
end

function _M.to_business(place, grid_row, opts)
    if type(place) ~= "table" then
        error("usage: leads.to_business(place, grid_row)", 2)
    end
    local g = val(grid_row) or {}
    if type(g) ~= "table" then
        error("usage: leads.to_business(place, grid_row): grid_row must be a table", 2)
    end
    local google_id, place_id = id_text(val(place.google_id)), id_text(val(place.place_id))
    local gmb = google_id or place_id
    if not gmb then
        return nil, "place has neither google_id nor place_id"
    end
    local name = text(val(place.name), LIMITS.name) or "Unnamed business"
    local city = text(val(place.city), LIMITS.city) or text(val(g.city), LIMITS.city)
    local presence = _M.web_presence(place)
    local website
    for _, f in ipairs(presence.fields) do
        if f.field == "site" and f.counts then
            website = f.url
            break
        end
    end
    local category = text(val(place.category), LIMITS.category) or text(val(place.type), LIMITS.category)
    local subcategory
    for _, s in ipairs(subtypes_of(place)) do
        local t = text(s, LIMITS.subcategory)
        if t and (not category or lower(t) ~= lower(category)) then
            subcategory = t
            break
        end
    end
    local lat, lng = num(val(place.latitude)), num(val(place.longitude))
    if lat and (lat < -90 or lat > 90) then
        lat = nil
    end
    if lng and (lng < -180 or lng > 180) then
        lng = nil
    end
    local rating = num(val(place.rating))
    if rating and (rating < 0 or rating > 5) then
        rating = nil
    end
    local reviews = num(val(place.reviews)) or num(val(place.reviews_count)) or 0
    reviews = floor(reviews)
    if reviews < 0 then
        reviews = 0
    elseif reviews > 2147483647 then
        reviews = 2147483647
    end
    local grid_id = val(g.id)
    return {
        gmb_id = gmb,
        gmb_place_id = place_id,
        name = name,
        slug = _M.slug(name, city, gmb),
        email = (_M.first_email(place)),
        phone = text(val(place.phone), LIMITS.phone) or text(val(place.phone_1), LIMITS.phone),
        website_url = website and clip(website, LIMITS.website_url) or nil,
        address = text(val(place.full_address) or val(place.address), 2000),
        city = city,
        state = state_code(place, g),
        zip_code = text(val(place.postal_code), LIMITS.zip_code),
        country = country_code(place, g),
        latitude = lat and round(lat, 8) or nil,
        longitude = lng and round(lng, 8) or nil,
        category = category,
        subcategory = subcategory,
        rating = rating and round(rating, 1) or nil,
        review_count = reviews,
        photos_urls = photos(place),
        logo_url = http_url(place.logo),
        coverage_grid_id = type(grid_id) == "string" and grid_id or nil,
        -- opts.raw = "as_is": the caller encodes with wm.json.encode(v,
        -- {sanitize = true}), which mends the same things in C, faster.
        raw_place = (opts and opts.raw == "as_is") and place or sanitize(place, 0),
        web_presence = presence,
    }
end

return _M
